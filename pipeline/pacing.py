"""Long synchronous work on the event loop cut into bounded slices, so whatever else the same loop
serves (Kafka's heartbeats and fetches, the worker's writer) waits at most one slice behind it.

`await pacer.pause()` between two pieces of work yields to the loop once the current slice has run
for `budget` seconds; between pauses the work runs at full speed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

SLICE_SECONDS = 0.002  # a request waits at most about this long behind the worker's decoding


class Pacer:
    def __init__(self, budget: float = SLICE_SECONDS, clock: Callable[[], float] = time.perf_counter) -> None:
        self._budget = budget
        self._clock = clock
        self._since = clock()
        self.yields = 0  # how many times the work gave the loop its turn

    async def pause(self) -> None:
        """Yield to the loop if this slice has used its budget; else return at once."""
        if self._clock() - self._since < self._budget:
            return
        self.yields += 1
        await asyncio.sleep(0)
        self._since = self._clock()
