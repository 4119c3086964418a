"""Several workers of one consumer group on one store, on the real Kafka and engine: partitions move
between them (joins, leaves, a member dropped while frozen mid-write, a ClickHouse outage across a
rebalance) and every test ends with the counts of the reference model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from insights.dev.kafka_local import LocalKafka
from insights.store import Store
from tests.integration.faults import event_stream, track_ids
from tests.integration.test_worker_write_failures import FailingWrites
from tests.integration.workers import PausedFlush, WorkerGroup, publish, settings_for, settled, until

pytestmark = pytest.mark.integration


def test_workers_joining_and_leaving_under_traffic_count_exactly_once(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    events = event_stream(9_000, seed=61)

    async def scenario() -> None:
        group = WorkerGroup(settings_for(tmp_path), clean_store, kafka.bootstrap)
        first = await group.start()
        await publish(kafka.bootstrap, events[:3_000])
        await group.start()  # a rebalance: the partitions are shared out again
        await publish(kafka.bootstrap, events[3_000:6_000])
        await group.start()
        await group.stop(first)  # it leaves: its partitions move to the others
        await publish(kafka.bootstrap, events[6_000:])
        try:
            await settled(clean_store, events, track_ids(events))
        finally:
            await group.stop_all()

    asyncio.run(scenario())


def test_a_worker_dropped_while_frozen_mid_write_changes_no_count(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    """A's flush is frozen before its writes; B joins, and A, too busy to rejoin, is dropped from the
    group after the rebalance timeout. B takes every partition and counts them. Then A's flush goes
    on, with its old markers and the events B has already counted: fenced, it writes nothing."""
    events = event_stream(4_000, seed=62)

    async def scenario() -> None:
        group = WorkerGroup(settings_for(tmp_path), clean_store, kafka.bootstrap, rebalance_timeout=6.0)
        frozen = await group.start()
        with PausedFlush(frozen.sink) as paused:
            await publish(kafka.bootstrap, events)
            await until(paused.paused.is_set, 60, "A's flush began")
            successor = await group.start()
            try:
                await settled(clean_store, events, track_ids(events))  # B counted everything alone
                assert successor.sink.owned == set(range(4))
            finally:
                paused.go.set()  # A's frozen flush goes on, after the hand-over
        try:
            await asyncio.sleep(3.0)
            await settled(clean_store, events, track_ids(events), within=30)
        finally:
            await group.stop_all()

    asyncio.run(scenario())


def test_a_clickhouse_outage_across_a_rebalance_counts_exactly_once(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    """Every write fails for a while (both workers retry) while a second worker joins; when ClickHouse
    is back, the old and the new owner of each partition race, and fencing lets one of them count."""
    events = event_stream(6_000, seed=63)

    async def scenario() -> None:
        group = WorkerGroup(settings_for(tmp_path), clean_store, kafka.bootstrap, rebalance_timeout=6.0)
        await group.start()
        await publish(kafka.bootstrap, events[:3_000])
        with FailingWrites(clean_store, failing_for=12.0):
            await publish(kafka.bootstrap, events[3_000:])
            await group.start()
            try:
                await settled(clean_store, events, track_ids(events), within=150)
            finally:
                await group.stop_all()

    asyncio.run(scenario())
