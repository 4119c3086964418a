"""Where and how they listen, against the real engine: breakdowns by country, source and platform and
the listening figures, from the audience rollups and the day/quarter sums, equal the reference model's
count of the raw events, in UTC and in zones whose days start at :45 (Kathmandu) or :30 (St John's);
and a store upgraded with history gets them for the events it still holds."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from api.read import analytics_queries, audience_queries, local_day_queries
from api.read.figure_bodies import breakdown, listening
from insights.dev.generate import make_catalog, make_events
from insights.migrate import load_migrations
from insights.store import Store
from pipeline.rollups import TRACK_HOURLY, TRACK_REALTIME, TRACK_TOTALS, counter_rollup
from pipeline.sink import RollupSink, SourcedEvent
from schemas.audience import DIMENSIONS
from schemas.events import PLATFORMS, SOURCES, Event, validate_batch
from schemas.local_ranges import local_range
from schemas.periods import PeriodBounds
from tests.integration import reference
from tests.integration.written import as_posted, write_through_sink

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
TRACKS = (701, 702, 703)
ZONES = ("UTC", "Asia/Kathmandu", "America/St_Johns")
COUNTRIES = ("DE", "US", "NP", "IN", "CA", "FR", "BR", "JP", "GB", "KE", "AU", "MX")
AUDIENCE_TABLES = ("track_audience_daily", "track_audience_quarter")
TABLES = (
    "events",
    "event_keys",
    "track_daily",
    "track_totals",
    "track_hourly",
    "track_quarter",
    *AUDIENCE_TABLES,
)


def shown_breakdown(found: audience_queries.Breakdown) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.to_builtins(breakdown(found))
    return shown


def shown_listening(qualified_plays: int, total_ms: int, timed_plays: int) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.to_builtins(listening(qualified_plays, total_ms, timed_plays))
    return shown


def moments(rng: random.Random) -> list[datetime]:
    """A minute either side of each quarter-hour around the local midnights of every zone, over the
    last 40 days, plus random instants."""
    found: list[datetime] = []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        for back in range(0, 40, 3):
            day = TODAY - timedelta(days=back)
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
            for minutes in range(-45, 46, 15):
                found += [midnight + timedelta(minutes=minutes + d) for d in (-1, 0, 1)]
    found += [datetime.now(UTC) - timedelta(seconds=rng.randrange(40 * 86400)) for _ in range(600)]
    return [m for m in found if m < datetime.now(UTC)]


def audience_events(rng: random.Random) -> list[Event]:
    """Plays with and without each field (a skewed spread of countries, so ranks and ties both occur),
    plus likes and heartbeats that must not count."""
    events = []
    for n, moment in enumerate(moments(rng)):
        kind = rng.choices(("play", "like", "heartbeat"), weights=(8, 1, 1))[0]
        events.append(
            Event(
                event_id=f"audience-{n}",
                type=kind,  # type: ignore[arg-type]
                track_id=rng.choice(TRACKS),
                listener_id=f"fan-{rng.randrange(50)}",
                occurred_at=moment,
                listened_ms=rng.choice((None, 0, 12_000, 29_999, 30_000, 31_500, 240_001)),
                country=rng.choice((None, *COUNTRIES[: rng.randrange(1, len(COUNTRIES) + 1)])),
                source=rng.choice((None, *SOURCES)),  # type: ignore[arg-type]
                platform=rng.choice((None, *PLATFORMS)),  # type: ignore[arg-type]
            )
        )
    return events


def emptied(store: Store) -> Store:
    for table in TABLES:
        store.command(f"TRUNCATE TABLE {table}")
    return store


@pytest.fixture(scope="module")
def history(embedded_store: Store) -> tuple[Store, list[dict[str, Any]]]:
    store = emptied(embedded_store)
    events = audience_events(random.Random(23))
    write_through_sink(store, events)
    return store, as_posted(events)


RANGES = [(TODAY - timedelta(days=29), TODAY), (TODAY - timedelta(days=20), TODAY - timedelta(days=3))]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_breakdowns_count_every_play_of_the_range_by_value(
    history: tuple[Store, list[dict[str, Any]]], zone: str, dimension: str
) -> None:
    store, events = history
    for first, last in RANGES:
        chosen = local_range("custom", zone, first, last)
        for track_ids in ([701], list(TRACKS)):
            for limit in (1, 3, 10, 50):
                found = asyncio.run(audience_queries.breakdown(store, track_ids, dimension, chosen, limit))
                expected = reference.breakdown(events, track_ids, dimension, zone, first, last, limit)
                assert shown_breakdown(found) == expected, (track_ids, limit)


def test_other_counts_a_listener_of_several_values_once(history: tuple[Store, list[dict[str, Any]]]) -> None:
    store, _ = history
    chosen = local_range("custom", "UTC", *RANGES[0])
    found = asyncio.run(audience_queries.breakdown(store, list(TRACKS), "platform", chosen, 1))
    assert found.other.listeners < sum(
        r.listeners
        for r in asyncio.run(audience_queries.breakdown(store, list(TRACKS), "platform", chosen, 50)).rows[1:]
    )


@pytest.mark.parametrize("zone", ZONES)
def test_listening_counts_plays_of_30_seconds_and_the_time_listened(
    history: tuple[Store, list[dict[str, Any]]], zone: str
) -> None:
    store, events = history
    for first, last in RANGES:
        for track_ids, group in (([702], False), (list(TRACKS), True)):
            chosen = local_range("custom", zone, first, last)
            if zone == "UTC":  # the statements of the UTC figures
                bounds = PeriodBounds("custom", chosen.days, first, last)
                if group:
                    counted, _ = asyncio.run(analytics_queries.group_figures(store, track_ids, bounds))
                else:
                    counted = asyncio.run(analytics_queries.figures(store, track_ids, bounds))
            else:
                counted, _, _ = asyncio.run(local_day_queries.figures(store, track_ids, chosen, group=group))
            found = shown_listening(counted.qualified_plays, counted.listened_ms, counted.timed_plays)
            assert found == reference.listening(events, track_ids, zone, first, last)


def test_no_timed_play_has_no_average(embedded_store: Store) -> None:
    assert shown_listening(0, 0, 0) == {"qualified_plays": 0, "total_ms": 0, "avg_ms": None}
    assert shown_listening(1, 45_001, 2)["avg_ms"] == 22_501  # 22,500.5 rounds up


OLD_ROLLUPS = (
    TRACK_REALTIME,
    TRACK_HOURLY,
    counter_rollup("track_daily", ("day", "toDate(occurred_at)"), sketch=True),
    TRACK_TOTALS,
    counter_rollup("track_quarter", ("quarter", "toStartOfFifteenMinutes(occurred_at)")),
)


def test_an_upgraded_store_gets_the_breakdowns_and_listening_of_the_events_it_holds(
    embedded_store: Store,
) -> None:
    """Rollups built by the worker of before (no audience, no listening sums), then migration 013's
    statements: the stored events are in the new rollups and sums, exactly once; running it again
    changes nothing."""
    store = emptied(embedded_store)
    events = audience_events(random.Random(5))[:1500]
    old = RollupSink(store, OLD_ROLLUPS)
    old.claim(range(64), 10**9)
    old.flush([SourcedEvent(e, 0, n) for n, e in enumerate(events)])
    old.close()
    (migration,) = [m for m in load_migrations() if m.name == "013_audience.sql"]
    for _ in range(2):
        for statement in migration.statements:
            if not statement.startswith("ALTER"):
                store.command(statement)
    # The new worker goes on from the markers the migration left: nothing is counted twice.
    sink = RollupSink(store)
    sink.claim(range(64), 10**9 + 1)
    sink.recover([0])
    sink.close()
    expected = as_posted(events)
    first, last = TODAY - timedelta(days=39), TODAY
    for zone in ("UTC", "Asia/Kathmandu"):
        chosen = local_range("custom", zone, first, last)
        counted, _, _ = asyncio.run(local_day_queries.figures(store, list(TRACKS), chosen, group=True))
        if zone == "UTC":
            bounds = PeriodBounds("custom", chosen.days, first, last)
            counted, _ = asyncio.run(analytics_queries.group_figures(store, list(TRACKS), bounds))
        found = shown_listening(counted.qualified_plays, counted.listened_ms, counted.timed_plays)
        assert found == reference.listening(expected, list(TRACKS), zone, first, last)
        assert (
            counted.plays
            == reference.local_analytics(expected, list(TRACKS), zone, first, last)["plays"]["period"]
        )
        found_countries = asyncio.run(audience_queries.breakdown(store, list(TRACKS), "country", chosen, 5))
        assert shown_breakdown(found_countries) == reference.breakdown(
            expected, list(TRACKS), "country", zone, first, last, 5
        )
    since = asyncio.run(local_day_queries.Coverage(audience_queries.AUDIENCE_FROM_SQL).since(store))
    assert datetime.now(UTC) - timedelta(days=8) < since < datetime.now(UTC) - timedelta(days=7)
    store.command("TRUNCATE TABLE audience_from")  # the session's store is a new one again
    store.command("INSERT INTO audience_from VALUES (0)")


def test_the_demo_generators_traffic_fills_every_audience_panel(embedded_store: Store) -> None:
    """What `insights generate` (and so `insights up --demo`) sends, through the worker's sink: every
    dimension has ranked rows, a tail in `other` and plays in `unknown`, as the reference model counts."""
    now = datetime.now(UTC)
    rng = random.Random(5)
    catalog = make_catalog(36, rng)
    posted = list(make_events(catalog, 6000, rng, now, days=60))
    events, errors = validate_batch(posted, now)
    assert errors == [] and len(events) == len(posted)
    store = emptied(embedded_store)
    write_through_sink(store, events)
    track_ids = [t["track_id"] for t in catalog.tracks]
    chosen = local_range("custom", "UTC", TODAY - timedelta(days=29), TODAY)
    for dimension, limit in (("country", 10), ("source", 5), ("platform", 4)):
        found = shown_breakdown(
            asyncio.run(audience_queries.breakdown(store, track_ids, dimension, chosen, limit))
        )
        expected = reference.breakdown(
            as_posted(events), track_ids, dimension, "UTC", chosen.first, chosen.last, limit
        )
        assert found == expected
        assert len(found["rows"]) == limit and found["other"]["plays"] > 0 and found["unknown"]["plays"] > 0
    assert found["rows"][0]["value"] in ("android", "ios")
    listening = asyncio.run(local_day_queries.figures(store, track_ids, chosen))[0]
    assert 0 < listening.qualified_plays < listening.plays and listening.listened_ms > 0
