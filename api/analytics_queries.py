"""Read queries over any set of tracks (one track, an album, an artist), from the rollups only.

Every value is a ClickHouse query parameter; listeners are merged uniqExact states, so a set of
tracks counts each listener once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from insights.store import Store
from schemas.periods import ChartBuckets, PeriodBounds

# The figures come as up to three rows, told apart by `part`: the previous period's (0) and the
# period's (1) counters from one pass over the days of both, and the all-time totals (2). The two reads
# are a UNION ALL, which the engine runs side by side on two cores where a join of them ran one after
# the other: large albums and artists answer about a third sooner, for the same CPU (BENCHMARKS.md).
PREVIOUS, PERIOD, ALL_TIME = 0, 1, 2

_TOTALS_PART = """
SELECT 2 AS part, sum(plays) AS plays, uniqExactMerge(listeners) AS listeners, 0 AS likes, 0 AS reposts{empty}
FROM track_totals
WHERE track_id IN {{track_ids:Array(UInt64)}}"""

_DAYS_IN_RANGE = """FROM track_daily
    WHERE track_id IN {track_ids:Array(UInt64)}
      AND day >= {previous_start:Date} AND day <= {today:Date}"""

FIGURES_SQL = f"""{_TOTALS_PART.format(empty="")}
UNION ALL
SELECT day >= {{start:Date}} AS part, sum(plays), uniqExactMerge(listeners), sum(likes), sum(reposts)
{_DAYS_IN_RANGE}
GROUP BY part
"""

# For a group of tracks, also each track's period plays and listeners, in the same statement (each
# statement costs a few ms in chDB). Listener sets are merged per track and part first, then the
# per-track sets into the group's, so a listener of several tracks still counts once.
GROUP_FIGURES_SQL = f"""{_TOTALS_PART.format(empty=", [] AS per_track")}
UNION ALL
SELECT part, sum(plays), uniqExactMerge(listeners), sum(likes), sum(reposts),
    groupArrayIf((track_id, plays, finalizeAggregation(listeners)), part = 1)
FROM
(
    SELECT track_id, day >= {{start:Date}} AS part, sum(plays) AS plays,
        uniqExactMergeState(listeners) AS listeners, sum(likes) AS likes, sum(reposts) AS reposts
    {_DAYS_IN_RANGE}
    GROUP BY track_id, part
)
GROUP BY part
"""

PLAYS_TOTAL_SQL = """
SELECT track_id, sum(plays) AS plays_total
FROM track_totals
WHERE track_id IN {track_ids:Array(UInt64)}
GROUP BY track_id
"""

_CHART_COLUMNS = """sum(plays) AS bucket_plays, uniqExactMerge(listeners) AS bucket_listeners,
       sum(likes) AS bucket_likes, sum(reposts) AS bucket_reposts"""

CHART_SQL = {
    "hour": f"""
SELECT toUnixTimestamp(hour) AS bucket, {_CHART_COLUMNS}
FROM track_hourly
WHERE track_id IN {{track_ids:Array(UInt64)}}
  AND hour >= toDateTime({{first:Int64}}, 'UTC') AND hour <= toDateTime({{last:Int64}}, 'UTC')
GROUP BY bucket""",
    "day": f"""
SELECT toUnixTimestamp(toDateTime(day, 'UTC')) AS bucket, {_CHART_COLUMNS}
FROM track_daily
WHERE track_id IN {{track_ids:Array(UInt64)}}
  AND day >= toDate(toDateTime({{first:Int64}}, 'UTC')) AND day <= toDate(toDateTime({{last:Int64}}, 'UTC'))
GROUP BY bucket""",
    "week": f"""
SELECT toUnixTimestamp(toDateTime(toMonday(day), 'UTC')) AS bucket, {_CHART_COLUMNS}
FROM track_daily
WHERE track_id IN {{track_ids:Array(UInt64)}}
  AND day >= toDate(toDateTime({{first:Int64}}, 'UTC'))
  AND day < toDate(toDateTime({{last:Int64}}, 'UTC')) + 7
GROUP BY bucket""",
}

REALTIME_SQL = """
SELECT
    uniqExactMergeIf(active, second > toDateTime({now:Int64}, 'UTC') - 300) AS active_listeners,
    sumIf(plays, second > toDateTime({now:Int64}, 'UTC') - 300) AS plays_5m,
    sum(plays) AS plays_60m,
    sumMapIf([toUInt32(toStartOfMinute(second))], [toUInt64(plays)],
             second >= toDateTime({first_minute:Int64}, 'UTC')) AS per_minute
FROM track_realtime
WHERE track_id = {track_id:UInt64}
  AND second > toDateTime({now:Int64}, 'UTC') - 3600 AND second <= toDateTime({now:Int64}, 'UTC')
"""


@dataclass(frozen=True)
class Figures:
    plays_total: int
    listeners_total: int
    plays: int
    listeners: int
    likes: int
    reposts: int
    previous_plays: int
    previous_listeners: int


@dataclass(frozen=True)
class TrackPeriod:
    track_id: int
    plays: int
    listeners: int


@dataclass(frozen=True)
class ChartPoint:
    t: datetime
    plays: int
    listeners: int
    likes: int
    reposts: int


@dataclass(frozen=True)
class Realtime:
    active_listeners: int
    plays_last_5m: int
    plays_last_60m: int
    plays_per_minute: dict[int, int]  # unix minute start -> plays


def _period_parameters(track_ids: Sequence[int], bounds: PeriodBounds) -> dict[str, Any]:
    return {
        "track_ids": list(track_ids),
        "start": bounds.start,
        "previous_start": bounds.previous_start,
        "today": bounds.today,
    }


def _figures(rows: list[tuple[Any, ...]]) -> Figures:
    """The parts' rows (part, plays, listeners, likes, reposts, ...) -> Figures; a part with no day
    in range has no row."""
    parts = {int(part): [int(v) for v in values[:4]] for part, *values in rows}
    empty = [0, 0, 0, 0]
    total, period, previous = (parts.get(p, empty) for p in (ALL_TIME, PERIOD, PREVIOUS))
    plays, listeners, likes, reposts = period
    return Figures(total[0], total[1], plays, listeners, likes, reposts, previous[0], previous[1])


async def figures(store: Store, track_ids: Sequence[int], bounds: PeriodBounds) -> Figures:
    return _figures(await store.aquery_rows(FIGURES_SQL, _period_parameters(track_ids, bounds)))


async def group_figures(
    store: Store, track_ids: Sequence[int], bounds: PeriodBounds
) -> tuple[Figures, dict[int, TrackPeriod]]:
    """The group's figures, and the period plays and listeners of each of its tracks that has any."""
    rows = await store.aquery_rows(GROUP_FIGURES_SQL, _period_parameters(track_ids, bounds))
    per_track: list[tuple[int, int, int]] = next((row[-1] for row in rows if row[0] == PERIOD), [])
    tracks = {int(t): TrackPeriod(int(t), int(p), int(u)) for t, p, u in per_track}
    return _figures(rows), tracks


async def plays_total(store: Store, track_ids: Sequence[int]) -> dict[int, int]:
    rows = await store.aquery_rows(PLAYS_TOTAL_SQL, {"track_ids": list(track_ids)})
    return {int(t): int(p) for t, p in rows}


async def chart(store: Store, track_ids: Sequence[int], buckets: ChartBuckets) -> list[ChartPoint]:
    """Every bucket of the timeframe, oldest first, zeros where nothing happened."""
    rows = await store.aquery_rows(
        CHART_SQL[buckets.interval],
        {
            "track_ids": list(track_ids),
            "first": int(buckets.first.timestamp()),
            "last": int(buckets.last.timestamp()),
        },
    )
    found = {int(bucket): values for bucket, *values in rows}
    empty = (0, 0, 0, 0)
    return [
        ChartPoint(start, *(int(v) for v in found.get(int(start.timestamp()), empty)))
        for start in buckets.starts
    ]


async def realtime(store: Store, track_id: int, now: datetime, first_minute: datetime) -> Realtime:
    rows = await store.aquery_rows(
        REALTIME_SQL,
        {
            "track_id": track_id,
            "now": int(now.timestamp()),
            "first_minute": int(first_minute.timestamp()),
        },
    )
    active, plays_5m, plays_60m, (minutes, plays) = rows[0]
    return Realtime(int(active), int(plays_5m), int(plays_60m), dict(zip(minutes, plays, strict=True)))
