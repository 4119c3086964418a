"""The worker on a thread and an event loop of its own, beside the API in one process (`insights up`).

On the API's loop, the worker's Kafka reading got one turn per turn of the loop, and under many
readers a turn of the loop serves dozens of requests: the worker fell behind the events it was sent,
and the realtime answers behind the plays (BENCHMARKS.md, "reads under ingest"). On a loop of its own
it reads at its own pace; the two loops share the interpreter, whose lock changes hands every few
milliseconds while both have work.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

log = logging.getLogger(__name__)

STOP_SECONDS = 60.0  # an orderly stop commits what was written; past this the process stops anyway


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Together:
    """Services started in order and stopped in reverse order, as one."""

    def __init__(self, *services: Service) -> None:
        self.services = services

    async def start(self) -> None:
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        for service in reversed(self.services):
            await service.stop()


class ServiceThread:
    """Runs the service `make()` returns on a new thread's event loop: made, started and stopped there,
    while the caller's loop goes on."""

    def __init__(self, make: Callable[[], Service], name: str = "worker") -> None:
        self._make = make
        self._started: Future[Service] = Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def start(self) -> Service:
        """Blocks until the service has started on its thread; raises what its start raised."""
        self._thread.start()
        return self._started.result()

    def stop(self) -> None:
        """Blocks until the service has stopped and its loop has closed."""
        if self._thread.ident is None:
            return  # never started
        if not self._started.done() or self._started.exception() is not None:
            self._thread.join(STOP_SECONDS)  # its start failed: nothing runs
            return
        service = self._started.result()
        stopping = asyncio.run_coroutine_threadsafe(service.stop(), self._loop)
        try:
            stopping.result(STOP_SECONDS)
        except Exception:
            log.exception("the %s did not stop cleanly", self._thread.name)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_SECONDS)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            service = self._make()  # made here: what it creates binds to this loop
            self._loop.run_until_complete(service.start())
        except BaseException as error:
            self._started.set_exception(error)
            self._loop.close()
            return
        self._started.set_result(service)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
