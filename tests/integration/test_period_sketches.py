"""A period's listeners from the day sketches, against the real engine: only once the set's exact count
over those very days has passed SKETCH_ABOVE, within 1 % of it, with every other figure exact, the
group's smaller tracks still counted exactly, and never for days before the sketches began."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from api.read.analytics_queries import (
    EXACT,
    FIGURES_SQL,
    GROUP_FIGURES_SQL,
    SKETCH_ABOVE,
    SKETCHES_FROM_SQL,
    UNSKETCHED_SQL,
    Audiences,
    Figures,
    Mode,
    TrackPeriod,
    figures,
    group_figures,
)
from insights.migrate import load_migrations
from insights.store import Store
from schemas.events import Event
from schemas.periods import period_bounds
from tests.integration.statements import Statements
from tests.integration.written import write_through_sink as flush
from tests.utc_days import on_utc_days

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
BOUNDS = period_bounds("30-days", NOW)
LARGE, SMALL = 21, 22
AUDIENCE = SKETCH_ABOVE + 1_000
SKETCHED = Mode(all_time=True, previous=True, period=True)


def plays(track: int, listeners: range, days: range) -> list[Event]:
    """One play by each listener, on the days ago of `days` in turn."""
    return [
        Event(
            event_id=f"{track}-{n}-{days.start}",
            type="play",
            track_id=track,
            listener_id=f"listener-{n}",
            occurred_at=NOW - timedelta(days=days[n % len(days)]),
        )
        for n in listeners
    ]


def history(store: Store) -> None:
    """The large track: AUDIENCE listeners in the period (days 0-9 ago) and AUDIENCE others in the
    previous one (35-44 days ago); the small track: 2,000 of the period's listeners, and a like."""
    flush(
        store,
        plays(LARGE, range(AUDIENCE), range(10))
        + plays(LARGE, range(AUDIENCE, 2 * AUDIENCE), range(35, 45))
        + plays(SMALL, range(0, 2_000 * 50, 50), range(3))
        + [Event(event_id="like", type="like", track_id=SMALL, listener_id="x", occurred_at=NOW)],
    )


def track(store: Store, audiences: Audiences | None) -> Figures:
    return asyncio.run(figures(store, [LARGE], BOUNDS, audiences))


def group(store: Store, audiences: Audiences | None) -> tuple[Figures, dict[int, TrackPeriod]]:
    return asyncio.run(group_figures(store, [LARGE, SMALL], BOUNDS, audiences))


def near(estimate: int, exact: int) -> bool:
    return abs(estimate - exact) <= exact / 100


def assert_estimated(sketched: Figures, exact: Figures) -> None:
    """The three listener figures within 1 %, everything else exactly the same."""
    for name in ("listeners_total", "listeners", "previous_listeners"):
        assert near(getattr(sketched, name), getattr(exact, name)), name
    listeners = {n: getattr(sketched, n) for n in ("listeners_total", "listeners", "previous_listeners")}
    assert vars(sketched) == vars(exact) | listeners


def test_a_period_counted_past_the_threshold_reads_its_day_sketches_from_then_on(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    exact = track(clean_store, None)
    assert (exact.listeners, exact.previous_listeners, exact.listeners_total) == (
        AUDIENCE,
        AUDIENCE,
        2 * AUDIENCE,
    )

    audiences = Audiences()
    statements = Statements(clean_store, monkeypatch)
    assert track(clean_store, audiences) == exact  # the first count is exact, and teaches the marks
    assert statements.sql == [FIGURES_SQL[EXACT, False], UNSKETCHED_SQL, SKETCHES_FROM_SQL]

    statements.run.clear()
    sketched = track(clean_store, audiences)
    assert statements.sql == [FIGURES_SQL[SKETCHED, False]]
    assert_estimated(sketched, exact)

    # New listeners on the period's closed days (late events) are in the next answer.
    late = plays(LARGE, range(2 * AUDIENCE, 2 * AUDIENCE + 5_000), range(1, 29))
    flush(clean_store, late, first_offset=10_000_000)
    grown = track(clean_store, audiences)
    assert near(grown.listeners, AUDIENCE + 5_000) and grown.plays == exact.plays + 5_000
    assert grown.previous_listeners == sketched.previous_listeners


def test_a_group_estimates_its_large_tracks_and_counts_its_small_ones_exactly(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    exact, exact_tracks = group(clean_store, None)
    assert exact.listeners == AUDIENCE and exact_tracks[SMALL] == TrackPeriod(SMALL, 2_000, 2_000)

    audiences = Audiences()
    statements = Statements(clean_store, monkeypatch)
    assert group(clean_store, audiences) == (exact, exact_tracks)
    statements.run.clear()
    sketched, sketched_tracks = group(clean_store, audiences)
    assert statements.sql == [GROUP_FIGURES_SQL[SKETCHED, False]]
    # The large track was learnt from its line in the group's first answer.
    assert (statements.run[0][1]["exact_tracks"], statements.run[0][1]["sketched_tracks"]) == (
        [SMALL],
        [LARGE],
    )
    assert_estimated(sketched, exact)
    assert sketched_tracks[SMALL] == exact_tracks[SMALL]
    assert sketched_tracks[LARGE].plays == exact_tracks[LARGE].plays
    assert near(sketched_tracks[LARGE].listeners, exact_tracks[LARGE].listeners)

    # So its own analytics read the period from sketches too.
    statements.run.clear()
    assert near(track(clean_store, audiences).listeners, AUDIENCE)
    assert statements.run[0][0] == FIGURES_SQL[Mode(all_time=False, previous=False, period=True), False]


def test_a_small_period_and_days_before_the_sketches_are_always_counted_exactly(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    statements = Statements(clean_store, monkeypatch)
    audiences, week = Audiences(), period_bounds("7-days", NOW)  # 7 of the large track's 10 days
    for _ in range(2):
        assert asyncio.run(figures(clean_store, [LARGE], week, audiences)).listeners == AUDIENCE * 7 // 10
    assert audiences.mode((LARGE,), week) == Mode(all_time=True)  # 206,000 all-time listeners
    assert SKETCHES_FROM_SQL not in statements.sql

    # An install upgraded today has day sketches from tomorrow on: no period here may use them.
    clean_store.command("INSERT INTO daily_sketches_from VALUES (toDate(now(), 'UTC') + 1)")
    try:
        audiences, exact = Audiences(), track(clean_store, None)
        statements.run.clear()
        for _ in range(2):
            answer = track(clean_store, audiences)
            assert (answer.listeners, answer.previous_listeners) == (
                exact.listeners,
                exact.previous_listeners,
            )
        assert statements.sql == [
            FIGURES_SQL[EXACT, False],
            UNSKETCHED_SQL,
            SKETCHES_FROM_SQL,
            FIGURES_SQL[Mode(True), False],
        ]
    finally:
        clean_store.command("TRUNCATE TABLE daily_sketches_from")
        clean_store.command("INSERT INTO daily_sketches_from VALUES ('1970-01-01')")


def test_the_migration_starts_the_sketches_tomorrow_when_days_have_rows(clean_store: Store) -> None:
    (migration,) = [m for m in load_migrations() if m.version == 9]
    try:
        for statement in migration.statements:  # no day has rows: every day is sketched
            clean_store.command(statement)
        assert clean_store.query_rows(SKETCHES_FROM_SQL) == [(date(1970, 1, 1),)]
        flush(clean_store, plays(SMALL, range(5), range(1)))
        # Rerunning it later only moves the first day on, to the day after the one it ran on.
        _, days = on_utc_days(lambda: [clean_store.command(statement) for statement in migration.statements])
        ((first,),) = clean_store.query_rows(SKETCHES_FROM_SQL)
        assert first - timedelta(days=1) in days
    finally:
        clean_store.command("TRUNCATE TABLE daily_sketches_from")
        clean_store.command("INSERT INTO daily_sketches_from VALUES ('1970-01-01')")
