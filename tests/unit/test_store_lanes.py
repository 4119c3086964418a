"""The store's threads: the worker's writes and the quick reads have their own, so no queue of long
reads can delay a flush or a realtime poll."""

from __future__ import annotations

import asyncio
import threading

import pytest

from insights.store import Store


@pytest.mark.parametrize("lane", ["write", "quick read"])
def test_writes_and_quick_reads_never_queue_behind_reads_holding_every_read_thread(lane: str) -> None:
    """In one process with the API, a burst of slow reads must hold back neither the worker's flushes
    nor a realtime poll (a statement of a few milliseconds)."""
    store = Store("http://nowhere:8123", threads=2)
    release = threading.Event()

    async def scenario() -> str:
        reads = [asyncio.ensure_future(store.run(release.wait)) for _ in range(4)]  # 2 running, 2 queued
        await asyncio.sleep(0)
        ran = store.write(lambda: lane) if lane == "write" else store.run(lambda: lane, quick=True)
        done = await asyncio.wait_for(ran, timeout=10)
        assert not any(read.done() for read in reads)  # the reads were all still waiting
        release.set()
        await asyncio.gather(*reads)
        return done

    try:
        assert asyncio.run(scenario()) == lane
    finally:
        release.set()
        store.close()


def test_the_writes_niceness_is_for_the_embedded_engine_only() -> None:
    """On a server the API and the worker are processes of their own: nothing to yield to."""
    store = Store("http://nowhere:8123", writes_niceness=10)
    try:
        assert not store.embedded and store.writes_niceness == 0
    finally:
        store.close()
