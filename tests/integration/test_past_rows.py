"""The rows of the days before today kept while the change notices say they are unchanged
(api/read/past_rows.py), against the real engine: the notices are applied by hand, as the change feed
applies what it reads. Every answer is the one a read without them gives, a change to today's rows
only reads today again, and a play on an earlier day, once announced, has the past read again."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.read import analytics_queries, chart_queries
from api.read.analytics_queries import Audiences, group_figures
from api.read.analytics_queries import figures as figures_of
from api.read.changes import TrackChanges
from api.read.chart_queries import chart
from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Ask, Entity, block_sums, merged
from api.read.past_rows import PastRows
from insights.store import Store
from schemas.changes import ChangeNotice
from schemas.periods import chart_buckets, period_bounds
from tests.integration.statements import Statements
from tests.integration.test_listener_blocks import (
    ALBUM_ID,
    ARTIST_ID,
    NOW,
    RANGES,
    TODAY,
    exact_of,
    history,
    of_tracks,
    play,
    settled,
)
from tests.integration.written import write_through_sink as flush

pytestmark = pytest.mark.integration

TODAY_NUMBER = (TODAY - datetime(1970, 1, 1, tzinfo=UTC).date()).days


def following() -> TrackChanges:
    changes = TrackChanges(today=lambda: TODAY_NUMBER)
    changes.follow_while(lambda: True)
    return changes


def announced(changes: TrackChanges, track: int, at: datetime) -> None:
    """The worker's notice of a flush holding one event of `track` at `at`."""
    day = (at.date() - datetime(1970, 1, 1, tzinfo=UTC).date()).days
    changes.apply(ChangeNotice(tracks=(track,), days=(day,)))


def past_read(statements: Statements) -> bool:
    """Whether the last reads ran a statement over the days before today."""
    return any(p.get("last") == TODAY - timedelta(days=1) for _, p in statements.run) or any(
        p.get("today") == TODAY - timedelta(days=1) for _, p in statements.run
    )


def test_listeners_read_the_past_once_until_a_play_on_an_earlier_day_is_announced(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(clean_store)
    changes = following()
    past = PastRows(changes)
    first, last = RANGES[1]
    asks = [
        Ask(Entity(ALBUM, ALBUM_ID), (1, 2), first, last),
        Ask(Entity(TRACK, 1), (1,), first, last, exact=True),
        Ask(Entity(ARTIST, ARTIST_ID), (1, 2, 3), None, None),
    ]

    def expected() -> list[int]:
        return [
            of_tracks(clean_store, [1, 2], first, last),
            exact_of(clean_store, [1], first, last),
            of_tracks(clean_store, [1, 2, 3], None),
        ]

    async def reading() -> list[int]:
        return await merged(clean_store, asks, await block_sums(clean_store, asks, past))

    statements = Statements(clean_store, monkeypatch)
    for _ in range(2):  # the first builds the windows: the past is kept once they are sound
        assert settled(reading()) == expected()
    statements.run.clear()
    assert settled(reading()) == expected()
    assert not past_read(statements)

    # Today's play: only today is read again.
    flush(clean_store, [play("today", 1, "today-listener", NOW)], first_offset=8 * 10**6)
    announced(changes, 1, NOW)
    statements.run.clear()
    assert settled(reading()) == expected()
    assert not past_read(statements)

    # A late play on a day of the window, announced with its day: the past is read again.
    late = NOW - timedelta(days=3)
    flush(clean_store, [play("late", 1, "newcomer", late)], first_offset=9 * 10**6)
    announced(changes, 1, late)
    statements.run.clear()
    assert settled(reading()) == expected()
    assert past_read(statements)

    # Kept windows leave memory (the newest 256 stay): asks trusting them are read again.
    for _ in range(2):
        settled(reading())
    clean_store.command("TRUNCATE TABLE kept_windows")
    assert settled(reading()) == expected()


@pytest.mark.parametrize("all_time_sketched", [True, False])
def test_figures_split_at_today_are_those_read_whole(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch, all_time_sketched: bool
) -> None:
    """The sets past a lowered mark, so their range figures are sums and their range listeners come
    from blocks: with the past kept, a track's, the album's and the artist's figures (and the album's
    tracks) are those read whole, before and after plays today and on an earlier day. With all time
    sketched too, every range figure comes from the listener sums, split at today; with tracks of
    history from before the sketches (all time counted exactly), from the figures statement split at
    today."""
    monkeypatch.setattr(analytics_queries, "SKETCH_ABOVE", 500)
    history(clean_store)
    if not all_time_sketched:
        clean_store.command("INSERT INTO unsketched_tracks VALUES (1), (2), (3)")
    bounds = period_bounds("30-days", NOW)
    changes = following()
    past = PastRows(changes)
    split, whole = Audiences(), Audiences()

    def both() -> tuple[Any, Any]:
        read: list[Any] = []
        for audiences, kept in ((split, past), (whole, None)):
            read.append(
                (
                    settled(figures_of(clean_store, [1], bounds, audiences, Entity(TRACK, 1), kept)),
                    settled(
                        group_figures(
                            clean_store, [1, 2], bounds, audiences, Entity(ALBUM, ALBUM_ID), 2, kept
                        )
                    ),
                    settled(
                        group_figures(
                            clean_store, [1, 2, 3], bounds, audiences, Entity(ARTIST, ARTIST_ID), 3, kept
                        )
                    ),
                )
            )
        return read[0], read[1]

    for _ in range(3):  # the first counts teach the marks; then the figures are sums
        kept, read_whole = both()
        assert kept == read_whole
    assert split.mode((1, 2), bounds) == analytics_queries.Mode(all_time_sketched, True, True)
    statements = Statements(clean_store, monkeypatch)
    kept, read_whole = both()
    assert kept == read_whole
    figures_statements = [p for _, p in statements.run if "sketch_from" in p]
    sums_of_today = [p for _, p in statements.run if p.get("day_tracks") and p.get("first") == TODAY]
    # With the past kept, today's part alone: of the sums, and of the figures statements if any run.
    split_figures = sorted({tuple(p["track_ids"]) for p in figures_statements if p["sketch_from"] == TODAY})
    assert split_figures == ([] if all_time_sketched else [(1,), (1, 2), (1, 2, 3)]) and sums_of_today

    flush(clean_store, [play("today", 2, "today-listener", NOW)], first_offset=8 * 10**6)
    announced(changes, 2, NOW)
    kept, read_whole = both()
    assert kept == read_whole and kept[1][0].plays == read_whole[1][0].plays

    late = NOW - timedelta(days=40)  # in the previous period
    flush(clean_store, [play("late", 3, "newcomer", late)], first_offset=9 * 10**6)
    announced(changes, 3, late)
    kept, read_whole = both()
    assert kept == read_whole


def test_charts_take_their_closed_buckets_as_kept_while_no_earlier_day_changes(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Day and week charts asked again count the bucket holding now and read no sums of the others
    while the notices name no earlier day; their points are those a chart counted whole gives, before
    and after plays today and on an earlier day. Hour charts (whose closed buckets are today's) read
    the sums as before."""
    monkeypatch.setattr(chart_queries, "RECOUNT_BELOW", 0)  # the memo kept for any chart
    history(clean_store)
    changes = following()
    past = PastRows(changes)
    memo = chart_queries.ChartMemo(recount_below=0)
    artist = Entity(ARTIST, ARTIST_ID)

    def charts(kept: PastRows | None) -> list[Any]:
        found = []
        for timeframe in ("30d", "1y", "7d"):
            buckets = chart_buckets(timeframe, NOW)
            with_memo = memo if kept is not None else chart_queries.ChartMemo(recount_below=0)
            found.append(settled(chart(clean_store, [1, 2, 3], buckets, with_memo, entity=artist, past=kept)))
        return found

    statements = Statements(clean_store, monkeypatch)

    def compared() -> int:
        """Asserts the charts with the past kept are those counted whole; how many of the former
        read the sums of buckets not counted."""
        statements.run.clear()
        kept = charts(past)
        sums_read = sum("0 AS counted" in sql for sql, _ in statements.run)
        assert kept == charts(None)
        return sums_read

    compared()
    assert compared() == 1  # the hour chart's only: the others count the bucket holding now alone
    flush(clean_store, [play("today", 1, "today-listener", NOW)], first_offset=8 * 10**6)
    announced(changes, 1, NOW)
    assert compared() == 1
    late = NOW - timedelta(days=10)
    flush(clean_store, [play("late", 3, "newcomer", late)], first_offset=9 * 10**6)
    announced(changes, 3, late)
    assert compared() == 3  # the sums read again, the late play's buckets counted again
    assert compared() == 1


def test_a_chart_sharing_its_memo_with_a_shorter_one_takes_the_buckets_another_ask_kept(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 90-day chart after the 30-day one (the same day buckets, one memo entry): the days the memo
    lacks but an earlier ask kept in the store are taken from there, with their sums read."""
    monkeypatch.setattr(chart_queries, "RECOUNT_BELOW", 0)
    history(clean_store)
    past, artist = PastRows(following()), Entity(ARTIST, ARTIST_ID)
    month, quarter = chart_buckets("30d", NOW), chart_buckets("90d", NOW)

    def asked(buckets: Any, memo: chart_queries.ChartMemo, kept: PastRows | None = past) -> Any:
        return settled(chart(clean_store, [1, 2, 3], buckets, memo, entity=artist, past=kept))

    whole = asked(quarter, chart_queries.ChartMemo(recount_below=0), None)  # keeps its closed days
    memo = chart_queries.ChartMemo(recount_below=0)
    asked(month, memo)
    assert asked(quarter, memo) == whole
    assert asked(quarter, memo) == whole
