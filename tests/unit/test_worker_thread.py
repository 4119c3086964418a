"""The worker beside the API: made, started and stopped on a thread and loop of its own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from insights.worker_thread import ServiceThread


class Recorder:
    def __init__(self) -> None:
        self.made_on = threading.current_thread()
        self.started_on: asyncio.AbstractEventLoop | None = None
        self.stopped_on: asyncio.AbstractEventLoop | None = None
        self.ticks = 0
        self.ticked = threading.Event()  # set once its loop has turned a few times on its own

    async def start(self) -> None:
        self.started_on = asyncio.get_running_loop()
        asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            self.ticks += 1
            if self.ticks == 3:
                self.ticked.set()
            await asyncio.sleep(0.001)

    async def stop(self) -> None:
        self.stopped_on = asyncio.get_running_loop()


def test_the_service_runs_on_its_own_thread_and_loop_while_the_callers_loop_goes_on() -> None:
    asyncio.run(runs_beside_the_callers_loop())


async def runs_beside_the_callers_loop() -> None:
    service_thread = ServiceThread(Recorder, name="worker")
    service = await asyncio.to_thread(service_thread.start)
    assert isinstance(service, Recorder)
    assert service.made_on.name == "worker"
    assert service.started_on is service_thread.loop
    assert service.started_on is not asyncio.get_running_loop()
    assert await asyncio.to_thread(service.ticked.wait, 10)
    await asyncio.to_thread(service_thread.stop)
    assert service.stopped_on is service_thread.loop
    assert service_thread.loop.is_closed()
    assert not service.made_on.is_alive()


def test_a_failed_start_is_raised_to_the_caller() -> None:
    class Refuses(Recorder):
        async def start(self) -> None:
            raise ConnectionError("no Kafka")

    service_thread = ServiceThread(Refuses)
    with pytest.raises(ConnectionError, match="no Kafka"):
        service_thread.start()
    service_thread.stop()  # nothing to stop: returns at once
    assert service_thread.loop.is_closed()


def test_a_stop_that_fails_still_ends_the_thread(caplog: pytest.LogCaptureFixture) -> None:
    class BadStop(Recorder):
        async def stop(self) -> None:
            raise RuntimeError("broken")

    service_thread = ServiceThread(BadStop, name="worker")
    service = service_thread.start()
    service_thread.stop()
    assert not service.made_on.is_alive()
    assert "the worker did not stop cleanly" in caplog.text
