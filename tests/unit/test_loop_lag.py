"""The event loop's lag (insights/loop_lag.py): how late a periodic check wakes, into /metrics."""

from __future__ import annotations

import asyncio
import time

from insights.loop_lag import LoopLagMonitor
from insights.metrics import REGISTRY


def lag_count(bound: str | None = None, loop: str = "api") -> float:
    if bound is None:
        return REGISTRY.get_sample_value("insights_event_loop_lag_seconds_count", {"loop": loop}) or 0.0
    labels = {"loop": loop, "le": bound}
    return REGISTRY.get_sample_value("insights_event_loop_lag_seconds_bucket", labels) or 0.0


def worst(loop: str = "api") -> float | None:
    return REGISTRY.get_sample_value("insights_event_loop_lag_worst_seconds", {"loop": loop})


class FakeTime:
    """A clock that a sleep advances by what it was asked plus a chosen lateness (binary fractions,
    so the sums are exact)."""

    def __init__(self) -> None:
        self.now = 1024.0
        self.late = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self.late


def test_a_check_records_how_much_later_than_due_the_loop_woke() -> None:
    fake = FakeTime()
    monitor = LoopLagMonitor(interval=0.0625, clock=fake.clock, sleep=fake.sleep)
    before, under_25ms, under_50ms = lag_count(), lag_count("0.025"), lag_count("0.05")
    fake.late = 0.03125
    assert asyncio.run(monitor.check()) == 0.03125
    assert lag_count() == before + 1
    assert lag_count("0.025") == under_25ms  # 31 ms is not within 25 ms
    assert lag_count("0.05") == under_50ms + 1
    assert worst() == 0.03125


def test_a_loop_on_time_has_no_lag() -> None:
    fake = FakeTime()
    monitor = LoopLagMonitor(interval=0.0625, clock=fake.clock, sleep=fake.sleep)
    assert asyncio.run(monitor.check()) == 0.0
    assert worst() == 0.0


def test_the_worst_lag_covers_only_the_recent_window() -> None:
    monitor = LoopLagMonitor(window=10.0)
    monitor.observe(0.2, now=100.0)
    monitor.observe(0.01, now=105.0)
    assert worst() == 0.2
    monitor.observe(0.01, now=110.5)  # the 0.2 s of 10.5 s ago has left the window
    assert worst() == 0.01


def test_a_real_loop_blocked_by_synchronous_work_shows_that_long_a_lag() -> None:
    async def blocked_while_checking() -> float:
        monitor = LoopLagMonitor(interval=0.01)
        checking = asyncio.create_task(monitor.check())
        await asyncio.sleep(0)  # the check is now asleep, due 10 ms from now
        time.sleep(0.05)  # synchronous work holds the loop 50 ms  # noqa: ASYNC251
        return await checking

    # The check was due 10 ms after it began and could only run after the 50 ms: at least 40 ms late.
    assert asyncio.run(blocked_while_checking()) >= 0.04


def test_each_loop_is_measured_under_its_own_name() -> None:
    """In `insights up` the worker's loop runs beside the API's: a late worker loop is not the API's."""
    fake = FakeTime()
    api = LoopLagMonitor("api", interval=0.0625, clock=fake.clock, sleep=fake.sleep)
    worker = LoopLagMonitor("worker", interval=0.0625, clock=fake.clock, sleep=fake.sleep)
    api_checks, worker_checks = lag_count(), lag_count(loop="worker")
    asyncio.run(api.check())
    fake.late = 0.125
    asyncio.run(worker.check())
    assert (lag_count(), lag_count(loop="worker")) == (api_checks + 1, worker_checks + 1)
    assert (worst(), worst("worker")) == (0.0, 0.125)
