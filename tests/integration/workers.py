"""Several workers in one process on one store: each its own Faust app and consumer-group member on
the real Kafka, all writing the same ClickHouse engine, as N `insights worker` processes write one
server. With the embedded engine (one process per data path) this is the only way to run them
together; with INSIGHTS_TEST_CLICKHOUSE_URL the same tests run against a server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.ingest.endpoints import partitioned_batches
from api.ingest.publisher import MAX_MESSAGE_BYTES, Publisher
from insights.runner import ensure_topics
from insights.settings import Settings
from insights.store import Store
from pipeline.sink import RollupSink
from pipeline.worker import Worker
from schemas.events import validate_batch
from schemas.topics import EVENTS_TOPIC
from tests.integration import reference

PARTITIONS = 4


def settings_for(tmp_path: Path) -> Settings:
    return Settings.from_env(env={"INSIGHTS_TOPIC_PARTITIONS": str(PARTITIONS)}, data_dir=tmp_path)


async def publish(bootstrap: str, events: list[dict[str, Any]], batch: int = 500) -> None:
    """As ingest writes them: each batch's events to the partitions of their ids."""
    publisher = Publisher(bootstrap)
    await publisher.start()
    try:
        partitions = await publisher.partition_count(EVENTS_TOPIC)
        for start in range(0, len(events), batch):
            accepted, _ = validate_batch(events[start : start + batch])
            placed = partitioned_batches(accepted, partitions, MAX_MESSAGE_BYTES)
            await publisher.publish(EVENTS_TOPIC, [m for _, m, _ in placed], [p for p, _, _ in placed])
    finally:
        await publisher.stop()


def counted(store: Store, tracks: list[int]) -> dict[int, tuple[int, int, int]]:
    """(plays, likes, listeners) per track from the all-time rollup."""
    rows = store.query_rows(
        "SELECT track_id, sum(plays), sum(likes), uniqExactMerge(listeners) FROM track_totals"
        " WHERE track_id IN {tracks:Array(UInt64)} GROUP BY track_id",
        {"tracks": tracks},
    )
    return {t: (p, likes, u) for t, p, likes, u in rows}


def expected(events: list[dict[str, Any]], tracks: list[int]) -> dict[int, tuple[int, int, int]]:
    """The same figures from the reference model (each event_id once)."""
    result = {}
    for t in tracks:
        mine = reference.counted(events, [t])
        plays = [e for e in mine if e["type"] == "play"]
        likes = sum(1 for e in mine if e["type"] == "like")
        result[t] = (len(plays), likes, len({e["listener_id"] for e in plays}))
    return result


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s")
        await asyncio.sleep(0.2)


async def settled(
    store: Store, events: list[dict[str, Any]], tracks: list[int], within: float = 120.0
) -> None:
    """Wait until the rollups hold exactly the reference figures, then check they stay so."""
    want = expected(events, tracks)
    try:
        await until(lambda: counted(store, tracks) == want, within, "exact counts")
    except AssertionError:
        got = counted(store, tracks)
        plays = sum(p for p, _, _ in got.values()), sum(p for p, _, _ in want.values())
        raise AssertionError(f"counted {plays[0]} plays of {plays[1]}; tracks off: {got != want}") from None
    await asyncio.sleep(2.0)  # a late or double write would show now
    assert counted(store, tracks) == want


class WorkerGroup:
    """Starts and stops in-process workers of one consumer group on one store."""

    def __init__(
        self, settings: Settings, store: Store, bootstrap: str, rebalance_timeout: float = 60.0
    ) -> None:
        self.settings, self.store, self.bootstrap = settings, store, bootstrap
        self.rebalance_timeout = rebalance_timeout
        self.workers: list[Worker] = []

    async def start(self) -> Worker:
        if not self.workers:
            await ensure_topics(self.settings, self.bootstrap)
        worker = Worker(self.settings, self.store, self.bootstrap, rebalance_timeout=self.rebalance_timeout)
        self.workers.append(worker)
        await worker.start()
        return worker

    async def stop(self, worker: Worker) -> None:
        self.workers.remove(worker)
        await worker.stop()

    async def stop_all(self) -> None:
        for worker in list(self.workers):
            await self.stop(worker)


class PausedFlush:
    """Holds a sink's next flush inside its thread until released: a worker frozen mid-write."""

    def __init__(self, sink: RollupSink) -> None:
        self.sink, self.flush = sink, sink.flush
        self.paused, self.go = threading.Event(), threading.Event()

    def _held_flush(self, batch: Any) -> Any:
        if not self.paused.is_set():
            self.paused.set()
            self.go.wait(timeout=300)
        return self.flush(batch)

    def __enter__(self) -> PausedFlush:
        self.sink.flush = self._held_flush  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.go.set()
