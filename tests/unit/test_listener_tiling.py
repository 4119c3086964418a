"""How a range of days is tiled into listener blocks: exactly, with aligned blocks, and few of them."""

from datetime import date, timedelta

import pytest

from api.read.listener_blocks import ALBUM, ALL, DAY, MONTH, TRACK, WEEK, Ask, Block, Entity, tiling


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.parametrize("length", [1, 6, 7, 13, 30, 31, 62, 90, 365, 730])
@pytest.mark.parametrize("first", [date(2026, 1, 1), date(2026, 2, 23), date(2024, 2, 29), date(2026, 11, 6)])
def test_a_tiling_covers_the_range_once_with_aligned_blocks(first: date, length: int) -> None:
    last = first + timedelta(days=length - 1)
    blocks = tiling(first, last)
    covered = [day for b in blocks for day in days_of(b.start, b.last)]
    assert covered == days_of(first, last)  # every day once, in order
    for block in blocks:
        if block.grain == WEEK:
            assert block.start.weekday() == 0 and block.last == block.start + timedelta(days=6)
        elif block.grain == MONTH:
            assert block.start.day == 1 and (block.last + timedelta(days=1)).day == 1
        else:
            assert block.grain == DAY and block.start == block.last
    # Never more blocks than whole weeks and the days beside them need; a year takes few.
    assert len(blocks) <= length // 7 + 12
    if length >= 365:
        assert len(blocks) <= length // 30 + 20


def test_months_are_used_only_where_they_make_fewer_blocks() -> None:
    # 30 days from a Monday, across two months: four weeks and two days.
    assert [b.grain for b in tiling(date(2026, 6, 8), date(2026, 7, 7))] == [WEEK] * 4 + [DAY] * 2
    # A whole month that starts on a Thursday is one block.
    assert [b.grain for b in tiling(date(2026, 1, 1), date(2026, 1, 31))] == [MONTH]
    assert tiling(date(2026, 1, 2), date(2026, 1, 1)) == []


def test_a_track_reads_its_days_from_its_own_rows() -> None:
    first, last = date(2026, 11, 6), date(2026, 12, 5)
    blocks, days = Ask(Entity(TRACK, 1), (1,), first, last).blocks()
    assert all(b.grain in (WEEK, MONTH) for b in blocks)
    assert sorted([d for b in blocks for d in days_of(b.start, b.last)] + days) == days_of(first, last)
    album_blocks, album_days = Ask(Entity(ALBUM, 1), (1, 2), first, last).blocks()
    # The range's days but the last (a window), then the last day.
    assert album_days == [] and album_blocks == [
        *tiling(first, last - timedelta(days=1)),
        Block(DAY, last, last),
    ]
    all_time, none = Ask(Entity(ALBUM, 1), (1, 2)).blocks()
    assert [b.grain for b in all_time] == [ALL] and none == []
