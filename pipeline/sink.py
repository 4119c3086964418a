"""Writes finished batches to ClickHouse so that each event counts exactly once (docs/pipeline.md).

A flush (1) drops the events whose event_id is already in the dedupe index `event_keys`, (2) writes
the rest's ids there, with the partition and offset that carried them, (3) inserts the events into
`events` as one part, then (4) brings every rollup up to the newest stored offset of each partition.
Each step is a single-table atomic insert, the dedupe index tells a redelivered message from a
duplicate (`_counted`), and every rollup records how far it got, so a crash between steps, a retried
flush, redelivery or replay is repaired by step 4 and never counted twice.

With several workers, every one of those statements is fenced (`claim`, docs/pipeline.md): it writes
a partition's rows only while this sink's claim on the partition is the newest, so a worker that lost
a partition, however late its statements run, changes no count.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from insights.store import Store
from pipeline.failpoints import failpoint
from pipeline.rollups import ONE_PART, ROLLUPS, Rollup, range_parameters
from schemas.events import Event

log = logging.getLogger(__name__)

NOTHING = -1  # the marker of a partition with nothing written yet

EVENT_COLUMNS = (
    "event_id",
    "type",
    "track_id",
    "listener_id",
    "occurred_at",
    "listened_ms",
    "kafka_partition",
    "kafka_offset",
    "ingested_at",
    "country",
    "source",
    "platform",
)
# The dedupe index `event_keys` (schemas/clickhouse/015_event_keys.sql): each column, from a staged event.
KEY_COLUMNS = {
    "key": "sipHash128(event_id)",
    "kafka_partition": "kafka_partition",
    "kafka_offset": "kafka_offset",
    "recorded_at": "ingested_at",
}

# A flush's events go to a temporary table of the client's session first: the dedupe look-up reads
# their ids there, and the fenced statements copy them to `event_keys` and `events`, each as one block,
# hence one part: atomic on a server too.
STAGED = "staged_events"
_STAGING_DDL = f"""CREATE TEMPORARY TABLE IF NOT EXISTS {STAGED} (
    event_id String, type String, track_id UInt64, listener_id String, occurred_at DateTime64(3, 'UTC'),
    listened_ms Nullable(UInt64), kafka_partition UInt16, kafka_offset UInt64, ingested_at DateTime('UTC'),
    country String, source String, platform String
) ENGINE = Memory"""
# Squash all of an insert's rows into one block, hence one part (a flush is at most 50,000 events).
ONE_BLOCK = "SETTINGS " + ONE_PART

# Marks a fenced statement in the server's process list (a claim waits for those already running).
FENCE_TAG = "/* insights-fenced */ "


def copy_staged_sql(table: str, columns: Mapping[str, str], fenced_by: str) -> str:
    """The staged events into `table` ({column: expression of the staged columns}), keeping the rows
    `fenced_by` allows, as one part."""
    names, values = ", ".join(columns), ", ".join(columns.values())
    return (
        f"{FENCE_TAG}INSERT INTO {table} ({names})"
        f" SELECT {values} FROM {STAGED} WHERE {fenced_by} {ONE_BLOCK}"
    )


# The (partition, offset) that first carried each staged event's id, of the ids recorded already: the
# newest entry of a key (an entry older than the dedupe window may linger until its day is dropped).
CARRIERS_SQL = f"""SELECT staged.event_id, found.carrier.1, found.carrier.2
FROM (SELECT event_id, sipHash128(event_id) AS key FROM {STAGED}) AS staged
INNER JOIN (
    SELECT key, argMax((kafka_partition, kafka_offset), recorded_at) AS carrier
    FROM event_keys
    WHERE key IN (SELECT sipHash128(event_id) FROM {STAGED})
    GROUP BY key
) AS found USING (key)"""


# The rows of a partition are written only while `owner`'s claim on it is the newest.
OWNED = (
    "kafka_partition IN (SELECT kafka_partition FROM partition_owners"
    " WHERE kafka_partition IN {owned:Array(UInt16)}"
    " GROUP BY kafka_partition HAVING argMax(owner, generation) = {owner:String})"
)

# How often a claim looks again for statements of the previous owners still running.
CLAIM_POLL_SECONDS = 0.05


class NotOwner(RuntimeError):
    """A batch holds events of partitions this sink has no standing claim on."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = sorted(set(partitions))
        super().__init__(f"insights.events partitions {self.partitions} are not claimed by this worker")


class SourcedEvent(msgspec.Struct, frozen=True, gc=False):
    """A decoded event and the place in the topic it was read from. One is made per event, so it is a
    struct the garbage collector never walks (like the Event it holds, it can be in no reference
    cycle), and it builds five times faster than a NamedTuple."""

    event: Event
    partition: int
    offset: int


@dataclass
class FlushResult:
    written: int = 0
    duplicates: int = 0
    caught_up: dict[str, int] = field(default_factory=dict)
    # Rollups were also built for stored events a crash had left behind, of tracks not in the batch.
    recovered: bool = False
    # Each track of the batch, and the first UTC day of its events (days since 1970-01-01).
    first_days: dict[int, int] = field(default_factory=dict)


def one_per_id(batch: Sequence[SourcedEvent], carriers: Mapping[str, tuple[int, int]]) -> list[SourcedEvent]:
    """One event of each event_id: the copy from the message that carried the id first (`carriers`:
    the dedupe index's partition and offset per id) when the batch holds it, else the earliest copy
    in (partition, offset) order."""
    kept: dict[str, SourcedEvent] = {}
    for item in sorted(batch, key=lambda e: (e.partition, e.offset)):
        event_id = item.event.event_id
        if event_id not in kept or carriers.get(event_id) == (item.partition, item.offset):
            kept[event_id] = item
    return list(kept.values())


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


DAY_TICKS = 86_400_000  # DateTime64(3) ticks a day
_TRACK, _OCCURRED = EVENT_COLUMNS.index("track_id"), EVENT_COLUMNS.index("occurred_at")


def first_days(tracks: Sequence[Any], ticks: Sequence[Any]) -> dict[int, int]:
    """Each of `tracks` and the first UTC day (days since 1970-01-01) of the events at `ticks` (an
    event's track and time, as event_columns lists them); a loop over the events only when they span
    more than one day."""
    if not tracks:
        return {}
    last = max(ticks) // DAY_TICKS
    first = dict.fromkeys(tracks, last)
    if min(ticks) // DAY_TICKS < last:
        start = last * DAY_TICKS
        for track, tick in zip(tracks, ticks, strict=True):
            if tick < start and tick // DAY_TICKS < first[track]:
                first[track] = tick // DAY_TICKS
    return first


def event_columns(items: Sequence[SourcedEvent], ingested_at: int) -> list[list[object]]:
    """`items` as the columns of EVENT_COLUMNS, for a columnar insert (times as epoch ticks)."""
    events = [item.event for item in items]
    return [
        [e.event_id for e in events],
        [e.type for e in events],
        [e.track_id for e in events],
        [e.listener_id for e in events],
        # DateTime64(3) ticks, truncated like the client's own conversion; exact, and two C-level
        # operations an event rather than a Python call
        [(e.occurred_at - EPOCH) // MILLISECOND for e in events],
        [e.listened_ms for e in events],
        [item.partition for item in items],
        [item.offset for item in items],
        [ingested_at] * len(items),
        # '' when the event did not say (an unknown in the breakdowns)
        [e.country or "" for e in events],
        [e.source or "" for e in events],
        [e.platform or "" for e in events],
    ]


class RollupSink:
    """Sync and single-threaded by design: the worker runs flushes one after another."""

    FENCE = OWNED  # the condition that keeps a partition's rows to its newest claimant

    def __init__(
        self,
        store: Store,
        rollups: Sequence[Rollup] = ROLLUPS,
        *,
        member: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock  # stamps the events' ingested_at
        self._rollups = tuple(rollups)
        self.member = member or uuid.uuid4().hex[:12]
        self.owner = ""  # "<member>@<generation>" of the newest claim, "" before the first
        self.owned: set[int] = set()
        self._events_marker: dict[int, int] = {}
        self._rollup_markers: dict[str, dict[int, int]] = {r.table: {} for r in self._rollups}
        # Per partition, when the events its slowest rollup has still to see were stored (the
        # earliest ingested_at among them), so its builds skip older parts; None once every rollup
        # has seen every stored event. Known only of what this sink wrote since its rollups last
        # caught up: a partition missing here (just claimed, or a write raised) is read unbounded.
        self._stored_since: dict[int, int | None] = {}
        # The rollups are independent (each its own table and marker), so they are built side by side:
        # one statement of the engine barely uses more than a core at these sizes.
        self._builders = store.writer_pool(len(self._rollups), "rollup")

    def close(self) -> None:
        self._builders.shutdown(wait=True)

    def claim(self, partitions: Iterable[int], generation: int) -> set[int]:
        """Take `partitions` over at `generation` (higher than any earlier owner's); return the ones
        now owned. A partition already claimed at a higher generation stays its claimant's.

        After recording the claim, wait until every fenced statement of another owner that began
        before it has ended: from then on the stored state is final for those owners (a statement
        that begins later sees this claim and writes nothing), so the markers read next are exact.
        """
        wanted = sorted(set(partitions))
        self.owner = f"{self.member}@{generation}"
        self.owned.difference_update(wanted)
        self.forget(wanted)
        if not wanted:
            return set()
        claims = [[p, generation, self.owner] for p in wanted]
        self._store.insert("partition_owners", claims, ("kafka_partition", "generation", "owner"))
        claimed = time.monotonic()
        newest = dict(
            self._store.query_rows(
                "SELECT kafka_partition, argMax(owner, generation) FROM partition_owners"
                " WHERE kafka_partition IN {partitions:Array(UInt16)} GROUP BY kafka_partition",
                {"partitions": wanted},
            )
        )
        won = {p for p in wanted if newest.get(p) == self.owner}
        if len(won) < len(wanted):
            log.error(
                "insights.events partitions %s are claimed by a newer consumer-group generation than %d;"
                " this worker will not write them (see 'Fencing' in docs/pipeline.md)",
                sorted(set(wanted) - won),
                generation,
            )
        self._wait_for_statements_before(claimed)
        self.owned |= won
        return won

    def _wait_for_statements_before(self, claimed: float) -> None:
        """Wait until no fenced statement that began before `claimed` runs. This worker's own are not
        running (it claims between its flushes); other workers' statements on their own partitions
        are waited for too, which costs a few milliseconds and keeps the rule simple."""
        waited = 0.0
        while True:
            (running,) = self._store.query_rows(
                "SELECT count() FROM system.processes WHERE query_id != queryID()"
                " AND startsWith(query, {tag:String}) AND elapsed >= {since:Float64}",
                {"tag": FENCE_TAG, "since": time.monotonic() - claimed},
            )[0]
            if not running:
                return
            if waited == 0.0 or waited // 5 != (waited + CLAIM_POLL_SECONDS) // 5:
                log.info("claim waits for %d fenced statement(s) begun before it", running)
            time.sleep(CLAIM_POLL_SECONDS)
            waited += CLAIM_POLL_SECONDS

    def release(self, partitions: Iterable[int]) -> None:
        """This worker no longer owns `partitions` (revoked): forget them; nothing is written."""
        released = set(partitions)
        self.owned -= released
        self.forget(released)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is known of partitions (another worker may advance them): re-read before use."""
        for partition in partitions:
            self._events_marker.pop(partition, None)
            self._stored_since.pop(partition, None)
            for markers in self._rollup_markers.values():
                markers.pop(partition, None)

    def recover(self, partitions: Iterable[int]) -> FlushResult:
        """Load the markers of newly owned partitions and finish any rollup a crash left behind."""
        fresh = sorted(set(partitions) - set(self._events_marker))
        if not fresh:
            return FlushResult()
        stored = dict(
            self._store.query_rows(
                "SELECT kafka_partition, max(kafka_offset) FROM events"
                " WHERE kafka_partition IN {partitions:Array(UInt16)} GROUP BY kafka_partition",
                {"partitions": fresh},
            )
        )
        for partition in fresh:
            self._events_marker[partition] = int(stored.get(partition, NOTHING))
        for rollup in self._rollups:
            done = dict(self._store.query_rows(rollup.marker_sql, {"partitions": fresh}))
            for partition in fresh:
                self._rollup_markers[rollup.table][partition] = int(done.get(partition, NOTHING))
        return FlushResult(caught_up=self._catch_up(fresh))

    def flush(self, batch: Sequence[SourcedEvent]) -> FlushResult:
        """Write one batch; raising leaves nothing half-counted, so the caller may simply retry.

        Raises NotOwner, writing nothing, when the batch holds a partition this sink has not claimed."""
        if not batch:
            return FlushResult()
        partitions = {item.partition for item in batch}
        if not partitions <= self.owned:
            raise NotOwner(partitions - self.owned)
        try:
            return self._flush(batch, partitions)
        except Exception:
            # A write may have landed even though it raised (a lost reply): re-read the markers.
            self.forget(partitions)
            self._store.forget_session_tables()
            raise

    def _flush(self, batch: Sequence[SourcedEvent], partitions: set[int]) -> FlushResult:
        recovered = bool(self.recover(partitions).caught_up)
        ingested_at = int(self._clock())
        columns = event_columns(batch, ingested_at)
        self._stage(columns)
        carriers = self._carriers()
        extents, repeats = self._staged_extents()
        new = batch
        # The usual batch has no id recorded before and none twice: all of it is new, with no work
        # per event here. Otherwise choose one copy of each id and keep what is not counted yet.
        if carriers or repeats:
            unique = one_per_id(batch, carriers)
            new = [item for item in unique if not self._counted(item, carriers.get(item.event.event_id))]
            if new and len(new) < len(batch):
                self._stage(event_columns(new, ingested_at))
                extents, _ = self._staged_extents()
        if new:
            behind = sorted(p for p, (lowest, _) in extents.items() if lowest <= self._events_marker[p])
            if behind:
                # Offsets only grow, so a new event below the stored ones means the topic was recreated
                # under the same ClickHouse data: the rollups would never see these events.
                log.error(
                    "insights.events partitions %s restarted below the offsets already stored; "
                    "was the topic recreated? See 'Offsets going back' in docs/pipeline.md",
                    behind,
                )
            failpoint("before_events_insert")
            self._copy_staged("event_keys", KEY_COLUMNS, partitions)
            failpoint("after_ids_insert")
            self._copy_staged("events", {name: name for name in EVENT_COLUMNS}, partitions)
            failpoint("after_events_insert")
            for partition, (_, highest) in extents.items():
                self._events_marker[partition] = max(self._events_marker[partition], highest)
                if partition in self._stored_since:
                    since = self._stored_since[partition]
                    self._stored_since[partition] = ingested_at if since is None else min(since, ingested_at)
        result = FlushResult(written=len(new), duplicates=len(batch) - len(new), recovered=recovered)
        result.first_days = first_days(columns[_TRACK], columns[_OCCURRED])
        result.caught_up = self._catch_up(sorted(partitions))
        failpoint("after_rollups")
        return result

    def _stage(self, columns: list[list[object]]) -> None:
        self._store.session_table(_STAGING_DDL)
        self._store.command(f"TRUNCATE TABLE {STAGED}")
        self._store.insert_columns(STAGED, columns, EVENT_COLUMNS)

    def _copy_staged(self, table: str, columns: Mapping[str, str], partitions: Iterable[int]) -> None:
        self._store.command(
            copy_staged_sql(table, columns, self.FENCE or "1"),
            {"owned": sorted(partitions), "owner": self.owner},
        )

    def _staged_extents(self) -> tuple[dict[int, tuple[int, int]], bool]:
        """{partition: (lowest, highest offset)} of the staged events, and whether an id is staged twice."""
        rows = self._store.query_rows(
            f"SELECT kafka_partition, min(kafka_offset), max(kafka_offset),"
            f" (SELECT count() != uniqExact(event_id) FROM {STAGED}) FROM {STAGED} GROUP BY kafka_partition"
        )
        extents = {int(p): (int(lowest), int(highest)) for p, lowest, highest, _ in rows}
        return extents, any(repeats for *_, repeats in rows)

    def _carriers(self) -> dict[str, tuple[int, int]]:
        """The (partition, offset) of the message that first carried each staged id already let through."""
        rows = self._store.query_rows(CARRIERS_SQL)
        return {event_id: (int(partition), int(offset)) for event_id, partition, offset in rows}

    def _counted(self, item: SourcedEvent, carrier: tuple[int, int] | None) -> bool:
        """Whether `item` is (or will be) counted already, given the message that first carried its id.

        An id is written to `event_keys` before its event goes to `events`, so a crash between the two
        leaves an id whose event is not stored: its message is redelivered (offsets are committed only
        after a flush) and counts then, when `events` does not hold its offset yet. An id first
        carried by another message is a duplicate: that message counted it or will on redelivery.
        """
        if carrier is None:
            return False
        if carrier == (item.partition, item.offset):
            return item.offset <= self._events_marker[item.partition]
        return True

    def _catch_up(self, partitions: Sequence[int]) -> dict[str, int]:
        """Build every rollup over the stored events it has not yet seen; return offsets per table.

        A rollup whose statement fails keeps its marker, and the first failure is raised once the
        others have finished."""
        work: dict[str, tuple[dict[int, tuple[int, int]], Future[None]]] = {}
        for rollup in self._rollups:
            markers = self._rollup_markers[rollup.table]
            ranges = {
                p: (markers[p], self._events_marker[p])
                for p in partitions
                if self._events_marker[p] > markers[p]
            }
            if ranges:
                sql = FENCE_TAG + rollup.catch_up_sql(len(ranges), fenced_by=self.FENCE)
                since = min(self._stored_since.get(p) or 0 for p in ranges)
                parameters = range_parameters(ranges, since) | {"owned": sorted(ranges), "owner": self.owner}
                work[rollup.table] = (ranges, self._builders.submit(self._store.command, sql, parameters))
        caught_up: dict[str, int] = {}
        failure: BaseException | None = None
        for table, (ranges, built) in work.items():
            error = built.exception()
            if error is not None:
                failure = failure or error
                continue
            for partition, (_, up_to) in ranges.items():
                self._rollup_markers[table][partition] = up_to
            caught_up[table] = sum(hi - lo for lo, hi in ranges.values())
        for partition in partitions:
            if all(
                markers[partition] >= self._events_marker[partition]
                for markers in self._rollup_markers.values()
            ):
                self._stored_since[partition] = None
        if failure is not None:
            raise failure
        return caught_up


def sole_writer(store: Store, partitions: Iterable[int] = range(64)) -> RollupSink:
    """A sink that claims `partitions` above every stored claim: for a tool that writes alone (the
    benchmarks, tests), never for a worker of a consumer group, whose claims follow its generation."""
    ((newest,),) = store.query_rows("SELECT max(generation) FROM partition_owners")
    sink = RollupSink(store)
    sink.claim(partitions, int(newest) + 1)
    return sink
