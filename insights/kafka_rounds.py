"""A part that asks Kafka something every few seconds in the background, with an admin client and a
consumer of its own (the pipeline monitor, the API's watermark): start / stop like the other parts."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient


class KafkaRounds:
    """Subclasses implement `_run`, the loop; `stop` cancels it and closes both clients."""

    name = "kafka-rounds"

    def __init__(self, bootstrap: str, interval: float) -> None:
        self._interval = interval
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=5_000
        )
        self._task: asyncio.Task[None] | None = None
        self._connected = False

    async def connect(self) -> None:
        """Start both clients, once; raises while Kafka cannot be reached, for the next round to retry."""
        if not self._connected:
            await self._admin.start()  # returns at once once started
            await self._consumer.start()
            self._connected = True

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self._consumer.stop()
        with contextlib.suppress(Exception):
            await self._admin.close()

    async def _run(self) -> None:
        raise NotImplementedError
