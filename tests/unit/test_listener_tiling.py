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


def test_sums_added_to_kept_ones_leave_those_as_they_were() -> None:
    from api.read.listener_blocks import BlockSums

    day, today = date(2026, 12, 4), date(2026, 12, 5)
    album = Ask(Entity(ALBUM, 9), (1, 2), date(2026, 12, 3), today)
    # source 0: a track's rows by block start, with their likes, reposts, qualified plays, listened ms
    # and timed plays; 1: a block's own; 3: a window's own (kind, grain=exact).
    none = (0, 0, 0, 0, 0)
    kept = BlockSums(
        [
            (0, 1, 0, 0, day, date(1970, 1, 1), 5, 50, 0, 1, 2, 3, 4_000, 5),
            (0, 2, 0, 0, day, date(1970, 1, 1), 1, 10, 0, *none),
            (3, 9, ALBUM, 0, date(2026, 12, 3), day, 6, 60, 1234, *none),
        ]
    )
    now = [
        (0, 1, 0, 0, today, date(1970, 1, 1), 2, 20, 0, *none),
        (0, 1, 0, 0, day, date(1970, 1, 1), 1, 7, 0, 0, 0, 1, 60_000, 1),  # a late play: adds up
        (1, 9, ALBUM, DAY, today, date(1970, 1, 1), 2, 20, 0, *none),
    ]
    both = BlockSums(now, base=kept)
    assert both.tracks[1, day] == (6, 57) and both.tracks[1, today] == (2, 20)
    assert both.counters[1, day] == (6, 1, 2, 4, 64_000, 6)
    assert kept.counters[1, day] == (5, 1, 2, 3, 4_000, 5)  # as it was
    assert both.ranged([1, 2], day, today) == {1: (8, 1, 2, 4, 64_000, 6), 2: (1, 0, 0, 0, 0, 0)}
    assert both.ranged([2], today, today) == {}
    assert both.sound(album, Block(DAY, today, today)) and both.built == kept.built
    assert not both.window_sound(album)  # the late play is not in the kept window
    assert kept.tracks == {(1, day): (5, 50), (2, day): (1, 10)} and kept.blocks == {}
    assert kept.window_sound(album)


def test_kept_sums_are_kept_parsed_and_weighed_by_their_rows() -> None:
    import asyncio

    from api.read.listener_blocks import BlockSums
    from api.read.past_rows import PastRows

    rows = [(0, 1, 0, 0, date(2026, 12, 4), date(1970, 1, 1), 5, 50, 0, 0, 0, 0, 0, 0)]
    parsed: list[BlockSums] = []

    async def read() -> BlockSums:
        parsed.append(BlockSums(rows))
        return parsed[-1]

    past = PastRows(None, max_rows=2)
    first = asyncio.run(past.rows("sums", 0, read))
    assert asyncio.run(past.rows("sums", 0, read)) is first and len(parsed) == 1  # parsed once
    assert len(first) == 1  # its weight: one row
    asyncio.run(past.rows("other", 0, read))  # 1 + 1 rows and 1 + 1 more: past the bound of 2
    assert asyncio.run(past.rows("sums", 0, read)) is not first
