"""Fixtures of the integration tests that need a broker.

`kafka` is an external Kafka when one is configured (INSIGHTS_TEST_KAFKA_BOOTSTRAP) or a Kafka
container when a Docker engine answers, with Insights' topics deleted before each test so that every
test starts from an empty broker; otherwise a fresh local single-node Kafka per test. `local_kafka` is
always a broker the test owns, for tests that stop and restart it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from insights.dev.kafka_local import LocalKafka
from schemas.topics import CATALOG_TOPIC, CHANGES_TOPIC, DLQ_TOPIC, EVENTS_TOPIC
from tests.conftest import docker_answers
from tests.integration.harness import UpProcess

INSIGHTS_TOPICS = (EVENTS_TOPIC, CATALOG_TOPIC, DLQ_TOPIC, CHANGES_TOPIC)


@dataclass(frozen=True)
class ExternalKafka:
    """A broker the tests share but do not own: it cannot be stopped, only emptied."""

    bootstrap: str


async def delete_insights_topics(bootstrap: str) -> None:
    """Delete Insights' topics (Kafka drops the worker group's offsets of deleted topics with them)
    and wait until the broker no longer lists them, so they can be created again at once."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        present = [t for t in await admin.list_topics() if t in INSIGHTS_TOPICS]
        if present:
            await admin.delete_topics(present)
        async with asyncio.timeout(60):
            while True:  # until they are gone: a topic's deletion finishes asynchronously
                if not set(await admin.list_topics()) & set(INSIGHTS_TOPICS):
                    break
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


# Tests compare the API's answers with the reference model's figures for "today" (UTC), each computed
# at its own moment: a test begun in the half-minute either side of a UTC midnight could see two days.
MIDNIGHT_MARGIN = timedelta(seconds=30)


def wait_past_midnight(now: datetime) -> float:
    """Seconds to wait so that a test begun at `now` starts at least MIDNIGHT_MARGIN from a UTC midnight."""
    since = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    if since < MIDNIGHT_MARGIN:
        return (MIDNIGHT_MARGIN - since).total_seconds()
    if since > timedelta(days=1) - MIDNIGHT_MARGIN:
        return (timedelta(days=1) + MIDNIGHT_MARGIN - since).total_seconds()
    return 0.0


@pytest.fixture(autouse=True)
def not_across_midnight() -> None:
    time.sleep(wait_past_midnight(datetime.now(UTC)))


@pytest.fixture(scope="module", autouse=True)
def no_insights_up_left_running() -> Iterator[None]:
    """A test that fails before stopping its `insights up` must not leave it running past its module
    (module-scoped `insights up` fixtures are stopped before this runs)."""
    yield
    UpProcess.kill_leftovers()


@pytest.fixture(scope="session")
def shared_kafka() -> Iterator[ExternalKafka | None]:
    """INSIGHTS_TEST_KAFKA_BOOTSTRAP, else a Kafka container when Docker answers, else None.

    A variable of its own (not INSIGHTS_KAFKA_BOOTSTRAP): the tests delete Insights' topics on it."""
    bootstrap = os.environ.get("INSIGHTS_TEST_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield ExternalKafka(bootstrap)
        return
    if not docker_answers():
        yield None
        return
    from testcontainers.community.kafka import KafkaContainer

    with KafkaContainer().with_kraft() as container:
        yield ExternalKafka(container.get_bootstrap_server())


@pytest.fixture
def local_kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    """A fresh single-node Kafka for one test (3 partitions by default), stopped after it."""
    broker = LocalKafka(tmp_path / "kafka", partitions=3)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka(shared_kafka: ExternalKafka | None, request: pytest.FixtureRequest) -> ExternalKafka | LocalKafka:
    """An empty Kafka for one test: the shared one emptied, or a local one of its own."""
    if shared_kafka is None:
        return request.getfixturevalue("local_kafka")  # type: ignore[no-any-return]
    asyncio.run(delete_insights_topics(shared_kafka.bootstrap))
    return shared_kafka


@pytest.fixture(scope="session")
def session_kafka(
    shared_kafka: ExternalKafka | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExternalKafka | LocalKafka]:
    """One Kafka for the whole session, for tests that only write to it and read nothing back (the
    API's answers): the shared one, else a local one started once. Tests may not stop it."""
    if shared_kafka is not None:
        yield shared_kafka
        return
    broker = LocalKafka(tmp_path_factory.mktemp("session-kafka") / "kafka", partitions=1)
    broker.start()
    yield broker
    broker.stop()
