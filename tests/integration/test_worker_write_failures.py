"""The Faust worker against a real broker and engine whose writes fail, time out or lose their reply:
it retries with backoff, commits no offset past a failed write, and ends with exact counts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from api.ingest.publisher import Publisher
from insights.dev.kafka_local import LocalKafka
from insights.metrics import WRITE_RETRIES
from insights.runner import ensure_topics
from insights.settings import Settings
from insights.store import Store
from pipeline.worker import Worker
from schemas.events import encode_batch, validate_batch
from schemas.topics import CONSUMER_GROUP, EVENTS_TOPIC
from tests.integration.faults import event_stream, track_ids
from tests.integration.workers import counted, expected

pytestmark = pytest.mark.integration


class FailingWrites:
    """Makes the store's writes fail for a while, then lose one reply after a successful insert,
    then time out one rollup build: the three ways a ClickHouse write goes wrong."""

    def __init__(self, store: Store, failing_for: float) -> None:
        self.store = store
        self.insert, self.command = store.insert_columns, store.command
        self.failing_for = failing_for
        self.until: float | None = None  # the window opens at the first write: a slow start shortens nothing
        self.lost_reply = self.timed_out = False

    def failing_insert(self, table: str, rows: Any, columns: Any) -> None:
        if self.until is None:
            self.until = time.monotonic() + self.failing_for
        if time.monotonic() < self.until:
            raise ConnectionError("ClickHouse refused the connection")
        self.insert(table, rows, columns)

    def failing_command(self, sql: str, parameters: Any = None) -> None:
        if "INSERT INTO track_daily" in sql and self.lost_reply and not self.timed_out:
            self.timed_out = True
            raise TimeoutError("the rollup build timed out")
        self.command(sql, parameters)
        if "INSERT INTO events (" in sql and not self.lost_reply:
            self.lost_reply = True
            raise TimeoutError("the insert landed but its reply was lost")

    def __enter__(self) -> FailingWrites:
        self.store.insert_columns = self.failing_insert  # type: ignore[method-assign]
        self.store.command = self.failing_command  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.insert_columns, self.store.command = self.insert, self.command  # type: ignore[method-assign]


async def committed_offsets(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=CONSUMER_GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return sum([await consumer.committed(TopicPartition(EVENTS_TOPIC, p)) or 0 for p in range(3)])
    finally:
        await consumer.stop()


def test_failed_and_lost_writes_are_retried_and_count_exactly_once(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    # A clean store: markers left by other tests at higher offsets than this fresh topic's would
    # hide its events (see "offsets going back" in docs/pipeline.md).
    events = event_stream(20_000, seed=41)
    tracks = track_ids(events)
    settings = Settings.from_env(env={"INSIGHTS_TOPIC_PARTITIONS": "3"}, data_dir=tmp_path)
    retries_before = WRITE_RETRIES._value.get()

    async def scenario() -> dict[int, tuple[int, int, int]]:
        await ensure_topics(settings, kafka.bootstrap)
        publisher = Publisher(kafka.bootstrap)
        await publisher.start()
        for start in range(0, len(events), 1000):
            accepted, _ = validate_batch(events[start : start + 1000])
            await publisher.publish(EVENTS_TOPIC, [(accepted[0].event_id.encode(), encode_batch(accepted))])
        await publisher.stop()
        worker = Worker(settings, clean_store, kafka.bootstrap)
        with FailingWrites(clean_store, failing_for=4.0) as failing:
            await worker.start()
            await asyncio.sleep(3.0)
            assert await committed_offsets(kafka.bootstrap) == 0, "no offset may pass a failed write"
            want = expected(events, tracks)
            for _ in range(240):  # up to 2 minutes
                if counted(clean_store, tracks) == want:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)  # anything counted twice would show now
            assert failing.lost_reply and failing.timed_out
        await worker.stop()
        return counted(clean_store, tracks)

    assert asyncio.run(scenario()) == expected(events, tracks)
    assert WRITE_RETRIES._value.get() - retries_before >= 3
