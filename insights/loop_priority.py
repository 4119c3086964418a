"""A higher OS priority for the thread that serves HTTP in `insights up`, while the writes keep up.

`insights up` runs everything on one machine: the event loop answering requests, the engine's threads,
the worker's process, Kafka, and whatever else the machine runs (a load generator, a browser). The
writes already yield (INSIGHTS_WRITES_NICENESS), but every other thread that wakes takes the loop's
core for a moment: at 20,000 events/s under 32 polling connections the loop waited for a core about a
fifth of the time, in thousands of short waits a second, and every request in flight waited with it
(bench/mixed_load.py; BENCHMARKS.md, "reads under ingest"). At niceness -10 (INSIGHTS_LOOP_NICENESS)
the loop's thread weighs about nine times a default thread, so it is seldom made to wait.

- Only the loop's thread: a thread starts at the niceness of the thread that made it, so threads the
  loop starts (the store's pools, executors) are put back to the process's own niceness, the store's
  as they start (`unraised`), any other by a sweep every SWEEP_SECONDS. The engine's threads are
  made by those, at the process's niceness.
- While the writes keep up: when every event accepted more than SHARE_AFTER_SECONDS ago is not yet
  counted (`complete_through`, given by `follow`), the loop goes back to the process's niceness until
  the writes are within RESERVE_BELOW_SECONDS. One thread takes one core at most, so unlike a core of
  its own (insights/loop_core.py), the priority leaves the writes every other core and the loop's own
  whenever it waits: they trail only when the machine cannot keep up with both (ingest at 50,000
  events/s and reads at 32 connections on 2 cores: every event counted 17-21 s after such a load with
  the priority, which took every event, 11 s without, which took 37,000-42,000 a second). Past 30 s
  the reads give way, and the ingest requests slow with them, until the writes are back within 10 s.
- Raising a priority needs the right to (root, CAP_SYS_NICE, or an RLIMIT_NICE that allows it):
  without it the loop keeps the process's niceness, and the log says so once. `insights_loop_niceness`
  says which niceness the loop has.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

from insights.loop_core import THREADS_DIR, WhileTheWritesKeepUp, reads_first
from insights.metrics import LOOP_NICENESS

log = logging.getLogger(__name__)

SWEEP_SECONDS = 0.5
SHARE_AFTER_SECONDS, RESERVE_BELOW_SECONDS = 30.0, 10.0
GIVEN_UP = (
    "the writes trail by %.0f s (over %.0f s): the event loop serves at niceness %d until they catch up"
)
# The raised niceness of this process's loop while it holds it, for `unraised` (one loop a process).
_raised: list[tuple[int, int]] = []  # [(raised, the process's own)] while a LoopPriority runs


def niceness_of(thread: int) -> int:
    """A thread's niceness (Linux: the priority of a thread id is that thread's)."""
    return os.getpriority(os.PRIO_PROCESS, thread)


def unraised() -> None:
    """A thread initializer: a thread the loop made while raised runs at the process's own niceness."""
    if _raised:
        raised, own = _raised[0]
        me = threading.get_native_id()
        with contextlib.suppress(OSError):
            if niceness_of(me) == raised:
                os.setpriority(os.PRIO_PROCESS, me, own)


class LoopPriority(WhileTheWritesKeepUp):
    """Keeps the calling thread (the event loop's) at `niceness` while the writes keep up."""

    def __init__(self, niceness: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.niceness = niceness
        self._loop_thread = threading.get_native_id()
        self.own = niceness_of(self._loop_thread)
        self.raised = False
        self._stopped = threading.Event()
        self._sweeper: threading.Thread | None = None

    @classmethod
    def for_this_process(cls, niceness: int) -> LoopPriority | None:
        """A LoopPriority for the calling thread when `niceness` is below the process's own (Linux)."""
        if not hasattr(os, "getpriority") or not os.path.isdir(THREADS_DIR):
            return None
        priority = cls(niceness)
        return priority if niceness < priority.own else None

    def start(self) -> bool:
        """Raises the loop's priority; False (logged) when this process may not."""
        # Started first: a thread takes the niceness of the one that made it, at its start.
        self._sweeper = threading.Thread(target=self._keep, name="loop-priority", daemon=True)
        self._sweeper.start()
        try:
            os.setpriority(os.PRIO_PROCESS, self._loop_thread, self.niceness)
        except OSError:  # EPERM or EACCES: not allowed
            self.stop()
            self._sweeper = None
            log.info(
                "the event loop keeps niceness %d: niceness %d needs root, CAP_SYS_NICE or a higher "
                "RLIMIT_NICE (INSIGHTS_LOOP_NICENESS=0 stops trying)",
                self.own,
                self.niceness,
            )
            LOOP_NICENESS.set(self.own)
            return False
        self.raised = True
        _raised[:] = [(self.niceness, self.own)]
        LOOP_NICENESS.set(self.niceness)
        log.info("the event loop serves at niceness %d while the writes keep up", self.niceness)
        return True

    def stop(self) -> None:
        self._stopped.set()
        if self._sweeper is not None:
            self._sweeper.join()
        _raised.clear()

    def decide(self) -> bool:
        """Whether the loop keeps its raised priority from now on, from how far the writes trail."""
        behind = self.behind()
        first = reads_first(self.raised, behind, SHARE_AFTER_SECONDS, RESERVE_BELOW_SECONDS)
        if first != self.raised:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self._loop_thread, self.niceness if first else self.own)
                self.raised = first
                if first:
                    log.info(
                        "the writes caught up: the event loop serves at niceness %d again", self.niceness
                    )
                else:
                    log.info(GIVEN_UP, behind, SHARE_AFTER_SECONDS, self.own)
        LOOP_NICENESS.set(self.niceness if self.raised else self.own)
        return self.raised

    def sweep(self) -> int:
        """Puts every other thread at the loop's raised niceness back to the process's; how many."""
        moved = 0
        for name in os.listdir(THREADS_DIR):
            thread = int(name)
            if thread == self._loop_thread:
                continue
            with contextlib.suppress(OSError):  # ended meanwhile
                if niceness_of(thread) == self.niceness:
                    os.setpriority(os.PRIO_PROCESS, thread, self.own)
                    moved += 1
        return moved

    def _keep(self) -> None:
        while not self._stopped.wait(SWEEP_SECONDS):
            self.decide()
            self.sweep()
