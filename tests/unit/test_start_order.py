"""`insights up` on the embedded engine starts Kafka and migrates the store side by side, and stops
whichever started when the other fails (insights/runner.py, `kafka_and_store`). With fakes of both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from insights import runner
from insights.settings import Settings


class Fakes:
    """A Kafka and a store whose starts can wait for each other, fail, and leave a trace."""

    def __init__(self) -> None:
        self.trace: list[str] = []
        self.kafka_up = asyncio.Event()
        self.store_open = asyncio.Event()
        self.kafka_fails = self.store_fails = False
        self.kafka_waits_for_store = self.store_waits_for_kafka = False

    @contextlib.asynccontextmanager
    async def kafka(self, *args: Any) -> AsyncIterator[str]:
        if self.kafka_waits_for_store:
            await asyncio.wait_for(self.store_open.wait(), 5)
        if self.kafka_fails:
            raise RuntimeError("kafka did not start")
        self.kafka_up.set()
        self.trace.append("kafka started")
        try:
            yield "127.0.0.1:9092"
        finally:
            self.trace.append("kafka stopped")

    @contextlib.asynccontextmanager
    async def store(self, settings: Settings, bootstrap: str | None, **kwargs: Any) -> AsyncIterator[Any]:
        if self.store_waits_for_kafka:
            await asyncio.wait_for(self.kafka_up.wait(), 5)
        self.trace.append(f"migrating (kafka {bootstrap})")
        if self.store_fails:
            raise RuntimeError("a migration failed")
        self.store_open.set()
        try:
            yield "the store"
        finally:
            self.trace.append("store closed")


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    fakes = Fakes()
    monkeypatch.setattr(runner, "kafka_bootstrap", fakes.kafka)
    monkeypatch.setattr(runner, "migrated_store", fakes.store)
    return fakes


def settings(tmp_path: Path, dsn: str | None = None) -> Settings:
    return Settings.from_env({}, data_dir=str(tmp_path), clickhouse_dsn=dsn)


async def start_and_stop(settings: Settings) -> tuple[str, Any]:
    async with runner.kafka_and_store(settings, True, None, writes_yield=True) as started:
        return started


def test_on_the_embedded_engine_kafka_and_the_migrations_start_side_by_side(
    fakes: Fakes, tmp_path: Path
) -> None:
    # Each waits for the other: started one after the other, either order would time out.
    fakes.kafka_waits_for_store = True
    assert asyncio.run(start_and_stop(settings(tmp_path))) == ("127.0.0.1:9092", "the store")
    assert fakes.trace == ["migrating (kafka None)", "kafka started", "kafka stopped", "store closed"]


def test_on_a_server_the_migrations_wait_for_kafka(fakes: Fakes, tmp_path: Path) -> None:
    fakes.store_waits_for_kafka = True
    server = settings(tmp_path, "clickhouse://localhost:8123/insights")
    asyncio.run(start_and_stop(server))
    assert fakes.trace[:2] == ["kafka started", "migrating (kafka 127.0.0.1:9092)"]


def test_a_failed_migration_stops_the_kafka_that_started_and_is_the_error_reported(
    fakes: Fakes, tmp_path: Path
) -> None:
    fakes.store_fails = True
    with pytest.raises(RuntimeError, match="a migration failed"):
        asyncio.run(start_and_stop(settings(tmp_path)))
    assert sorted(fakes.trace[:2]) == ["kafka started", "migrating (kafka None)"]
    assert fakes.trace[2:] == ["kafka stopped"]


def test_a_kafka_that_does_not_start_closes_the_store_that_opened(fakes: Fakes, tmp_path: Path) -> None:
    fakes.kafka_fails = True
    fakes.kafka_waits_for_store = True
    with pytest.raises(RuntimeError, match="kafka did not start"):
        asyncio.run(start_and_stop(settings(tmp_path)))
    assert fakes.trace == ["migrating (kafka None)", "store closed"]
