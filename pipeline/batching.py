"""The batches between the worker's Kafka loop and its writes: one filled while the one before is
written, so reading and decoding messages overlap a flush instead of waiting for it.

The reader adds each message whole (its decoded events, none when it went to the dead letters);
the writer takes the batch once it holds `size` events or its first message has waited `within`
seconds. While the batch being filled is full, the reader waits: at most two batches are held.
Pure asyncio, no Kafka and no ClickHouse, so it is tested alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.sink import SourcedEvent


@dataclass
class Batch:
    events: list[SourcedEvent] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)  # what the reader added, in order: acked once written
    opened: float = 0.0  # the loop's clock when its first message came


class Batches:
    def __init__(self, size: int, within: float) -> None:
        self._size = size
        self._within = within
        self._filling = Batch()
        self._changed = asyncio.Condition()
        self._failure: BaseException | None = None

    async def add(self, message: Any, events: Sequence[SourcedEvent]) -> None:
        """Add one message and its events; waits while the batch being filled is full. Raises the
        writer's failure, if it stopped with one."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._failure is not None or not self._full())
            if self._failure is not None:
                raise self._failure
            batch = self._filling
            first = not batch.messages
            if first:
                batch.opened = asyncio.get_running_loop().time()
            batch.events += events
            batch.messages.append(message)
            # The writer waits for a first message (then for its timer) or for a full batch: waking it
            # at every message would cost a turn of the loop each.
            if first or self._full():
                self._changed.notify_all()

    async def take(self) -> Batch:
        """The next batch, once it holds `size` events or `within` seconds have passed since its first
        message."""
        loop = asyncio.get_running_loop()
        async with self._changed:
            while True:
                batch = self._filling
                wait = None
                if batch.messages:
                    wait = batch.opened + self._within - loop.time()
                    if wait <= 0 or self._full():
                        self._filling = Batch()
                        self._changed.notify_all()
                        return batch
                try:
                    async with asyncio.timeout(wait):
                        await self._changed.wait()
                except TimeoutError:
                    pass

    async def fail(self, failure: BaseException) -> None:
        """The writer stopped with `failure`: the reader raises it instead of waiting for room."""
        async with self._changed:
            self._failure = failure
            self._changed.notify_all()

    def _full(self) -> bool:
        return len(self._filling.events) >= self._size
