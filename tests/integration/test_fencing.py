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
    began = threading.Event()

    def in_flight() -> None:
        began.set()
        clean_store.query_rows(FENCE_TAG + "SELECT sleep(1.5)")

    statement = threading.Thread(target=in_flight)
    statement.start()
    began.wait()
    time.sleep(0.3)  # let it reach the engine (a shorter wait only makes the claim wait less)
    started = time.monotonic()
    RollupSink(clean_store).claim(PARTITIONS, generation=2)
    waited = time.monotonic() - started
    statement.join()
    assert waited >= 0.9, f"the claim returned after {waited:.2f} s, while the old statement ran"


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
