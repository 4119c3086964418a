"""Fencing against the real engine: a worker that lost a partition changes no count, whatever its
timing. Each test plays two workers' sinks on one store and forces one interleaving."""

from __future__ import annotations

import threading
import time

import pytest
from clickhouse_connect.driver.insert import InsertContext

from insights.store import Store
from pipeline.sink import FENCE_TAG, NotOwner, RollupSink
from tests.integration.test_sink import expected_totals, stream, totals

pytestmark = pytest.mark.integration

PARTITIONS = range(3)


def test_a_zombie_writes_nothing_after_its_partitions_are_claimed(clean_store: Store) -> None:
    events = stream(90)
    zombie, successor = RollupSink(clean_store), RollupSink(clean_store)
    zombie.claim(PARTITIONS, generation=1)
    zombie.flush(events[:30])
    successor.claim(PARTITIONS, generation=2)  # the zombie's session expired; it does not know
    zombie.flush(events[30:60])  # fenced: nothing of it may count
    assert totals(clean_store) == expected_totals(events[:30])
    successor.flush(events[30:])  # the successor reads from the last commit: everything after 30
    assert totals(clean_store) == expected_totals(events)
    zombie.flush(events[60:])  # stale markers, a late retry: still nothing
    assert totals(clean_store) == expected_totals(events)


def test_a_returning_worker_reloads_what_others_stored_meanwhile(clean_store: Store) -> None:
    """A worker that gets its partition back must not trust the markers it had: another stored more."""
    events = stream(90)
    first, second = RollupSink(clean_store), RollupSink(clean_store)
    first.claim(PARTITIONS, generation=1)
    first.flush(events[:30])
    second.claim(PARTITIONS, generation=2)
    second.flush(events[30:60])
    first.claim(PARTITIONS, generation=3)
    first.flush(events[30:90])  # redelivery from its old commit: 30-59 are counted already
    assert totals(clean_store) == expected_totals(events)


def test_an_older_generation_cannot_claim_back(clean_store: Store) -> None:
    """A claim delayed past a newer one (an assignment handler that waited out an outage) loses."""
    events = stream(30)
    late, current = RollupSink(clean_store), RollupSink(clean_store)
    assert current.claim(PARTITIONS, generation=5) == set(PARTITIONS)
    assert late.claim(PARTITIONS, generation=4) == set()
    with pytest.raises(NotOwner):
        late.flush(events)
    current.flush(events)
    assert totals(clean_store) == expected_totals(events)


def test_a_claim_waits_for_the_previous_owners_statement_in_flight(clean_store: Store) -> None:
    """A statement of the old owner that began before the claim may still land: the claim returns
    only once it has ended, so the markers it reads next include it."""
    old = RollupSink(clean_store)
    old.claim(PARTITIONS, generation=1)
    ended: list[float] = []

    def in_flight() -> None:
        clean_store.query_rows(FENCE_TAG + "SELECT sleep(3)")
        ended.append(time.monotonic())

    statement = threading.Thread(target=in_flight)
    statement.start()
    running = "SELECT count() FROM system.processes WHERE startsWith(query, {tag:String})"
    deadline = time.monotonic() + 30
    while not clean_store.query_rows(running, {"tag": FENCE_TAG})[0][0]:  # it has reached the engine
        assert time.monotonic() < deadline, "the old owner's statement never started"
        time.sleep(0.01)
    RollupSink(clean_store).claim(PARTITIONS, generation=2)
    returned = time.monotonic()
    statement.join()
    # Not waiting, the claim would return seconds before the statement ends (it sleeps 3 s); waiting,
    # it returns as the statement's end is noticed (a poll, then the thread's scheduling).
    early = ended[0] - returned
    assert early < 0.5, f"the claim returned {early:.2f} s before the old statement ended"


def test_a_flush_lands_as_one_part(clean_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The events of a flush are one part even when the client sends them in many blocks (a server
    makes a part of each block): a crash cannot leave half of a message stored."""
    events = stream(3_000)
    sink = RollupSink(clean_store)
    sink.claim(PARTITIONS, generation=1)
    monkeypatch.setattr(InsertContext, "_calc_block_size", lambda self: 100)
    sink.flush(events)
    parts = clean_store.query_rows("SELECT count() FROM system.parts WHERE table = 'events' AND active")
    assert parts == [(1,)]
    assert totals(clean_store) == expected_totals(events)
