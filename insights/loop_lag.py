"""How late the event loop runs what is due: a cheap periodic task asks to wake every INTERVAL and
records how much later than asked it woke, into the metrics of insights/metrics.py.

Any synchronous work on the loop, or the interpreter's lock held by another thread, delays everything
the loop serves by as much: this is the figure that shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

from insights.metrics import LOOP_LAG, LOOP_LAG_WORST

INTERVAL_SECONDS = 0.05  # 20 wake-ups a second: a few microseconds of CPU each
WINDOW_SECONDS = 10.0  # the worst-lag gauge covers this much of the recent past


class LoopLagMonitor:
    """start / stop like the other parts; `loop` names the loop in the metrics ("api" or "worker").
    `clock` and `sleep` are injectable for tests."""

    def __init__(
        self,
        loop: str = "api",
        interval: float = INTERVAL_SECONDS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._lag = LOOP_LAG.labels(loop=loop)
        self._worst = LOOP_LAG_WORST.labels(loop=loop)
        self._interval = interval
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._recent: deque[tuple[float, float]] = deque()  # (when measured, lag)
        self._task: asyncio.Task[None] | None = None

    def observe(self, lag: float, now: float) -> None:
        """Record one measurement: into the histogram, and the worst of the last `window` seconds."""
        self._lag.observe(lag)
        self._recent.append((now, lag))
        while self._recent and self._recent[0][0] < now - self._window:
            self._recent.popleft()
        self._worst.set(max(late for _, late in self._recent))

    async def check(self) -> float:
        """Sleep one interval and return (and record) how much later than due the loop woke."""
        due = self._clock() + self._interval
        await self._sleep(self._interval)
        now = self._clock()
        lag = max(now - due, 0.0)
        self.observe(lag, now)
        return lag

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self.check()
