"""Writes finished batches to ClickHouse so that each event counts exactly once (ARCHITECTURE §7.1).

A flush (1) drops event_ids already stored, (2) inserts the rest into `events` as one part, then
(3) brings every rollup up to the newest stored offset of each partition. Each step is a single-table
atomic insert and every rollup records how far it got, so a crash between steps, a retried flush,
redelivery or replay is repaired by step 3 and never counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from insights.store import Store
from pipeline.failpoints import failpoint
from pipeline.rollups import ROLLUPS, Rollup, range_parameters
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
)


@dataclass(frozen=True)
class SourcedEvent:
    """A decoded event and the place in the topic it was read from."""

    event: Event
    partition: int
    offset: int


@dataclass
class FlushResult:
    written: int = 0
    duplicates: int = 0
    caught_up: dict[str, int] = field(default_factory=dict)


def first_occurrences(batch: Iterable[SourcedEvent]) -> list[SourcedEvent]:
    """Keep the first event of each event_id, in (partition, offset) order."""
    seen: set[str] = set()
    unique: list[SourcedEvent] = []
    for item in sorted(batch, key=lambda e: (e.partition, e.offset)):
        if item.event.event_id not in seen:
            seen.add(item.event.event_id)
            unique.append(item)
    return unique


def event_row(item: SourcedEvent, ingested_at: datetime) -> list[object]:
    e = item.event
    return [
        e.event_id,
        e.type,
        e.track_id,
        e.listener_id,
        e.occurred_at.astimezone(UTC),
        e.listened_ms,
        item.partition,
        item.offset,
        ingested_at,
    ]


class RollupSink:
    """Sync and single-threaded by design: the worker runs flushes one after another."""

    def __init__(self, store: Store, rollups: Sequence[Rollup] = ROLLUPS) -> None:
        self._store = store
        self._rollups = tuple(rollups)
        self._events_marker: dict[int, int] = {}
        self._rollup_markers: dict[str, dict[int, int]] = {r.table: {} for r in self._rollups}

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is known of partitions this worker no longer owns (another may advance them)."""
        for partition in partitions:
            self._events_marker.pop(partition, None)
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
        """Write one batch; raising leaves nothing half-counted, so the caller may simply retry."""
        partitions = {item.partition for item in batch}
        try:
            return self._flush(batch, partitions)
        except Exception:
            # A write may have landed even though it raised (a lost reply): re-read the markers.
            self.forget(partitions)
            raise

    def _flush(self, batch: Sequence[SourcedEvent], partitions: set[int]) -> FlushResult:
        self.recover(partitions)
        unique = first_occurrences(batch)
        stored = self._stored_ids([item.event.event_id for item in unique])
        new = [item for item in unique if item.event.event_id not in stored]
        behind = sorted({i.partition for i in new if i.offset <= self._events_marker[i.partition]})
        if behind:
            # Offsets only grow, so a new event below the stored ones means the topic was recreated
            # under the same ClickHouse data: the rollups would never see these events.
            log.error(
                "insights.events partitions %s restarted below the offsets already stored; "
                "was the topic recreated? See 'Offsets going back' in docs/pipeline.md",
                behind,
            )
        if new:
            ingested_at = datetime.now(UTC).replace(microsecond=0)
            failpoint("before_events_insert")
            self._store.insert("events", [event_row(i, ingested_at) for i in new], EVENT_COLUMNS)
            failpoint("after_events_insert")
            for item in new:
                if item.offset > self._events_marker[item.partition]:
                    self._events_marker[item.partition] = item.offset
        result = FlushResult(written=len(new), duplicates=len(batch) - len(new))
        result.caught_up = self._catch_up(sorted(partitions))
        failpoint("after_rollups")
        return result

    def _stored_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = self._store.query_rows(
            "SELECT event_id FROM events WHERE event_id IN {ids:Array(String)}", {"ids": event_ids}
        )
        return {row[0] for row in rows}

    def _catch_up(self, partitions: Sequence[int]) -> dict[str, int]:
        """Build every rollup over the stored events it has not yet seen; return offsets per table."""
        caught_up: dict[str, int] = {}
        for rollup in self._rollups:
            markers = self._rollup_markers[rollup.table]
            ranges = {
                p: (markers[p], self._events_marker[p])
                for p in partitions
                if self._events_marker[p] > markers[p]
            }
            if not ranges:
                continue
            self._store.command(rollup.catch_up_sql(len(ranges)), range_parameters(ranges))
            for partition, (_, up_to) in ranges.items():
                markers[partition] = up_to
            caught_up[rollup.table] = sum(hi - lo for lo, hi in ranges.values())
        return caught_up
