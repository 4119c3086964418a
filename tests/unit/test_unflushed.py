"""What the API keeps of the events it accepted for realtime until the worker stores them: which events,
how long, and within what memory (api/read/unflushed.py). What is counted is the realtime statement's
(tests/integration/test_realtime_unflushed.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from api.read.unflushed import ASKED_SECONDS, EARLY_SECONDS, HOUR_SECONDS, STEPS_PER_CALL, Kept, Unflushed
from schemas.events import Event

NOW = 1_800_000_000.0


def event(event_id: str, kind: str = "play", track: int = 7, age: float = 10.0) -> Event:
    return Event(event_id, kind, track, f"fan-{event_id}", datetime.fromtimestamp(NOW - age, UTC))


def asked(unflushed: Unflushed) -> Unflushed:
    """Realtime asked of every track these tests use."""
    for track in range(10):
        unflushed.asked(track, NOW)
    return unflushed


def ids(kept: list[Kept]) -> list[str]:
    return [k.event_id for k in kept]


def test_plays_and_heartbeats_of_realtimes_reach_are_kept_with_their_message_place() -> None:
    unflushed = asked(Unflushed())
    events = [
        event("a"),
        event("b", "heartbeat"),
        event("c", "like"),
        event("d", "repost"),
        event("e", age=HOUR_SECONDS),  # its second is an hour old: out of reach
        event("f", age=HOUR_SECONDS - 1),
        event("g", age=-EARLY_SECONDS),  # as early as an event may be
        event("h", age=-EARLY_SECONDS - 1),
        event("i", track=8),
    ]
    unflushed.accepted(events, (2, 40), NOW)
    kept = unflushed.of_track(7, NOW)
    assert ids(kept) == ["a", "b", "f", "g"]
    assert kept[0] == Kept(2, 40, "a", "fan-a", int(NOW) - 10, True)
    assert not kept[1].play
    assert ids(unflushed.of_track(8, NOW)) == ["i"]
    assert len(unflushed) == 5


def test_a_repeat_of_an_id_kept_is_not_kept_again_until_the_first_copy_leaves() -> None:
    unflushed = asked(Unflushed())
    unflushed.accepted([event("a")], (0, 5), NOW)
    unflushed.accepted([event("a"), event("b")], (0, 6), NOW)
    assert [(k.event_id, k.offset) for k in unflushed.of_track(7, NOW)] == [("a", 5), ("b", 6)]
    unflushed.stored({0: 6})
    unflushed.accepted([event("a")], (0, 9), NOW)  # the statement tells it from the stored copy
    assert [(k.event_id, k.offset) for k in unflushed.of_track(7, NOW)] == [("b", 6), ("a", 9)]


def test_events_leave_as_the_stored_progress_passes_their_message() -> None:
    unflushed = asked(Unflushed())
    unflushed.accepted([event("a"), event("b", track=8)], (0, 5), NOW)
    unflushed.accepted([event("c")], (1, 5), NOW)
    unflushed.accepted([event("d")], (0, 7), NOW)
    unflushed.stored({0: 5, 1: 0})
    assert len(unflushed) == 4
    unflushed.stored({0: 6, 1: 0})  # below 6: the message at 5
    assert ids(unflushed.of_track(7, NOW)) == ["c", "d"]
    assert unflushed.of_track(8, NOW) == []
    unflushed.stored({0: 8, 1: 6})
    assert len(unflushed) == 0 and unflushed.of_track(7, NOW) == []


def test_events_out_of_the_hour_are_no_longer_read() -> None:
    unflushed = asked(Unflushed())
    unflushed.accepted([event("a", age=100), event("b", age=10)], (0, 1), NOW)
    assert ids(unflushed.of_track(7, NOW + HOUR_SECONDS - 101)) == ["a", "b"]
    assert ids(unflushed.of_track(7, NOW + HOUR_SECONDS - 100)) == ["b"]
    assert len(unflushed) == 2  # until stored: the worker may be down, and what is kept is bounded


def test_past_its_bound_new_events_are_not_kept_and_what_is_kept_stays() -> None:
    unflushed = asked(Unflushed(max_events=2))
    unflushed.accepted([event("a"), event("b"), event("c")], (0, 1), NOW)
    assert ids(unflushed.of_track(7, NOW)) == ["a", "b"]
    unflushed.stored({0: 2})
    unflushed.accepted([event("d")], (0, 3), NOW)
    assert ids(unflushed.of_track(7, NOW)) == ["d"]


def test_each_call_does_a_bounded_amount_and_the_next_calls_go_on() -> None:
    unflushed = asked(Unflushed(max_events=10 * STEPS_PER_CALL))
    batch = [event(f"e{n}", track=n % 3) for n in range(3 * STEPS_PER_CALL)]
    unflushed.accepted(batch, (0, 0), NOW)
    unflushed.accepted([event("last", track=9)], (0, 1), NOW)
    progress, calls = {0: 2}, 0
    while len(unflushed):
        left = len(unflushed)
        unflushed.stored(progress)  # a track's visit and each event let go are a step each
        assert 0 < left - len(unflushed) <= STEPS_PER_CALL
        calls += 1
    assert calls == 4 and unflushed.of_track(0, NOW) == [] and unflushed.of_track(9, NOW) == []


def test_a_tracks_stored_events_behind_one_not_stored_leave_with_it() -> None:
    unflushed = asked(Unflushed())
    unflushed.accepted([event("a")], (1, 9), NOW)
    unflushed.accepted([event("b")], (0, 3), NOW)
    unflushed.stored({0: 4, 1: 0})  # b is stored, but a (kept first) is not
    assert ids(unflushed.of_track(7, NOW)) == ["a", "b"]
    unflushed.stored({0: 4, 1: 10})
    assert len(unflushed) == 0


def test_a_tracks_version_changes_with_each_event_kept_and_never_comes_back() -> None:
    unflushed = asked(Unflushed())
    assert unflushed.version(7) == 0
    unflushed.accepted([event("a")], (0, 1), NOW)
    first = unflushed.version(7)
    assert first != 0 and unflushed.version(8) == 0
    unflushed.accepted([event("b", track=8)], (0, 2), NOW)
    assert unflushed.version(7) == first
    unflushed.stored({0: 3})
    unflushed.accepted([event("c")], (0, 3), NOW)
    assert unflushed.version(7) not in (0, first)


def test_when_kafkas_offsets_start_again_nothing_kept_is_counted() -> None:
    unflushed = asked(Unflushed())
    unflushed.accepted([event("a")], (0, 100), NOW)
    unflushed.stored({0: 50}, restarts=0)
    assert len(unflushed) == 1
    unflushed.stored({}, restarts=1)
    assert len(unflushed) == 0 and unflushed.of_track(7, NOW) == []
    unflushed.accepted([event("a")], (0, 0), NOW)  # the id may come again, at the new offsets
    assert ids(unflushed.of_track(7, NOW)) == ["a"]


def test_with_no_room_nothing_is_kept() -> None:
    unflushed = asked(Unflushed(max_events=0))  # INSIGHTS_REALTIME_UNFLUSHED=off
    unflushed.accepted([event("a")], (0, 1), NOW)
    assert len(unflushed) == 0 and unflushed.of_track(7, NOW) == [] and unflushed.version(7) == 0


def test_a_tracks_events_are_kept_only_while_its_realtime_is_asked() -> None:
    unflushed = Unflushed()
    unflushed.accepted([event("a")], (0, 1), NOW)  # realtime never asked: nothing to keep it for
    assert len(unflushed) == 0
    unflushed.asked(7, NOW)
    batch = [event("b"), event("c", track=8)]
    unflushed.accepted(batch, (0, 2), NOW + ASKED_SECONDS)
    unflushed.accepted([event("d")], (0, 3), NOW + ASKED_SECONDS + 1)
    assert ids(unflushed.of_track(7, NOW + ASKED_SECONDS)) == ["b"]
    assert unflushed.of_track(8, NOW) == []
