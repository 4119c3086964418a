"""Exactly-once effect under the faults other than crashes (docs/pipeline.md): replay from offset 0, a
broker outage, poison messages and events days late. Crashes are in test_faults.py."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from insights.dev.kafka_local import LocalKafka
from schemas.topics import CONSUMER_GROUP, DLQ_TOPIC, EVENTS_TOPIC
from tests.integration import reference
from tests.integration.faults import (
    CrashTolerantSender,
    assert_counted_exactly_once,
    event_stream,
    totals,
    track_ids,
)
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def worker_group(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer in the worker's group, for looking at and moving its committed offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=CONSUMER_GROUP, enable_auto_commit=False
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


PARTITIONS = [TopicPartition(EVENTS_TOPIC, p) for p in range(3)]  # the harness runs with 3


async def rewind_consumer_group(bootstrap: str) -> None:
    async with worker_group(bootstrap) as consumer:
        consumer.assign(PARTITIONS)
        await consumer.commit({tp: 0 for tp in PARTITIONS})


async def group_lag(bootstrap: str) -> int:
    async with worker_group(bootstrap) as consumer:
        ends = await consumer.end_offsets(PARTITIONS)
        committed = [await consumer.committed(tp) or 0 for tp in PARTITIONS]
    return sum(ends[tp] - done for tp, done in zip(PARTITIONS, committed, strict=True))


def test_replay_from_offset_zero_changes_no_count(kafka: LocalKafka, tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "data", kafka.bootstrap)
    up.start()
    events = event_stream(30_000, seed=9)
    CrashTolerantSender(up).send(events)
    assert_counted_exactly_once(up, events)
    before = {t: totals(up, t) for t in track_ids(events)}
    assert up.stop() == 0

    asyncio.run(rewind_consumer_group(kafka.bootstrap))
    assert asyncio.run(group_lag(kafka.bootstrap)) >= len(events) // 1000  # one message per batch
    up.start()
    eventually(lambda: asyncio.run(group_lag(kafka.bootstrap)) == 0, timeout=120, interval=1)
    assert {t: totals(up, t) for t in track_ids(events)} == before
    assert up.stop() == 0


def test_broker_outage_answers_503_and_loses_nothing(local_kafka: LocalKafka, tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "data", local_kafka.bootstrap)
    up.start()
    events = event_stream(20_000, seed=13)
    comeback: list[threading.Thread] = []
    sender = CrashTolerantSender(up)

    def back_once_refused() -> None:
        # The broker comes back only once ingest has refused a batch with 503 (or after a minute):
        # a fixed outage could end within the producer's send timeout, and then no 503 is seen.
        deadline = time.monotonic() + 60
        while sender.unavailable == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        local_kafka.start()

    def outage(batch_number: int) -> None:
        if batch_number == 5:
            local_kafka.stop()  # the next batches meet a dead broker until it comes back
            comeback.append(threading.Thread(target=back_once_refused))
            comeback[0].start()

    sender.send(events, between=outage)
    comeback[0].join()
    assert sender.unavailable > 0, "while Kafka was down, ingest must answer 503"
    assert sender.restarts == 0, "the API and the worker recover by themselves"
    assert_counted_exactly_once(up, events)
    assert up.stop() == 0


async def produce_raw(bootstrap: str, payloads: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=1024 * 1024)
    await producer.start()
    try:
        for payload in payloads:
            await producer.send_and_wait(EVENTS_TOPIC, payload, key=b"1")
    finally:
        await producer.stop()


async def read_dead_letters(bootstrap: str, count: int) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(DLQ_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        letters = []
        async with asyncio.timeout(60):
            async for message in consumer:
                letters.append((message.value, dict(message.headers)))
                if len(letters) == count:
                    return letters
    finally:
        await consumer.stop()
    return letters


def test_poison_messages_go_to_the_dead_letter_topic_and_the_stream_goes_on(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    up = UpProcess(tmp_path / "data", kafka.bootstrap)
    up.start()
    before = event_stream(3000, seed=21)
    CrashTolerantSender(up).send(before)
    poison = [b"\x00\xffnot json", b'{"event_id": "no-other-field"}', b"[" + b"1," * 40_000 + b"1]"]
    asyncio.run(produce_raw(kafka.bootstrap, poison))
    after = event_stream(3000, seed=22)
    CrashTolerantSender(up).send(after)
    assert_counted_exactly_once(up, before + after)

    letters = asyncio.run(read_dead_letters(kafka.bootstrap, len(poison)))
    assert sorted(value for value, _ in letters) == sorted(poison)
    for _, headers in letters:
        assert headers["source_topic"] == EVENTS_TOPIC.encode()
        assert headers["reason"]
    metrics = httpx.get(up.url + "/metrics").text
    assert f'insights_worker_dead_letters_total{{topic="{EVENTS_TOPIC}"}} 3.0' in metrics
    assert up.stop() == 0


def chart_days(up: UpProcess, track_id: int) -> dict[str, int]:
    with up.client(token("admin")) as client:
        response = client.get(f"{INSIGHTS}/tracks/{track_id}/charts", params={"timeframe": "1y"})
    weeks = {"week " + p["t"]: p["plays"] for p in response.json()["data"]["series"]}
    with up.client(token("admin")) as client:
        response = client.get(f"{INSIGHTS}/tracks/{track_id}/charts", params={"timeframe": "30d"})
    days = {"day " + p["t"]: p["plays"] for p in response.json()["data"]["series"]}
    return weeks | days


def test_a_batch_days_late_changes_exactly_its_own_buckets(kafka: LocalKafka, tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "data", kafka.bootstrap)
    up.start()
    events = event_stream(5000, seed=31, tracks=3, max_age_days=2)
    CrashTolerantSender(up).send(events)
    assert_counted_exactly_once(up, events)
    track = track_ids(events)[0]
    before = chart_days(up, track)

    now = datetime.now(UTC)
    late = [
        {
            "event_id": f"late-{n}",
            "type": "play",
            "track_id": track,
            "listener_id": f"late-listener-{n % 7}",
            "occurred_at": (now - timedelta(days=4 if n % 2 else 200, hours=n % 5)).isoformat(),
        }
        for n in range(400)
    ]
    CrashTolerantSender(up).send(late[::-1])  # out of order too
    assert_counted_exactly_once(up, events + late)

    expected = Counter[str]()
    for event in late:
        moment = reference.at(event)
        expected["week " + reference.bucket_of(moment, "week").strftime("%Y-%m-%dT%H:%M:%SZ")] += 1
        if moment > now - timedelta(days=29):
            expected["day " + reference.bucket_of(moment, "day").strftime("%Y-%m-%dT%H:%M:%SZ")] += 1

    def changes() -> dict[str, int]:
        after = chart_days(up, track)
        return {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}

    # Charts may be answered from the API's cache for up to their max-age (30 s for 1y): wait for it.
    eventually(lambda: changes() == dict(expected), timeout=90, interval=1)
    assert up.stop() == 0
