"""A batch the API accepts always fits in Kafka: past the message bound it goes as several messages,
and a message Kafka refuses for its size is a 413 (retrying cannot help), never a 503."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from starlette.testclient import TestClient

from api.app import create_app
from api.ingest.publisher import Publisher, ensure_topic
from insights.dev.kafka_local import LocalKafka
from insights.store import Store
from schemas.events import decode_batch
from schemas.topics import EVENTS_TOPIC
from tests.integration.harness import SECRET, token

pytestmark = pytest.mark.integration

TOPIC_LIMIT = 200_000  # the topic's max.message.bytes: a smaller stand-in for Kafka's 1 MB default


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker of its own: its events topic takes smaller messages than any other test's."""
    kafka = LocalKafka(tmp_path_factory.mktemp("message-size") / "kafka", partitions=1)
    kafka.start()
    yield kafka
    kafka.stop()


def big_batch() -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "events": [
            {
                "event_id": f"big-{n}",
                "type": "play",
                "track_id": 9,
                "listener_id": "l" * 120 + str(n),
                "occurred_at": now,
                "listened_ms": 31_000,
            }
            for n in range(1_000)
        ]
    }  # about 240 KB once encoded: more than the topic takes in one message


async def read_ids(bootstrap: str) -> list[str]:
    consumer = AIOKafkaConsumer(EVENTS_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    ids: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(ids) < 1_000:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    ids += [e.event_id for r in records for e in decode_batch(r.value)[0]]
    finally:
        await consumer.stop()
    return ids


def post(broker: LocalKafka, store: Store, publisher: Publisher) -> int:
    with TestClient(create_app(store, publisher, SECRET)) as client:
        limited = functools.partial(ensure_topic, **{"max.message.bytes": str(TOPIC_LIMIT)})
        client.portal.call(limited, broker.bootstrap, EVENTS_TOPIC, 1)
        client.portal.call(publisher.start)
        try:
            headers = {"Authorization": f"Bearer {token('events:write')}"}
            answer = client.post("/api/v1/events", json=big_batch(), headers=headers)
        finally:
            client.portal.call(publisher.stop)
    return answer.status_code


def test_a_batch_past_the_message_bound_is_accepted_whole(broker: LocalKafka, embedded_store: Store) -> None:
    publisher = Publisher(broker.bootstrap, send_timeout=10, max_message_bytes=TOPIC_LIMIT // 2)
    assert post(broker, embedded_store, publisher) == 202
    ids = asyncio.run(read_ids(broker.bootstrap))
    assert len(ids) == len(set(ids)) == 1_000


def test_a_message_kafka_refuses_for_its_size_is_a_413_not_a_retry(
    broker: LocalKafka, embedded_store: Store
) -> None:
    publisher = Publisher(broker.bootstrap, send_timeout=10, max_message_bytes=10 * TOPIC_LIMIT)
    assert post(broker, embedded_store, publisher) == 413
