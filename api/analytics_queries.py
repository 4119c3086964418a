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

_FIGURE_COLUMNS = """t.plays_total, t.listeners_total,
       d.period_plays, d.period_listeners, d.period_likes, d.period_reposts,
       d.previous_plays, d.previous_listeners"""

_TOTALS_SUBQUERY = """
(
    SELECT sum(plays) AS plays_total, uniqExactMerge(listeners) AS listeners_total
    FROM track_totals
    WHERE track_id IN {track_ids:Array(UInt64)}
) AS t"""

_DAYS_IN_RANGE = """FROM track_daily
    WHERE track_id IN {track_ids:Array(UInt64)}
      AND day >= {previous_start:Date} AND day <= {today:Date}"""


def _period_columns(merge: str, prefix: str) -> str:
    """The period's and the previous period's counters, listener sets merged with `merge`."""
    return f"""sumIf(plays, day >= {{start:Date}}) AS {prefix}period_plays,
        {merge}(listeners, day >= {{start:Date}}) AS {prefix}period_listeners,
        sumIf(likes, day >= {{start:Date}}) AS {prefix}period_likes,
        sumIf(reposts, day >= {{start:Date}}) AS {prefix}period_reposts,
        sumIf(plays, day < {{start:Date}}) AS {prefix}previous_plays,
        {merge}(listeners, day < {{start:Date}}) AS {prefix}previous_listeners"""


FIGURES_SQL = f"""
SELECT {_FIGURE_COLUMNS}
FROM {_TOTALS_SUBQUERY}
CROSS JOIN
(
    SELECT
        {_period_columns("uniqExactMergeIf", "")}
    {_DAYS_IN_RANGE}
) AS d
"""

# The figures of a group of tracks and each track's period plays and listeners, in one statement
# (each statement costs a few ms in chDB). Listener sets are merged per track first, then the
# per-track sets into the group's, so a listener of several tracks still counts once.
GROUP_FIGURES_SQL = f"""
SELECT {_FIGURE_COLUMNS}, d.per_track
FROM {_TOTALS_SUBQUERY}
CROSS JOIN
(
    SELECT
        sum(track_period_plays) AS period_plays,
        uniqExactMerge(track_period_listeners) AS period_listeners,
        sum(track_period_likes) AS period_likes,
        sum(track_period_reposts) AS period_reposts,
        sum(track_previous_plays) AS previous_plays,
        uniqExactMerge(track_previous_listeners) AS previous_listeners,
        groupArray((track_id, track_period_plays, finalizeAggregation(track_period_listeners))) AS per_track
    FROM
    (
        SELECT track_id,
            {_period_columns("uniqExactMergeStateIf", "track_")}
        {_DAYS_IN_RANGE}
        GROUP BY track_id
    )
) AS d
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


async def figures(store: Store, track_ids: Sequence[int], bounds: PeriodBounds) -> Figures:
    rows = await store.aquery_rows(FIGURES_SQL, _period_parameters(track_ids, bounds))
    return Figures(*(int(value) for value in rows[0]))


async def group_figures(
    store: Store, track_ids: Sequence[int], bounds: PeriodBounds
) -> tuple[Figures, dict[int, TrackPeriod]]:
    """The group's figures, and the period plays and listeners of each of its tracks that has any."""
    rows = await store.aquery_rows(GROUP_FIGURES_SQL, _period_parameters(track_ids, bounds))
    *values, per_track = rows[0]
    tracks = {int(t): TrackPeriod(int(t), int(p), int(u)) for t, p, u in per_track}
    return Figures(*(int(value) for value in values)), tracks


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
