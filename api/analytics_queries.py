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

FIGURES_SQL = """
SELECT t.plays_total, t.listeners_total,
       d.period_plays, d.period_listeners, d.period_likes, d.period_reposts,
       d.previous_plays, d.previous_listeners
FROM
(
    SELECT sum(plays) AS plays_total, uniqExactMerge(listeners) AS listeners_total
    FROM track_totals
    WHERE track_id IN {track_ids:Array(UInt64)}
) AS t
CROSS JOIN
(
    SELECT
        sumIf(plays, day >= {start:Date}) AS period_plays,
        uniqExactMergeIf(listeners, day >= {start:Date}) AS period_listeners,
        sumIf(likes, day >= {start:Date}) AS period_likes,
        sumIf(reposts, day >= {start:Date}) AS period_reposts,
        sumIf(plays, day < {start:Date}) AS previous_plays,
        uniqExactMergeIf(listeners, day < {start:Date}) AS previous_listeners
    FROM track_daily
    WHERE track_id IN {track_ids:Array(UInt64)}
      AND day >= {previous_start:Date} AND day <= {today:Date}
) AS d
"""

PER_TRACK_SQL = """
SELECT track_id, sum(plays) AS period_plays, uniqExactMerge(listeners) AS period_listeners
FROM track_daily
WHERE track_id IN {track_ids:Array(UInt64)} AND day >= {start:Date} AND day <= {today:Date}
GROUP BY track_id
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


async def per_track(store: Store, track_ids: Sequence[int], bounds: PeriodBounds) -> dict[int, TrackPeriod]:
    rows = await store.aquery_rows(PER_TRACK_SQL, _period_parameters(track_ids, bounds))
    return {int(t): TrackPeriod(int(t), int(p), int(u)) for t, p, u in rows}


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
