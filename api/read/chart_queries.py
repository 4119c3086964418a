"""Charts: each bucket of a timeframe with its plays, listeners, likes and reposts, from the rollups,
with the listeners of past buckets kept (in memory, and in the store for other processes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from api.http.recent import Recent
from api.read import listener_blocks
from api.read.analytics_queries import SKETCH_ABOVE, track_set
from api.read.changes import MAX_AGE_SECONDS, Version
from api.read.listener_blocks import Entity
from api.read.past_rows import KEPT_ROWS, READ_ROWS, PastRows
from insights.metrics import CHART_COUNTS
from insights.store import Store
from schemas.local_ranges import LocalBuckets
from schemas.periods import ChartBuckets

# Per interval: the rollup, its bucket start as a unix timestamp, and its rows from bucket {first} to
# bucket {last} (names of query parameters).
_CHART_SOURCE = {
    "hour": (
        "track_hourly",
        "toUnixTimestamp(hour)",
        "hour >= toDateTime({{{first}:Int64}}, 'UTC') AND hour <= toDateTime({{{last}:Int64}}, 'UTC')",
    ),
    "day": (
        "track_daily",
        "toUnixTimestamp(toDateTime(day, 'UTC'))",
        "day >= toDate(toDateTime({{{first}:Int64}}, 'UTC'))"
        " AND day <= toDate(toDateTime({{{last}:Int64}}, 'UTC'))",
    ),
    "week": (
        "track_daily",
        "toUnixTimestamp(toDateTime(toMonday(day), 'UTC'))",
        "day >= toDate(toDateTime({{{first}:Int64}}, 'UTC'))"
        " AND day < toDate(toDateTime({{{last}:Int64}}, 'UTC')) + 7",
    ),
}

# Rows (counted, bucket, plays, listeners, likes, reposts). The buckets listed in `counted` come with
# their listeners (counted = 1); the others, in the charts' statement, with their sums only, without
# reading a listener state (counted = 0, listeners 0). The sums are the bucket's version (ChartMemo).
_COUNTED = """
SELECT 1 AS counted, {bucket} AS bucket, sum(plays), uniqExactMerge(listeners), sum(likes), sum(reposts)
FROM {table}
WHERE track_id IN {{track_ids:Array(UInt64)}} AND {counted_rows} AND bucket IN {{counted:Array(Int64)}}
GROUP BY bucket"""

_STAMPED = """
SELECT 0 AS counted, {bucket} AS bucket, sum(plays), 0, sum(likes), sum(reposts)
FROM {table}
WHERE track_id IN {{track_ids:Array(UInt64)}} AND {rows} AND bucket NOT IN {{counted:Array(Int64)}}
GROUP BY bucket"""


def _chart_statement(interval: str, *parts: str) -> str:
    table, bucket, rows = _CHART_SOURCE[interval]
    return "\nUNION ALL".join(
        part.format(
            table=table,
            bucket=bucket,
            rows=rows.format(first="first", last="last"),
            counted_rows=rows.format(first="counted_first", last="counted_last"),
        )
        for part in parts
    )


# The listed buckets only; and the listed buckets with the sums of all the others.
COUNTED_CHART_SQL = {interval: _chart_statement(interval, _COUNTED) for interval in _CHART_SOURCE}
CHART_SQL = {interval: _chart_statement(interval, _STAMPED, _COUNTED) for interval in _CHART_SOURCE}


@dataclass(frozen=True)
class ChartPoint:
    t: datetime
    plays: int
    listeners: int
    likes: int
    reposts: int
    estimate: bool = False  # listeners from a sketch (past SKETCH_ABOVE)


# A bucket's version: its sums of plays, likes and reposts. Every event built into a bucket is a play,
# a like or a repost (heartbeats go to the real-time rollup only), so it raises one of them, and rows
# are only ever added: a bucket whose sums are unchanged holds the same rows, hence the same listeners.
Stamp = tuple[int, int, int]
NO_ROWS: Stamp = (0, 0, 0)


Counts = tuple[int, int, int, int]  # plays, listeners, likes, reposts


# A chart whose past buckets hold fewer listeners than this, summed, is counted whole in one statement:
# reading the other buckets' sums beside the newest bucket costs about 10 ms more on chDB, and counting
# a chart whole about 0.12-0.19 us per listener summed over its buckets (BENCHMARKS.md, read latency).
RECOUNT_BELOW = 100_000


ChartKey = tuple[str, str, tuple[int, ...]]  # interval, zone, tracks


class _KeptChart(NamedTuple):
    version: Version | None  # the tracks' past version, read before the buckets were
    created: float
    buckets: dict[int, tuple[Stamp, int]]


class ChartMemo:
    """The listeners of chart buckets already counted, each with the sums of the rows it was counted
    from (its version, `Stamp`), per chart (interval and set of tracks); beyond its capacity in
    buckets, the least recently asked charts are dropped first.

    Merging listener sets is what a chart costs, and a chart's past buckets rarely change: with the
    memo, a chart asked again counts the listeners of the bucket holding now and of any bucket whose
    sums moved (a late event), and reads only the sums of the others."""

    def __init__(
        self,
        buckets: int = 200_000,
        recount_below: int = RECOUNT_BELOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`buckets`: how many bucket counts to keep in all (about 250 bytes each: 50 MB at most; a
        chart's key weighs as one bucket for every 6 of its track ids, about 40 bytes each)."""
        self._charts: Recent[ChartKey, _KeptChart] = Recent(
            buckets, lambda key, kept: 1 + len(kept.buckets) + len(key[-1]) // 6
        )
        self.recount_below = recount_below
        self._clock = clock

    def recall(self, chart: ChartKey) -> dict[int, tuple[Stamp, int]]:
        return self.recall_read(chart)[1]

    def recall_read(self, chart: ChartKey) -> tuple[Version | None, dict[int, tuple[Stamp, int]]]:
        """The chart's buckets, and the past version of its tracks read before they were (None: not
        known, or kept longer ago than MAX_AGE_SECONDS; api/read/past_rows.py)."""
        kept = self._charts.get(chart)
        if kept is None:
            return None, {}
        young = self._clock() - kept.created < MAX_AGE_SECONDS
        return kept.version if young else None, kept.buckets

    def keep(
        self, chart: ChartKey, buckets: dict[int, tuple[Stamp, int]], version: Version | None = None
    ) -> None:
        self._charts.put(chart, _KeptChart(version, self._clock(), buckets))


class _BucketRow(NamedTuple):
    counted: bool
    bucket: int
    counts: Counts

    @property
    def stamp(self) -> Stamp:
        plays, _, likes, reposts = self.counts
        return plays, likes, reposts


# Reads a chart's rows: (buckets counted with their listeners, every bucket if sums are wanted too).
ChartReader = Callable[[list[int], list[int] | None], Awaitable[list[tuple[Any, ...]]]]


# A chart's read: the buckets counted with their listeners, and the buckets whose sums are read too.
_Read = tuple[list[int], list[int] | None]


class _Plan(NamedTuple):
    read: _Read
    taken_as_kept: list[int]  # closed buckets taken from the memo as they are (their sums unread)
    given: list[int]  # buckets whose sums the statement that judged the buckets read already
    sums_read: bool  # whether the closed buckets' sums are read (rather than trusted as kept)


def _plan(
    starts: list[int],
    counted: list[int],
    kept: dict[int, tuple[Stamp, int]],
    trusted: bool,
    judged: set[int],
    asked: frozenset[int] | None,
) -> _Plan:
    """What a chart reads once the buckets' judge has taken `judged` (kept counts, estimates) of the
    `asked` buckets (None: none were judged): the others of `counted` are counted; the sums of the rest
    are read with them, unless the memo is `trusted` (its closed buckets taken as they are) or the
    judge read them."""
    counted = [bucket for bucket in counted if bucket not in judged]
    stamped = None if len(counted) == len(starts) else starts
    taken: list[int] = []
    if trusted and stamped is not None:
        taken = [bucket for bucket in starts[:-1] if bucket not in counted and bucket in kept]
        unknown = set(starts) - set(counted) - set(taken)
        stamped = [bucket for bucket in starts if bucket in unknown] or None
    sums_read = not trusted or stamped == starts
    given: list[int] = []
    if asked is not None and stamped is not None and set(stamped) - set(counted) <= asked:
        given, stamped = [bucket for bucket in stamped if bucket not in counted], None
    return _Plan((counted, stamped), taken, given, sums_read)


def _beyond(wanted: _Read, guessed: _Read) -> list[int] | None:
    """The buckets a read `wanted` counts beyond the read `guessed`, whose rows serve it with theirs
    (read alone); None if the guessed read is of no use to it."""
    (counted, stamped), (guessed_counted, guessed_stamped) = wanted, guessed
    beyond = [bucket for bucket in counted if bucket not in guessed_counted]
    if not set(guessed_counted) <= set(counted) or stamped != guessed_stamped:
        return None
    if beyond and stamped is not None:  # it read the sums alone of buckets to count
        return None
    return beyond


async def chart(
    store: Store,
    track_ids: Sequence[int],
    buckets: ChartBuckets | LocalBuckets,
    memo: ChartMemo | None = None,
    reader: ChartReader | None = None,
    entity: Entity | None = None,
    past: PastRows | None = None,
) -> list[ChartPoint]:
    """Every bucket of the timeframe, oldest first, zeros where nothing happened. `reader` reads the
    rows of buckets that are not UTC ones (api/read/local_day_queries.py). With the `entity` whose
    tracks they are, a UTC day or week bucket takes its exact count kept by an earlier ask while it is
    sound, else its block's estimate past SKETCH_ABOVE listeners (api/read/listener_blocks.py), instead
    of being counted; the closed buckets counted are kept for the next first ask."""
    starts = [int(start.timestamp()) for start in buckets.starts]
    zone = buckets.range.tz if isinstance(buckets, LocalBuckets) else "UTC"
    chart_key = (buckets.interval, zone, track_set(track_ids))

    async def read(counted: list[int], stamped: list[int] | None) -> list[_BucketRow]:
        if reader is None:
            return await _chart_rows(store, buckets.interval, track_ids, counted, stamped)
        return [_bucket_row(*row) for row in await reader(counted, stamped)]

    kept_version, kept = memo.recall_read(chart_key) if memo is not None else (None, {})
    # UTC days and weeks before the bucket holding now are days before today: while its tracks' past
    # version stays, the buckets kept are theirs, with no sums read to tell (api/read/past_rows.py).
    version = None
    if past is not None and reader is None and buckets.interval in ("day", "week"):
        version = past.version(track_ids, buckets.starts[-1].date())
    trusted = version is not None and version == kept_version
    past_listeners = sum(kept.get(bucket, (NO_ROWS, 0))[1] for bucket in starts[:-1])
    if memo is None or past_listeners < memo.recount_below:
        kept = {}  # counting every bucket in one statement costs less than reading the sums too
    # The bucket holding now changes under live traffic: it is always counted, with any the memo lacks.
    counted = [bucket for bucket in starts[:-1] if bucket not in kept] + starts[-1:]
    now_listeners = kept.get(starts[-1], (NO_ROWS, 0))[1]
    known = None
    early: tuple[_Read, asyncio.Task[list[_BucketRow]]] | None = None
    try:
        judging = False  # whether a statement judges the buckets (kept counts, block estimates)
        if entity is not None and reader is None:
            judging = listener_blocks.judged(entity, buckets.interval, counted, starts[-1])
            if judging:
                # Read beside the statement that judges the buckets what it most likely leaves to
                # read: as if it takes every closed bucket (the usual ask once they are kept), and the
                # bucket holding now if its estimate stood in last time.
                likely = set(counted[:-1]) | ({starts[-1]} if now_listeners > SKETCH_ABOVE else set())
                guess = _plan(starts, counted, kept, trusted, likely, frozenset(counted))
                if any(guess.read):
                    early = guess.read, asyncio.get_running_loop().create_task(read(*guess.read))
            known = await listener_blocks.bucket_listeners(
                store, entity, track_ids, buckets.interval, counted, SKETCH_ABOVE, starts[-1]
            )
        if known is None:
            plan = _plan(starts, counted, kept, trusted, set(), None)
        else:
            plan = _plan(starts, counted, kept, trusted, {*known.counts, *known.estimates}, known.asked)
        beyond = _beyond(plan.read, early[0]) if early is not None else None
        if judging:
            CHART_COUNTS.labels(
                read="after" if early is None else "again" if beyond is None else "beside"
            ).inc()
        if early is not None and beyond is not None:
            rows, early = await early[1], None
            rows += await read(beyond, None) if beyond else []
        else:
            rows = await read(*plan.read) if any(plan.read) else []
    finally:
        if early is not None:  # guessed wrong: its rows are not used
            await asyncio.gather(early[1], return_exceptions=True)
    # Not counted now: kept exact counts (of any process, still sound), else estimates past the mark.
    stored, estimated = (known.counts, known.estimates) if known is not None else ({}, {})
    found: dict[int, Counts] = {}
    remembered: dict[int, tuple[Stamp, int]] = dict.fromkeys(starts, (NO_ROWS, 0))  # no listeners
    for bucket in plan.taken_as_kept:  # the closed buckets kept, taken as they are
        (plays, likes, reposts), listeners = remembered[bucket] = kept[bucket]
        if (plays, likes, reposts) != NO_ROWS:
            found[bucket] = (plays, listeners, likes, reposts)
    if version is not None:  # the closed buckets' sums read, or not
        (READ_ROWS if plan.sums_read else KEPT_ROWS).inc()
    if known is not None and plan.given:
        rows += [_BucketRow(False, b, _counts(known.stamps[b])) for b in plan.given if b in known.stamps]
    stale: list[int] = []
    for row in rows:
        taken = stored.get(row.bucket, estimated.get(row.bucket))
        if taken is not None and known is not None and known.sums[row.bucket][0] != row.counts[0]:
            taken = None  # a play landed since the sums were read: counted again, below
        if not row.counted and (taken is None and kept.get(row.bucket, (None,))[0] != row.stamp):
            stale.append(row.bucket)
            continue
        plays, listeners, likes, reposts = row.counts
        if not row.counted:
            listeners = taken if taken is not None else kept[row.bucket][1]
        found[row.bucket] = (plays, listeners, likes, reposts)
        remembered[row.bucket] = (row.stamp, listeners)
    if stale:
        for row in await read(stale, None):
            found[row.bucket] = row.counts
            remembered[row.bucket] = (row.stamp, row.counts[1])
    if memo is not None:
        memo.keep(chart_key, remembered, version)
    if known is not None:  # for the next first ask, in any process
        known.keep(store, {b: found[b][1] for b in [*plan.read[0], *stale] if b in found}, starts[-1])
    empty = (0, 0, 0, 0)
    # A kept count past the mark may have been an estimate: it is said to be one.
    sketched = entity is not None and reader is None
    return [
        ChartPoint(
            start,
            *found.get(bucket, empty),
            bucket in estimated or (sketched and found.get(bucket, empty)[1] > SKETCH_ABOVE),
        )
        for start, bucket in zip(buckets.starts, starts, strict=True)
    ]


async def _chart_rows(
    store: Store, interval: str, track_ids: Sequence[int], counted: list[int], stamped: list[int] | None
) -> list[_BucketRow]:
    """The counted buckets with their listeners, and if `stamped` (buckets of the chart, oldest first)
    is given, the sums of the other buckets from its first to its last; buckets without rows are left
    out."""
    parameters: dict[str, Any] = {
        "track_ids": list(track_ids),
        "counted": counted,
        "counted_first": min(counted, default=0),
        "counted_last": max(counted, default=-1),
    }
    if stamped is None:
        rows = await store.aquery_rows(COUNTED_CHART_SQL[interval], parameters)
    else:
        parameters |= {"first": stamped[0], "last": stamped[-1]}
        rows = await store.aquery_rows(CHART_SQL[interval], parameters)
    return [_bucket_row(*row) for row in rows]


def _counts(stamp: Stamp) -> Counts:
    """A bucket's figures from its sums alone: its listeners are not read."""
    plays, likes, reposts = stamp
    return plays, 0, likes, reposts


def _bucket_row(
    counted: int, bucket: int, plays: int, listeners: int, likes: int, reposts: int
) -> _BucketRow:
    return _BucketRow(bool(counted), int(bucket), (int(plays), int(listeners), int(likes), int(reposts)))
