"""Each track's first UTC day in a flush, as the worker's change notice names it (pipeline/sink.py)."""

from datetime import UTC, datetime, timedelta

from pipeline.sink import DAY_TICKS, SourcedEvent, event_columns, first_days
from schemas.events import Event

MIDNIGHT = datetime(2026, 12, 6, tzinfo=UTC)
DAY = (MIDNIGHT - datetime(1970, 1, 1, tzinfo=UTC)).days


def columns(*events: tuple[int, datetime]) -> tuple[list[object], list[object]]:
    items = [
        SourcedEvent(Event(event_id=f"e{n}", type="play", track_id=t, listener_id="l", occurred_at=at), 0, n)
        for n, (t, at) in enumerate(events)
    ]
    built = event_columns(items, 0)
    return built[2], built[4]


def test_a_flush_within_one_day_names_each_track_with_that_day() -> None:
    assert first_days(*columns((1, MIDNIGHT), (2, MIDNIGHT + timedelta(hours=23)), (1, MIDNIGHT))) == {
        1: DAY,
        2: DAY,
    }
    assert first_days([], []) == {}


def test_a_late_event_gives_its_track_its_own_earlier_day() -> None:
    found = first_days(
        *columns(
            (1, MIDNIGHT + timedelta(hours=1)),
            (2, MIDNIGHT - timedelta(milliseconds=1)),  # the last instant of yesterday
            (3, MIDNIGHT - timedelta(days=40)),
            (2, MIDNIGHT + timedelta(hours=2)),
        )
    )
    assert found == {1: DAY, 2: DAY - 1, 3: DAY - 40}
    assert DAY_TICKS == 86_400_000
