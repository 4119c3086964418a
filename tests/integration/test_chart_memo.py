"""Charts with the memo of bucket listeners, against the real engine: the same answers as counting every
bucket afresh, while a chart asked again counts only the buckets whose rows changed since."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.read.chart_queries import CHART_SQL, COUNTED_CHART_SQL, NO_ROWS, ChartMemo, ChartPoint, chart
from insights.store import Store
from pipeline.sink import SourcedEvent, sole_writer
from schemas.events import Event
from schemas.periods import chart_buckets
from tests.integration.statements import Statements

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
PARTITIONS = 2


class Stream:
    """Plays flushed through the worker's sink, with offsets growing per partition."""

    def __init__(self, store: Store) -> None:
        self.sink = sole_writer(store)
        self.sent = 0

    def flush(self, plays: list[tuple[int, str, timedelta]]) -> None:
        """(track, listener, age) per play."""
        batch = []
        for track, listener, age in plays:
            event = Event(
                event_id=f"e{self.sent}",
                type="play",
                track_id=track,
                listener_id=listener,
                occurred_at=NOW - age,
            )
            partition = self.sent % PARTITIONS
            batch.append(SourcedEvent(event, partition, self.sent // PARTITIONS))
            self.sent += 1
        self.sink.flush(batch)


def read(store: Store, track_ids: list[int], timeframe: str, memo: ChartMemo | None) -> list[ChartPoint]:
    return asyncio.run(chart(store, track_ids, chart_buckets(timeframe, NOW), memo))


def history(days: int) -> list[tuple[int, str, timedelta]]:
    """Two tracks sharing listeners, on most days of the timeframe, a few plays an hour apart."""
    return [
        (1 + n % 2, f"listener-{(n * 7) % 11}", timedelta(days=n % days, hours=n % 3))
        for n in range(6 * days)
    ]


@pytest.mark.parametrize("timeframe, days, late", [("7d", 6, 5), ("30d", 29, 20), ("1y", 360, 20)])
def test_a_chart_asked_again_counts_only_the_buckets_that_changed(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch, timeframe: str, days: int, late: int
) -> None:
    stream = Stream(clean_store)
    stream.flush(history(days))
    memo = ChartMemo(recount_below=0)
    first = read(clean_store, [1, 2], timeframe, memo)
    assert first == read(clean_store, [1, 2], timeframe, None)
    assert sum(p.listeners for p in first) > 0

    buckets = chart_buckets(timeframe, NOW)
    newest = int(buckets.last.timestamp())
    statements = Statements(clean_store, monkeypatch)
    assert read(clean_store, [1, 2], timeframe, memo) == first
    assert [(sql, parameters["counted"]) for sql, parameters in statements.run] == [
        (CHART_SQL[buckets.interval], [newest])
    ]

    # New listeners land in an old bucket (a late event) and in the newest one.
    stream.flush([(2, "newcomer-1", timedelta(days=late)), (1, "newcomer-2", timedelta(0))])
    statements.run.clear()
    third = read(clean_store, [1, 2], timeframe, memo)
    moved = [(old, new) for old, new in zip(first, third, strict=True) if new != old]
    assert len(moved) == 2
    assert all((new.plays, new.listeners) == (old.plays + 1, old.listeners + 1) for old, new in moved)
    assert [(sql, parameters["counted"]) for sql, parameters in statements.run] == [
        (CHART_SQL[buckets.interval], [newest]),
        (COUNTED_CHART_SQL[buckets.interval], [int(moved[0][1].t.timestamp())]),
    ]
    assert third == read(clean_store, [1, 2], timeframe, None)


def test_a_chart_of_other_tracks_does_not_use_another_set_s_counts(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An album that gained a track is another chart: its buckets are counted afresh."""
    Stream(clean_store).flush(history(29))
    memo = ChartMemo(recount_below=0)
    one = read(clean_store, [1], "30d", memo)
    statements = Statements(clean_store, monkeypatch)
    both = read(clean_store, [1, 2], "30d", memo)
    assert [(sql, parameters["counted"]) for sql, parameters in statements.run] == [
        (COUNTED_CHART_SQL["day"], [int(p.t.timestamp()) for p in both])
    ]
    assert both == read(clean_store, [1, 2], "30d", None)
    assert both != one


def test_a_chart_with_few_listeners_is_counted_whole_in_one_statement(
    clean_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below `recount_below` remembered listeners, one statement counting every bucket is cheaper than
    reading the other buckets' sums beside the newest bucket (BENCHMARKS.md)."""
    Stream(clean_store).flush(history(29))
    memo = ChartMemo(recount_below=1_000)
    first = read(clean_store, [1, 2], "30d", memo)
    assert 0 < sum(p.listeners for p in first) < 1_000
    statements = Statements(clean_store, monkeypatch)
    assert read(clean_store, [1, 2], "30d", memo) == first
    assert [(sql, parameters["counted"]) for sql, parameters in statements.run] == [
        (COUNTED_CHART_SQL["day"], [int(p.t.timestamp()) for p in first])
    ]


def test_the_least_recently_asked_charts_are_dropped_beyond_the_capacity_in_buckets() -> None:
    memo = ChartMemo(buckets=8)  # a chart of 2 buckets and 1 track weighs 3 (its key counts as 1)
    two = {0: ((3, 1, 0), 5), 1: (NO_ROWS, 0)}
    memo.keep(("day", "UTC", (1,)), two)
    memo.keep(("day", "UTC", (2,)), two)
    assert memo.recall(("day", "UTC", (1,))) == two
    memo.keep(("day", "UTC", (3,)), two)  # 9 in all: the chart of track 2 goes
    assert memo.recall(("day", "UTC", (2,))) == {}
    assert memo.recall(("day", "UTC", (1,))) == two
    memo.keep(("day", "UTC", (3,)), {0: (NO_ROWS, 0)})  # kept again, smaller: 5 in all
    memo.keep(("day", "UTC", (4,)), {0: (NO_ROWS, 0)})  # 7
    assert memo.recall(("day", "UTC", (1,))) == two
    assert memo.recall(("day", "UTC", (3,))) == {0: (NO_ROWS, 0)}
