"""Local days of any zone against the real engine: figures and charts from the day and quarter-hour
rollups equal the reference model's count of the raw events, for events placed around local midnights,
DST transitions and the quarter-hours of +5:30, +5:45 and -3:30 offsets."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.read import local_day_queries
from api.read.chart_queries import ChartMemo
from insights.store import Store
from schemas.events import Event
from schemas.local_ranges import buckets_of, local_range, rfc3339_local
from tests.integration import reference
from tests.integration.written import as_posted, figures_shown, write_through_sink

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
# The day before today in UTC: every case's last day has ended in every zone (local dates trail UTC's by
# at most 12 hours), so no chart is cut short at the clock, whenever the suite runs.
TODAY = (NOW - timedelta(days=1)).date()
# (zone, first, last): ranges over a DST day of 23 hours, one of 25, a fall-back night, and plain days of
# offsets that are not whole hours. Past dates within the 400 days an event may be late.

CASES = [
    ("Asia/Kolkata", TODAY - timedelta(days=40), TODAY - timedelta(days=10)),
    ("Asia/Kathmandu", TODAY - timedelta(days=12), TODAY - timedelta(days=6)),
    ("America/St_Johns", TODAY - timedelta(days=3), TODAY - timedelta(days=1)),
    ("Australia/Lord_Howe", TODAY - timedelta(days=20), TODAY - timedelta(days=2)),
]
TRACKS = (501, 502)


def transitions(zone: str, first: date, last: date) -> list[datetime]:
    """The instants in [first - span, last] where the zone's offset changes, found hour by hour."""
    tz = ZoneInfo(zone)
    moment = datetime.combine(first - timedelta(days=(last - first).days + 2), datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC)
    found = []
    while moment < end:
        if moment.astimezone(tz).utcoffset() != (moment + timedelta(minutes=15)).astimezone(tz).utcoffset():
            found.append(moment + timedelta(minutes=15))
        moment += timedelta(minutes=15)
    return found


def dst_cases() -> list[tuple[str, date, date]]:
    """Europe/Berlin's last spring-forward (23 h) and fall-back (25 h) days, America/New_York's last
    fall-back night, each with a day either side."""
    cases = []
    for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe"):
        for moment in transitions(zone, TODAY - timedelta(days=380), TODAY - timedelta(days=3)):
            day = moment.astimezone(ZoneInfo(zone)).date()
            cases.append((zone, day - timedelta(days=1), day + timedelta(days=1)))
    return cases


def events_around(zone: str, first: date, last: date, rng: random.Random) -> list[Event]:
    """Events a minute either side of every local midnight and every quarter-hour of the local day's
    first and last hours, and of each DST transition, in the range and the period before it."""
    tz = ZoneInfo(zone)
    span = (last - first).days + 1
    moments: list[datetime] = []
    day = first - timedelta(days=span)
    while day <= last + timedelta(days=1):
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        moments += [midnight + timedelta(minutes=m) for m in range(-75, 76, 15)]
        moments.append(midnight + timedelta(hours=rng.randrange(24), minutes=rng.randrange(60)))
        day += timedelta(days=1)
    for moment in transitions(zone, first, last):
        moments += [moment + timedelta(minutes=m) for m in range(-120, 121, 15)]
    events = []
    for n, moment in enumerate(moments):
        for delta in (timedelta(minutes=-1), timedelta(0), timedelta(minutes=1)):
            events.append(
                Event(
                    event_id=f"{zone}-{first}-{n}-{delta.total_seconds()}",
                    type=rng.choice(("play", "play", "play", "like", "repost")),
                    track_id=rng.choice(TRACKS),
                    listener_id=f"listener-{rng.randrange(40)}",
                    occurred_at=moment + delta,
                )
            )
    return events


@pytest.fixture(scope="module")
def history(embedded_store: Store) -> tuple[Store, list[dict[str, Any]]]:
    store = embedded_store
    for table in ("events", "event_keys", "track_daily", "track_totals", "track_hourly", "track_quarter"):
        store.command(f"TRUNCATE TABLE {table}")
    rng = random.Random(22)
    events = [e for case in CASES + dst_cases() for e in events_around(*case, rng)]
    events = [e for e in events if e.occurred_at > NOW - timedelta(days=399)]
    write_through_sink(store, events)
    return store, as_posted(events)


def figures_of(store: Store, track_ids: list[int], zone: str, first: date, last: date) -> dict[str, Any]:
    chosen = local_range("custom", zone, first, last)
    counted, _, _ = asyncio.run(local_day_queries.figures(store, track_ids, chosen))
    return figures_shown(counted)


@pytest.mark.parametrize("case", CASES + dst_cases(), ids=lambda c: f"{c[0]}:{c[1]}")
def test_local_days_count_every_event_of_their_own_day(
    history: tuple[Store, list[dict[str, Any]]], case: tuple[str, date, date]
) -> None:
    store, events = history
    zone, first, last = case
    for track_ids in ([501], [501, 502]):
        expected = reference.local_analytics(events, track_ids, zone, first, last)
        assert figures_of(store, track_ids, zone, first, last) == expected


@pytest.mark.parametrize("interval", ["hour", "day", "week", "month"])
@pytest.mark.parametrize("case", CASES + dst_cases(), ids=lambda c: f"{c[0]}:{c[1]}")
def test_local_chart_buckets_are_whole_local_units(
    history: tuple[Store, list[dict[str, Any]]], case: tuple[str, date, date], interval: str
) -> None:
    store, events = history
    zone, first, last = case
    if interval == "hour" and (last - first).days >= 31:
        pytest.skip("hour charts cover at most 31 days")
    chosen = buckets_of(local_range("custom", zone, first, last), interval, "custom", NOW)
    memo = ChartMemo(recount_below=0)
    for _ in range(2):  # counted whole, then again from the memo's kept buckets
        points = asyncio.run(local_day_queries.chart(store, [501, 502], chosen, memo))
        series = [
            {"t": rfc3339_local(p.t, zone), "plays": p.plays, "listeners": p.listeners}
            | {"likes": p.likes, "reposts": p.reposts}
            for p in points
        ]
        assert series == reference.local_chart(events, [501, 502], zone, first, last, interval)


@pytest.mark.parametrize(
    "zone", ["Asia/Kathmandu", "America/St_Johns", "Europe/Berlin", "Australia/Lord_Howe"]
)
def test_the_engine_and_python_agree_on_every_local_day_week_and_month_of_a_year(
    embedded_store: Store, zone: str
) -> None:
    tz = ZoneInfo(zone)
    start = datetime.combine(TODAY - timedelta(days=366), datetime.min.time(), UTC)
    quarters = [start + timedelta(minutes=15 * i) for i in range(366 * 96)]
    for interval in ("day", "week", "month"):
        unit = local_day_queries._UNITS[interval].format(t="toDateTime(q, 'UTC')")
        sql = f"SELECT {unit} FROM (SELECT arrayJoin({{qs:Array(Int64)}}) AS q)"
        parameters = {"qs": [int(q.timestamp()) for q in quarters], "tz": zone}
        engine = [int(r[0]) for r in embedded_store.query_rows(sql, parameters)]
        python = [int(reference.local_unit(q, interval, tz).timestamp()) for q in quarters]
        assert engine == python, interval
