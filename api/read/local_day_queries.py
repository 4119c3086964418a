"""Figures and charts over local days of any time zone: whole UTC days from `track_daily`, the ragged
ends by UTC quarter-hour from `track_quarter` (docs/pipeline.md, "Local days in any time zone").

UTC answers do not come here (api/read/analytics_queries.py reads whole UTC days); both build their
figures statement with api/read/figures_sql.py. Listeners are always counted exactly here (the sketches
are per UTC day), except the all-time ones, which do not depend on the zone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from api.read import analytics_queries as analytics
from api.read import chart_queries as charts
from api.read.figures_sql import (
    EDGES,
    EXACT_LISTENERS,
    LOCAL_DAYS,
    PERIOD,
    SKETCHED_LISTENERS,
    Part,
    figures_of_parts,
    figures_statement,
)
from insights.store import Store
from schemas.local_ranges import DAY, LocalBuckets, LocalRange


def _figures_statement(all_time_sketched: bool, group: bool) -> str:
    all_time = SKETCHED_LISTENERS if all_time_sketched else EXACT_LISTENERS
    return figures_statement([Part(LOCAL_DAYS, per_track=group)], all_time=all_time, group=group)


FIGURES_SQL = {sketched: _figures_statement(sketched, group=False) for sketched in (False, True)}
GROUP_FIGURES_SQL = {sketched: _figures_statement(sketched, group=True) for sketched in (False, True)}

QUARTERS_FROM_SQL = "SELECT max(since) FROM quarter_hours_from"

Span = tuple[datetime, datetime]


def _ceil_day(moment: datetime) -> datetime:
    midnight = datetime.combine(moment.date(), datetime.min.time(), UTC)
    return midnight if midnight == moment else midnight + DAY


def _floor_day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), datetime.min.time(), UTC)


def split(lo: datetime, hi: datetime) -> tuple[tuple[date, date] | None, list[Span]]:
    """[lo, hi) as the UTC days wholly inside it (first, last) and the quarter-hour spans left over."""
    first_day, end_day = _ceil_day(lo), _floor_day(hi)
    if first_day >= end_day:
        return None, [(lo, hi)] if lo < hi else []
    ends = [(lo, first_day), (end_day, hi)]
    return (first_day.date(), (end_day - DAY).date()), [(a, b) for a, b in ends if a < b]


def merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for lo, hi in sorted(spans):
        if out and out[-1][1] >= lo:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


NO_DAYS = (date(1970, 1, 2), date(1970, 1, 1))  # an empty range of days


def range_parameters(chosen: LocalRange) -> dict[str, Any]:
    """The days and quarter spans of the previous range and of the range, as the statement's parameters."""
    parameters: dict[str, Any] = {"start": int(chosen.start.timestamp())}
    spans: list[Span] = []
    for i, (lo, hi) in enumerate(((chosen.previous_start, chosen.start), (chosen.start, chosen.end))):
        days, ends = split(lo, hi)
        parameters[f"days_from{i}"], parameters[f"days_to{i}"] = days or NO_DAYS
        spans += ends
    spans = merged(spans)
    assert len(spans) <= EDGES, spans
    for i in range(EDGES):
        lo, hi = spans[i] if i < len(spans) else (chosen.start, chosen.start)
        parameters[f"q_from{i}"], parameters[f"q_to{i}"] = int(lo.timestamp()), int(hi.timestamp())
    return parameters


class Coverage:
    """Where `track_quarter` begins to hold every event (schemas/clickhouse/012_quarter_hour_rollup.sql),
    asked once: quarters before it may miss events older than the `events` table keeps. `since_sql`
    asks the same of other rollups built after their history (the audience rollups, 013)."""

    def __init__(self, since_sql: str = QUARTERS_FROM_SQL) -> None:
        self._since: datetime | None = None
        self._since_sql = since_sql

    async def since(self, store: Store) -> datetime:
        if self._since is None:
            rows = await store.aquery_rows(self._since_sql)
            since = rows[0][0] if rows and rows[0][0] is not None else datetime(1970, 1, 1)
            self._since = since.replace(tzinfo=UTC)
        return self._since

    async def partial(self, store: Store, spans: Sequence[Span]) -> bool:
        """Whether any of these quarter spans begins before the quarters hold every event."""
        since = await self.since(store)
        return any(lo < since for lo, hi in spans if lo < hi)


def quarter_spans(parameters: dict[str, Any]) -> list[Span]:
    return [
        (
            datetime.fromtimestamp(parameters[f"q_from{i}"], UTC),
            datetime.fromtimestamp(parameters[f"q_to{i}"], UTC),
        )
        for i in range(EDGES)
    ]


async def figures(
    store: Store,
    track_ids: Sequence[int],
    chosen: LocalRange,
    audiences: analytics.Audiences | None = None,
    group: bool = False,
) -> tuple[analytics.Figures, dict[int, analytics.TrackPeriod], bool]:
    """The figures over `chosen` (and each track's period plays and listeners if `group`), and whether
    the all-time listeners came from sketches."""
    tracks = analytics.track_set(track_ids)
    sketched = audiences.sketched(tracks) if audiences is not None else False
    statement = (GROUP_FIGURES_SQL if group else FIGURES_SQL)[sketched]
    parameters = range_parameters(chosen) | {"track_ids": list(track_ids)}
    rows = await store.aquery_rows(statement, parameters)
    counted = figures_of_parts(rows)
    if audiences is not None and not sketched:
        await audiences.learn(store, tracks, counted.listeners_total)
    per_track: list[tuple[int, int, int]] = next((row[-1] for row in rows if group and row[0] == PERIOD), [])
    found = {int(t): analytics.TrackPeriod(int(t), int(p), int(u)) for t, p, u in per_track}
    return counted, found, sketched


# A chart's rows: whole UTC days inside one bucket from track_daily, every other quarter from
# track_quarter, each with its bucket: the start of the local unit holding it, in the zone {tz}.
# Local hours come from the quarters' own list (chart_parameters): the engine's toStartOfHour puts a
# half-hour DST night's repeated half hour (Australia/Lord_Howe) in an hour of its own.
_UNITS = {
    "hour": "transform(toInt64(toUnixTimestamp({t})), {{quarters:Array(Int64)}}, {{hours:Array(Int64)}},"
    " toInt64(0))",
    "day": "toInt64(toUnixTimestamp(toStartOfDay({t}, {{tz:String}})))",
    "week": "toInt64(toUnixTimestamp(toDateTime(toMonday({t}, {{tz:String}}), {{tz:String}})))",
    "month": "toInt64(toUnixTimestamp(toDateTime(toStartOfMonth({t}, {{tz:String}}), {{tz:String}})))",
}

_BUCKETED = """
    SELECT {day_unit} AS bucket, plays, listeners, likes, reposts
    FROM track_daily
    WHERE track_id IN {{track_ids:Array(UInt64)}} AND day IN {{whole_days:Array(Date)}}
      AND day >= toDate(toDateTime({{{first}:Int64}}, 'UTC'))
      AND day < toDate(toDateTime({{{end}:Int64}}, 'UTC'))
    UNION ALL
    SELECT {quarter_unit} AS bucket, plays, listeners, likes, reposts
    FROM track_quarter
    WHERE track_id IN {{track_ids:Array(UInt64)}}
      AND quarter >= toDateTime({{{first}:Int64}}, 'UTC') AND quarter < toDateTime({{{end}:Int64}}, 'UTC')
      AND toDate(quarter) NOT IN {{whole_days:Array(Date)}}"""

_COUNTED = """
SELECT 1 AS counted, bucket, sum(plays), uniqExactMerge(listeners), sum(likes), sum(reposts)
FROM ({rows})
WHERE bucket IN {{counted:Array(Int64)}}
GROUP BY bucket"""

_STAMPED = """
SELECT 0 AS counted, bucket, sum(plays), 0, sum(likes), sum(reposts)
FROM ({rows})
WHERE bucket NOT IN {{counted:Array(Int64)}}
GROUP BY bucket"""


def _rows(interval: str, first: str, end: str) -> str:
    unit = _UNITS[interval]
    return _BUCKETED.format(
        day_unit=unit.format(t="toDateTime(day, 'UTC')"),
        quarter_unit=unit.format(t="quarter"),
        first=first,
        end=end,
    )


COUNTED_CHART_SQL = {
    interval: _COUNTED.format(rows=_rows(interval, "counted_first", "counted_end")) for interval in _UNITS
}
CHART_SQL = {
    interval: _STAMPED.format(rows=_rows(interval, "first", "end"))
    + "\nUNION ALL"
    + _COUNTED.format(rows=_rows(interval, "counted_first", "counted_end"))
    for interval in _UNITS
}


def chart_parameters(buckets: LocalBuckets, counted: list[int], stamped: bool) -> dict[str, Any]:
    starts = [int(s.timestamp()) for s in buckets.starts]
    ends = [*starts[1:], int(buckets.end.timestamp())]
    last = max(counted)
    parameters: dict[str, Any] = {
        "tz": buckets.range.tz,
        "whole_days": list(buckets.whole_days),
        "counted": counted,
        "counted_first": min(counted),
        "counted_end": ends[starts.index(last)],
    }
    if stamped:
        parameters |= {"first": starts[0], "end": ends[-1]}
    if buckets.interval == "hour":
        quarters = [starts[0] + 900 * i for i in range((ends[-1] - starts[0]) // 900)]
        parameters |= {"quarters": quarters, "hours": [starts[bisect_right(starts, q) - 1] for q in quarters]}
    return parameters


def chart_spans(buckets: LocalBuckets) -> list[Span]:
    """The quarter-hour spans a chart reads (every bucket's time outside its whole UTC days)."""
    whole = set(buckets.whole_days)
    spans: list[Span] = []
    moment = buckets.first
    while moment < buckets.end:
        day_end = _floor_day(moment) + DAY
        if moment.date() not in whole:
            spans.append((moment, min(day_end, buckets.end)))
        moment = day_end
    return merged(spans)


async def chart(
    store: Store, track_ids: Sequence[int], buckets: LocalBuckets, memo: charts.ChartMemo | None = None
) -> list[charts.ChartPoint]:
    async def reader(counted: list[int], stamped: list[int] | None) -> list[tuple[Any, ...]]:
        statement = (COUNTED_CHART_SQL if stamped is None else CHART_SQL)[buckets.interval]
        parameters = chart_parameters(buckets, counted, stamped is not None)
        return await store.aquery_rows(statement, parameters | {"track_ids": list(track_ids)})

    return await charts.chart(store, track_ids, buckets, memo, reader)
