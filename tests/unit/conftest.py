"""The app with stand-ins for Kafka and ClickHouse, and the OpenAPI document, for the unit tests of the
HTTP edge (test_openapi.py, test_exports.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.app import create_app
from api.ingest.publisher import MAX_MESSAGE_BYTES, KafkaUnavailable
from schemas.openapi import openapi_document

SECRET = "openapi-unit-test-secret-of-a-reasonable-length"


class FakeStore:
    def __init__(self) -> None:
        self.up = True

    async def ping(self) -> bool:
        return self.up


class FakePublisher:
    max_message_bytes = MAX_MESSAGE_BYTES

    def __init__(self) -> None:
        self.up = True
        self.published: list[tuple[str, Sequence[tuple[bytes, bytes]]]] = []
        self.partitions: list[list[int] | None] = []
        self.ends: dict[int, int] = {}  # partition -> the offset its next message gets

    async def healthy(self) -> bool:
        return self.up

    async def partition_count(self, topic: str) -> int:
        if not self.up:
            raise KafkaUnavailable("the broker is down (stand-in)")
        return 6

    async def publish(
        self, topic: str, messages: Sequence[tuple[bytes, bytes]], partitions: Sequence[int] | None = None
    ) -> list[tuple[int, int]]:
        if not self.up:
            raise KafkaUnavailable("the broker is down (stand-in)")
        self.published.append((topic, messages))
        self.partitions.append(list(partitions) if partitions is not None else None)
        placed = []
        for partition in partitions or [0] * len(messages):
            placed.append((partition, self.ends.get(partition, 0)))
            self.ends[partition] = placed[-1][1] + 1
        return placed


@pytest.fixture
def fakes() -> tuple[FakeStore, FakePublisher]:
    return FakeStore(), FakePublisher()


@pytest.fixture
def app(fakes: tuple[FakeStore, FakePublisher]) -> Starlette:
    store, publisher = fakes
    return create_app(store, publisher, SECRET)  # type: ignore[arg-type]


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_document()
