"""A core of its own for the thread that serves HTTP in `insights up`, while the writes keep up.

In `insights up` one machine runs everything: the event loop answering requests, the engine's threads
(reads, the worker's flushes, merges), the worker's process and Kafka. On a small machine a flush's
threads take the loop's core at every turn, and a request waits behind them although its own work is
a fraction of a millisecond; niceness does not prevent it (bench/mixed_load.py; BENCHMARKS.md, "reads
under ingest"). So when the process may use two CPUs or more:

- the loop's thread is pinned to the last CPU it may use;
- every other thread of this process is kept on the others. A thread inherits the affinity of the
  one that made it, so the threads the loop starts (executors, the engine's pools) are moved over by
  a sweep every SWEEP_SECONDS;
- the worker's process and Kafka start on the others (`child_setup`, run before they exec).

That leaves the writes a core fewer. When they fall behind (every event accepted more than
SHARE_AFTER_SECONDS ago is not yet counted: `complete_through`, given by `follow`), this process's
other threads may use every core until they have caught up (under RESERVE_BELOW_SECONDS), so the
reads' priority never costs more than that much freshness. `insights_loop_core_reserved` says which
holds.

Off by default (INSIGHTS_LOOP_CORE=on turns it on): on two cores it trades freshness, and the computed
reads of a quiet machine, for the reads' latency under load (bench/mixed_load.py; BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

from insights.metrics import LOOP_CORE_RESERVED

log = logging.getLogger(__name__)

SWEEP_SECONDS = 0.5
# How far `complete_through` may trail before the other threads share the loop's core, and how close
# it comes again before they leave it. Idle, it trails by 0.5-1.6 s (it is measured every 0.5 s).
SHARE_AFTER_SECONDS = 3.0
RESERVE_BELOW_SECONDS = 2.0
THREADS_DIR = "/proc/self/task"


def reads_first(
    first: bool,
    behind: float,
    share_after: float = SHARE_AFTER_SECONDS,
    reserve_below: float = RESERVE_BELOW_SECONDS,
) -> bool:
    """Whether the reads keep (or get back) their advantage, given whether they have it now and how many
    seconds the writes trail: given up past `share_after`, taken again under `reserve_below`."""
    if first:
        return behind <= share_after
    return behind < reserve_below


class WhileTheWritesKeepUp:
    """What a favour to the reads that holds while the writes keep up needs: how far they trail."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._through: Callable[[], float | None] = lambda: None

    def follow(self, through: Callable[[], float | None]) -> None:
        """`through`: unix seconds before which every accepted event is counted (None while unknown)."""
        self._through = through

    def behind(self) -> float:
        """Seconds the writes trail now (0 while unknown)."""
        through = self._through()
        return 0.0 if through is None else self._clock() - through


class LoopCore(WhileTheWritesKeepUp):
    """Keeps the calling thread (the event loop's) on one CPU and, while the writes keep up, every other
    thread off it."""

    def __init__(self, cpus: set[int], clock: Callable[[], float] = time.time) -> None:
        if len(cpus) < 2:
            raise ValueError("a core of its own for the loop needs two CPUs or more")
        super().__init__(clock)
        self.loop_cpu = max(cpus)
        self.every = frozenset(cpus)
        self.others = frozenset(cpus - {self.loop_cpu})
        self.reserved = True
        self._children: list[Callable[[], int | None]] = []
        self._loop_thread = threading.get_native_id()
        self._stopped = threading.Event()
        self._sweeper: threading.Thread | None = None

    @classmethod
    def for_this_process(cls, wanted: bool) -> LoopCore | None:
        """A LoopCore for the calling thread when wanted and possible (Linux, two CPUs or more)."""
        if not wanted or not hasattr(os, "sched_setaffinity"):
            return None
        cpus = os.sched_getaffinity(0)
        return cls(cpus) if len(cpus) >= 2 else None

    def start(self) -> None:
        os.sched_setaffinity(self._loop_thread, {self.loop_cpu})
        self.sweep()
        LOOP_CORE_RESERVED.set(1)
        self._sweeper = threading.Thread(target=self._keep, name="loop-core", daemon=True)
        self._sweeper.start()
        others = ",".join(str(cpu) for cpu in sorted(self.others))
        log.info("the event loop has CPU %d to itself; other threads use CPU %s", self.loop_cpu, others)

    def include(self, child: Callable[[], int | None]) -> None:
        """A child process started with `child_setup` (its pid while it runs): its threads share the
        loop's core with this process's while the writes trail."""
        self._children.append(child)

    def stop(self) -> None:
        self._stopped.set()
        if self._sweeper is not None:
            self._sweeper.join()

    def decide(self) -> bool:
        """Whether the loop's core is reserved from now on, from how far the writes trail."""
        behind = self.behind()
        reserved = reads_first(self.reserved, behind)
        if self.reserved and not reserved:
            log.debug("the writes trail by %.1f s: every thread shares CPU %d", behind, self.loop_cpu)
        elif reserved and not self.reserved:
            log.debug("the writes caught up: CPU %d is the event loop's again", self.loop_cpu)
        self.reserved = reserved
        LOOP_CORE_RESERVED.set(1 if self.reserved else 0)
        return self.reserved

    def sweep(self) -> int:
        """Gives every thread but the loop's the CPUs it may use now; returns how many it moved. A thread
        that ends meanwhile is skipped."""
        cpus = self.others if self.reserved else self.every
        threads = [int(name) for name in os.listdir(THREADS_DIR) if int(name) != self._loop_thread]
        for child in self._children:
            if (pid := child()) is not None:
                with contextlib.suppress(FileNotFoundError):
                    threads += [int(name) for name in os.listdir(f"/proc/{pid}/task")]
        moved = 0
        for thread in threads:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.sched_getaffinity(thread) != cpus:
                    os.sched_setaffinity(thread, cpus)
                    moved += 1
        return moved

    def _keep(self) -> None:
        os.sched_setaffinity(0, self.others)  # made by the loop's thread: its CPU until now
        while not self._stopped.wait(SWEEP_SECONDS):
            self.decide()
            self.sweep()

    def child_setup(self) -> None:
        """A preexec_fn: the child process (and every thread it makes) runs on the other CPUs."""
        os.sched_setaffinity(0, self.others)
