"""The store's threads: the worker's writes have their own, so no queue of reads can delay a flush."""

from __future__ import annotations

import asyncio
import threading

from insights.store import Store


def test_a_write_never_queues_behind_reads_holding_every_read_thread() -> None:
    """In one process with the API, a burst of slow reads must not hold the worker's flushes back."""
    store = Store("http://nowhere:8123", threads=2)
    release = threading.Event()

    async def scenario() -> str:
        reads = [asyncio.ensure_future(store.run(release.wait)) for _ in range(4)]  # 2 running, 2 queued
        await asyncio.sleep(0)
        written = await asyncio.wait_for(store.write(lambda: "flushed"), timeout=10)
        assert not any(read.done() for read in reads)  # the reads were all still waiting
        release.set()
        await asyncio.gather(*reads)
        return written

    try:
        assert asyncio.run(scenario()) == "flushed"
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
