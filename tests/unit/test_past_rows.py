"""The rows of earlier days kept while unchanged (api/read/past_rows.py) and the chart memo's past
version, without the engine: notices applied by hand, reads counted."""

import asyncio
from datetime import date, timedelta

from api.read.changes import MAX_AGE_SECONDS, TrackChanges
from api.read.chart_queries import ChartMemo
from api.read.past_rows import PastRows
from schemas.changes import ChangeNotice

TODAY = date(2026, 12, 6)
DAY = (TODAY - date(1970, 1, 1)).days


class Reads:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> list[tuple[int]]:
        self.count += 1
        return [(self.count,)]


def following(current: list[bool]) -> TrackChanges:
    changes = TrackChanges(today=lambda: DAY)
    changes.follow_while(lambda: current[0])
    return changes


def test_rows_are_kept_until_a_notice_names_one_of_their_tracks_with_an_earlier_day() -> None:
    current, now = [True], [0.0]
    changes = following(current)
    past, read = PastRows(changes, clock=lambda: now[0]), Reads()

    def ask(tracks: tuple[int, ...] = (1, 2)) -> list[tuple[int]]:
        version = past.version(tracks, TODAY)
        assert version is not None
        return asyncio.run(past.rows(("k", tracks), version, read))

    assert ask() == ask() == [(1,)]
    changes.apply(ChangeNotice(tracks=(1, 2), days=(DAY, DAY)))  # today's plays
    assert ask() == [(1,)]
    changes.apply(ChangeNotice(tracks=(2,), days=(DAY - 3,)))  # a late play
    assert ask() == ask() == [(2,)]
    now[0] = MAX_AGE_SECONDS  # never kept longer than the answers are
    assert ask() == [(3,)]
    assert past.version((1,), TODAY + timedelta(days=1)) is None  # a range ending after today
    current[0] = False
    assert past.version((1,), TODAY) is None  # the feed is behind
    assert PastRows(None).version((1,), TODAY) is None


def test_rows_not_to_be_kept_are_read_again() -> None:
    past, read = PastRows(following([True])), Reads()
    version = past.version((1,), TODAY)
    assert version is not None
    for expected in (1, 2):
        assert asyncio.run(past.rows("k", version, read, keep=lambda rows: False)) == [(expected,)]


def test_a_chart_kept_says_its_past_version_while_young() -> None:
    now = [0.0]
    memo = ChartMemo(clock=lambda: now[0])
    key = ("day", "UTC", (1,))
    assert memo.recall_read(key) == (None, {})
    memo.keep(key, {10: ((1, 0, 0), 1)}, version=7)
    assert memo.recall_read(key) == (7, {10: ((1, 0, 0), 1)})
    now[0] = MAX_AGE_SECONDS
    assert memo.recall_read(key) == (None, {10: ((1, 0, 0), 1)})  # its buckets' sums checked again
