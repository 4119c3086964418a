"""All-time listeners from sketches, against the real engine: only for sets of tracks whose exact count
has passed SKETCH_ABOVE, within 1 % of it, and never for a set holding a track with older history."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.read.analytics_queries import (
    EXACT,
    FIGURES_SQL,
    GROUP_FIGURES_SQL,
    SKETCH_ABOVE,
    UNSKETCHED_SQL,
    Audiences,
    Figures,
    Mode,
    figures,
    group_figures,
)
from insights.migrate import load_migrations
from insights.store import Store
from schemas.events import Event
from schemas.periods import period_bounds
from tests.integration.statements import Statements
from tests.integration.written import write_through_sink as flush

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
BOUNDS = period_bounds("30-days", NOW)
LARGE, SMALL = 9, 10
AUDIENCE = SKETCH_ABOVE + 1_000


def plays(track: int, listeners: range, days: int = 40) -> list[Event]:
    return [
        Event(
            event_id=f"{track}-{n}",
            type="play",
            track_id=track,
            listener_id=f"listener-{n}",
            occurred_at=NOW - timedelta(days=n % days),
        )
        for n in listeners
    ]


def track_figures(store: Store, audiences: Audiences | None) -> Figures:
    return asyncio.run(figures(store, [LARGE], BOUNDS, audiences))


def group(store: Store, audiences: Audiences | None) -> Figures:
    return asyncio.run(group_figures(store, [LARGE, SMALL], BOUNDS, audiences))[0]


def test_a_large_audience_reads_its_sketch_once_counted_past_the_threshold(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The small track shares its listeners with the large one: the group's audience is the large one's.
    flush(clean_store, plays(LARGE, range(AUDIENCE)) + plays(SMALL, range(0, AUDIENCE, 50)))
    exact_track, exact_group = track_figures(clean_store, None), group(clean_store, None)
    assert exact_track.listeners_total == exact_group.listeners_total == AUDIENCE

    audiences = Audiences()
    statements = Statements(clean_store, monkeypatch)
    assert track_figures(clean_store, audiences) == exact_track
    assert group(clean_store, audiences) == exact_group
    assert statements.sql == [
        FIGURES_SQL[EXACT, False],
        UNSKETCHED_SQL,
        GROUP_FIGURES_SQL[EXACT, False],
        UNSKETCHED_SQL,
    ]

    statements.run.clear()
    sketched_track, sketched_group = track_figures(clean_store, audiences), group(clean_store, audiences)
    assert statements.sql == [
        FIGURES_SQL[Mode(all_time=True), False],
        GROUP_FIGURES_SQL[Mode(all_time=True), False],
    ]
    for sketched, exact in ((sketched_track, exact_track), (sketched_group, exact_group)):
        assert abs(sketched.listeners_total - AUDIENCE) <= AUDIENCE / 100
        assert vars(sketched) == vars(exact) | {"listeners_total": sketched.listeners_total}

    # A set holding a track whose history predates the sketches is always counted exactly.
    clean_store.command(f"INSERT INTO unsketched_tracks VALUES ({SMALL})")
    audiences = Audiences()
    statements.run.clear()
    for _ in range(2):
        assert group(clean_store, audiences) == exact_group
    assert statements.sql == [
        GROUP_FIGURES_SQL[EXACT, False],
        UNSKETCHED_SQL,
        GROUP_FIGURES_SQL[EXACT, False],
    ]


def test_a_small_audience_is_always_counted_exactly(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    flush(clean_store, plays(SMALL, range(500)))
    audiences = Audiences()
    statements = Statements(clean_store, monkeypatch)
    for _ in range(2):
        assert asyncio.run(figures(clean_store, [SMALL], BOUNDS, audiences)).listeners_total == 500
    assert statements.sql == [FIGURES_SQL[EXACT, False], FIGURES_SQL[EXACT, False]]


def test_the_migration_lists_the_tracks_with_history_before_the_sketches(clean_store: Store) -> None:
    flush(clean_store, plays(SMALL, range(5)))
    (migration,) = [m for m in load_migrations() if m.version == 8]
    for statement in migration.statements:  # rerunning it is safe: the list only grows
        clean_store.command(statement)
    assert clean_store.query_rows("SELECT track_id FROM unsketched_tracks FINAL") == [(SMALL,)]
