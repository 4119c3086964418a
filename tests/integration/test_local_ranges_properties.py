"""Property tests of local days (hypothesis): random batches of events placed within two hours of the local
midnights and the DST transitions of zones whose days start at :30 or :45 UTC or change length (Kathmandu
+5:45, Kolkata +5:30, St John's -3:30/-2:30, Berlin's 23- and 25-hour days, Lord Howe's half-hour DST),
over random past ranges; every figure and every chart bucket of the engine's answer equals the reference
model's count of the raw events.

Each example writes its batch to tracks of its own (no store is emptied between examples) through one
sink on a partition no other test writes, and asks the engine about those tracks only. Deterministic:
derandomized, no example database, a bounded number of examples.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.read import local_day_queries
from api.read.chart_queries import ChartMemo
from insights.store import Store
from pipeline.sink import RollupSink, SourcedEvent, sole_writer
from schemas.events import Event
from schemas.local_ranges import buckets_of, local_range, rfc3339_local
from tests.integration import reference
from tests.integration.test_local_ranges import transitions
from tests.integration.written import as_posted, figures_shown

pytestmark = pytest.mark.integration

ZONES = ("Asia/Kathmandu", "Asia/Kolkata", "America/St_Johns", "Europe/Berlin", "Australia/Lord_Howe")
NOW = datetime.now(UTC)
# Ranges end two UTC days back: their last local day has ended in every zone (a zone's date trails UTC's
# by at most 12 hours), so no chart is cut at the clock, whatever time the suite runs.
LAST_DAY = (NOW - timedelta(days=2)).date()
OLDEST_DAY = LAST_DAY - timedelta(days=360)  # with the previous period, still within the 400 days
DST = {zone: transitions(zone, OLDEST_DAY, LAST_DAY) for zone in ZONES}
PARTITION = 61  # written by this module only
FIRST_TRACK = 7_000_000  # this module's tracks: two new ones per example
KINDS = ("play", "play", "play", "like", "repost", "heartbeat")


@dataclass(frozen=True)
class Case:
    zone: str
    first: date
    last: date
    events: list[Event]


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A zone, a range of 1 to 7 local days around a DST transition (when the zone has one and the draw
    says so) or any past day, and 1 to 40 events within two hours of the local midnights of the range
    and the period before it, or of the transitions; some repeat an earlier event's id."""
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    if DST[zone] and draw(st.booleans()):
        day = draw(st.sampled_from(DST[zone])).astimezone(tz).date()
    else:
        day = LAST_DAY - timedelta(days=draw(st.integers(0, 350)))
    first = day - timedelta(days=draw(st.integers(0, 3)))
    last = min(day + timedelta(days=draw(st.integers(0, 3))), LAST_DAY)
    span = (last - first).days + 1
    days = [first - timedelta(days=span) + timedelta(days=n) for n in range(2 * span + 1)]
    pivots = [local_midnight(d, tz) for d in days]
    pivots += [t for t in DST[zone] if pivots[0] - timedelta(hours=3) <= t <= pivots[-1]]
    drawn = st.tuples(
        st.sampled_from(pivots),
        st.integers(-7200, 7200),  # seconds from the pivot
        st.sampled_from(KINDS),
        st.integers(0, 5),  # listener
        st.integers(0, 1),  # which of the example's two tracks
        st.integers(0, 9),  # 0: repeat the previous event's id
    )
    events: list[Event] = []
    for n, (pivot, seconds, kind, listener, track, repeat) in enumerate(
        draw(st.lists(drawn, min_size=1, max_size=40))
    ):
        event_id = events[-1].event_id if events and repeat == 0 else f"e{n}"
        moment = pivot + timedelta(seconds=seconds)
        events.append(Event(event_id, kind, track, f"fan-{listener}", moment))  # type: ignore[arg-type]
    return Case(zone, first, last, events)


class Writer:
    """One sink for the module, on its own partition: each example's events get the next offsets, ids
    and tracks of their own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        ((stored,),) = store.query_rows(
            "SELECT max(kafka_offset) FROM events WHERE kafka_partition = {p:UInt16}", {"p": PARTITION}
        )
        self.offsets = itertools.count(int(stored) + 1)
        self.examples = itertools.count()
        self.sink: RollupSink = sole_writer(store, [PARTITION])

    def write(self, case: Case) -> tuple[list[int], list[dict[str, Any]]]:
        example = next(self.examples)
        tracks = [FIRST_TRACK + 2 * example, FIRST_TRACK + 2 * example + 1]
        events = [
            Event(f"prop-{example}-{e.event_id}", e.type, tracks[e.track_id], e.listener_id, e.occurred_at)
            for e in case.events
        ]
        self.sink.flush([SourcedEvent(e, PARTITION, next(self.offsets)) for e in events])
        return tracks, as_posted(events)


@pytest.fixture(scope="module")
def writer(embedded_store: Store) -> Iterator[Writer]:
    writer = Writer(embedded_store)
    yield writer
    writer.sink.close()


def series_of(store: Store, tracks: list[int], case: Case, interval: str) -> list[dict[str, Any]]:
    chosen = buckets_of(local_range("custom", case.zone, case.first, case.last), interval, "custom", NOW)
    points = asyncio.run(local_day_queries.chart(store, tracks, chosen, ChartMemo(recount_below=0)))
    return [
        {"t": rfc3339_local(p.t, case.zone), "plays": p.plays, "listeners": p.listeners}
        | {"likes": p.likes, "reposts": p.reposts}
        for p in points
    ]


@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases())
def test_every_figure_and_bucket_of_a_local_range_matches_the_reference(writer: Writer, case: Case) -> None:
    tracks, events = writer.write(case)
    for chosen_tracks in ([tracks[0]], tracks):
        chosen = local_range("custom", case.zone, case.first, case.last)
        counted, _, _ = asyncio.run(local_day_queries.figures(writer.store, chosen_tracks, chosen))
        expected = reference.local_analytics(events, chosen_tracks, case.zone, case.first, case.last)
        assert figures_shown(counted) == expected
    for interval in ("hour", "day", "week", "month"):
        expected_series = reference.local_chart(events, tracks, case.zone, case.first, case.last, interval)
        assert series_of(writer.store, tracks, case, interval) == expected_series, interval
