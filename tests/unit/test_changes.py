"""The memo of answers kept while their tracks are unchanged (api/read/changes.py), without Kafka: the
notices are applied by hand, as the feed applies what it reads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
import pytest

from api.read.changes import AnswerMemo, TrackChanges
from insights.metrics import KEPT_ANSWERS
from schemas.changes import MAX_NAMED_TRACKS, ChangeNotice, decode_notice, encode_notice


class Counting:
    """A computation that answers how many times it ran."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> int:
        self.runs += 1
        return self.runs


def following(current: Callable[[], bool] = lambda: True) -> TrackChanges:
    changes = TrackChanges()
    changes.follow_while(current)
    return changes


def ask(memo: AnswerMemo, key: str, tracks: tuple[int, ...], compute: Counting) -> int:
    return asyncio.run(memo.answer(key, tracks, compute))


def test_an_answer_is_kept_while_none_of_its_tracks_changes() -> None:
    changes = following()
    memo, compute = AnswerMemo(changes), Counting()
    assert [ask(memo, "album", (1, 2), compute) for _ in range(3)] == [1, 1, 1]
    changes.apply(ChangeNotice(tracks=(3, 4)))  # other tracks
    assert ask(memo, "album", (1, 2), compute) == 1
    changes.apply(ChangeNotice(tracks=(2,)))
    assert ask(memo, "album", (1, 2), compute) == 2
    assert ask(memo, "album", (1, 2), compute) == 2


def test_a_notice_naming_no_track_in_particular_drops_every_answer() -> None:
    changes = following()
    memo, compute = AnswerMemo(changes), Counting()
    ask(memo, "track", (1,), compute)
    changes.apply(ChangeNotice(everything=True))
    assert ask(memo, "track", (1,), compute) == 2


def test_nothing_is_kept_or_served_while_the_feed_is_not_current() -> None:
    current = [False]
    changes = following(lambda: current[0])
    memo, compute = AnswerMemo(changes), Counting()
    assert changes.version((1,)) is None
    assert [ask(memo, "track", (1,), compute) for _ in range(2)] == [1, 2]
    current[0] = True
    assert [ask(memo, "track", (1,), compute) for _ in range(2)] == [3, 3]
    current[0] = False  # e.g. the broker went silent: a notice may be on its way
    assert ask(memo, "track", (1,), compute) == 4


def served(how: str) -> float:
    return float(KEPT_ANSWERS.labels(served=how)._value.get())


def test_the_metric_counts_how_answers_were_served() -> None:
    current = [False]
    memo, compute = AnswerMemo(following(lambda: current[0])), Counting()
    before = {how: served(how) for how in ("kept", "computed", "unfollowed")}
    ask(memo, "track", (1,), compute)
    current[0] = True
    for _ in range(3):
        ask(memo, "track", (1,), compute)
    assert {how: served(how) - before[how] for how in before} == {"kept": 2, "computed": 1, "unfollowed": 1}


def test_without_a_feed_every_answer_is_computed() -> None:
    memo, compute = AnswerMemo(None), Counting()
    assert [ask(memo, "track", (1,), compute) for _ in range(3)] == [1, 2, 3]


def test_a_change_announced_while_computing_is_not_hidden_by_the_answer() -> None:
    changes = following()
    memo = AnswerMemo(changes)
    runs = 0

    async def compute_during_a_change() -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            changes.apply(ChangeNotice(tracks=(1,)))  # the rows read may predate this change
        return runs

    async def twice() -> list[int]:
        return [await memo.answer("track", (1,), compute_during_a_change) for _ in range(3)]

    assert asyncio.run(twice()) == [1, 2, 2]


def test_answers_are_not_kept_past_their_age_or_the_capacity() -> None:
    now = [0.0]
    memo, compute = AnswerMemo(following(), max_rows=2, max_age=10.0, clock=lambda: now[0]), Counting()
    assert ask(memo, "a", (1,), compute) == 1
    now[0] = 9.9
    assert ask(memo, "a", (1,), compute) == 1
    now[0] = 10.0
    assert ask(memo, "a", (1,), compute) == 2
    ask(memo, "b", (2,), compute)
    ask(memo, "c", (3,), compute)  # drops "a", the least recently asked
    assert ask(memo, "a", (1,), compute) == 5


def test_versions_move_with_every_notice_naming_a_track_of_the_set_only() -> None:
    changes = following()
    start = changes.version((1, 2))
    changes.apply(ChangeNotice(tracks=(5, 9)))
    assert changes.version((1, 2)) == start
    changes.apply(ChangeNotice(tracks=(1, 2, 9)))
    first = changes.version((1, 2))
    changes.apply(ChangeNotice(tracks=(2,)))
    second = changes.version((1, 2))
    assert start is not None and first is not None and second is not None
    assert start < first < second
    changes.forget_all()
    assert changes.version((1, 2)) > second  # type: ignore[operator]
    assert changes.version(()) is not None


def test_the_remembered_tracks_are_bounded_and_a_forgotten_change_is_never_missed() -> None:
    changes = TrackChanges(max_tracks=100)
    changes.follow_while(lambda: True)
    memo, compute = AnswerMemo(changes), Counting()
    assert ask(memo, "early", (1,), compute) == 1
    for track in range(2, 1_002):  # a writer introducing new ids, request after request
        changes.apply(ChangeNotice(tracks=(track,)))
    assert len(changes) == 100
    changes.apply(ChangeNotice(tracks=(1,)))  # track 1 changes after being forgotten
    assert ask(memo, "early", (1,), compute) == 2
    changes.apply(ChangeNotice(tracks=tuple(range(5_000, 5_200))))  # 1 is forgotten again, unchanged
    kept = ask(memo, "early", (1,), compute)
    assert ask(memo, "early", (1,), compute) == kept  # computed again at most once, then kept
    for version_of_forgotten in (changes.version((2,)), changes.version((3,))):
        assert version_of_forgotten is not None and version_of_forgotten >= 1


def test_notices_round_trip_and_junk_is_refused() -> None:
    assert decode_notice(encode_notice([3, 1, 3])) == ChangeNotice(tracks=(1, 3))
    assert decode_notice(encode_notice([], everything=True)) == ChangeNotice(everything=True)
    many = range(1, MAX_NAMED_TRACKS + 2)
    assert decode_notice(encode_notice(many)) == ChangeNotice(everything=True)
    assert len(encode_notice(many[:-1], everything=False)) < 500_000
    for junk in (b"", b"not json", b'{"tracks": ["x"]}', b"[1, 2]"):
        with pytest.raises(msgspec.DecodeError):
            decode_notice(junk)


def test_the_memo_is_bounded_by_the_rows_its_answers_hold() -> None:
    memo = AnswerMemo(following(), max_rows=10)

    async def chart() -> list[int]:
        return list(range(6))

    async def asks() -> list[list[int]]:
        first = await memo.answer("a", (1,), chart, len)  # 7 rows
        await memo.answer("b", (2,), chart, len)  # 14 in all: "a" goes
        return [first, await memo.answer("b", (2,), chart, len)]

    asyncio.run(asks())
    compute = Counting()
    assert ask(memo, "a", (1,), compute) == 1  # computed again


def test_unchanged_holds_until_a_notice_names_one_of_the_tracks() -> None:
    current = [True]
    changes = following(lambda: current[0])
    memo = AnswerMemo(changes)
    unchanged = memo.unchanged([1, 2])
    assert unchanged is not None and unchanged()
    changes.apply(ChangeNotice(tracks=(3,)))
    assert unchanged()
    changes.apply(ChangeNotice(tracks=(2,)))
    assert not unchanged()
    current[0] = False  # the feed is behind: nothing read now is known to hold
    assert memo.unchanged([1]) is None
    assert AnswerMemo(None).unchanged([1]) is None


def test_the_past_version_moves_only_with_notices_of_tracks_with_an_earlier_day() -> None:
    today = [20_000]
    changes = TrackChanges(today=lambda: today[0])
    changes.follow_while(lambda: True)
    start = changes.past_version((1, 2))
    changes.apply(ChangeNotice(tracks=(1, 2), days=(20_000, 20_000)))  # today's rows only
    assert changes.past_version((1, 2)) == start
    assert changes.version((1, 2)) != changes.version(())  # their answers did change
    changes.apply(ChangeNotice(tracks=(1, 2), days=(20_000, 19_990)))  # track 2: an earlier day
    moved = changes.past_version((1, 2))
    assert moved != start and changes.past_version((1,)) == start
    today[0] = 20_001  # past midnight, yesterday's rows are past ones
    changes.apply(ChangeNotice(tracks=(1,), days=(20_000,)))
    assert changes.past_version((1,)) not in (start, None)
    changes.apply(ChangeNotice(tracks=(3,)))  # a worker that does not say the days: all of them
    assert changes.past_version((3,)) != (20_001, 0)
    changes.forget_all()
    assert changes.past_version((1, 2)) != moved


def test_notices_carry_each_tracks_first_day() -> None:
    notice = decode_notice(encode_notice({3: 20_001, 1: 19_000}))
    assert notice == ChangeNotice(tracks=(1, 3), days=(19_000, 20_001))
    assert notice.before(20_001) == (1,) and notice.before(19_000) == ()
    assert ChangeNotice(tracks=(1, 3)).before(0) == (1, 3)  # days unknown: every day
    many = {track: 20_000 for track in range(1, MAX_NAMED_TRACKS + 1)}
    assert len(encode_notice(many)) < 500_000
