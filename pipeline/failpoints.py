"""Named crash points for fault-injection tests: `INSIGHTS_FAILPOINTS="after_events_insert=3"` (read
by Settings, armed by the `insights` command) makes the process kill itself (SIGKILL, like a power cut)
the 3rd time it passes `after_events_insert`.

Unarmed (always, outside tests) it costs one dict lookup per flush.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import Counter

log = logging.getLogger(__name__)

POINTS = ("before_events_insert", "after_ids_insert", "after_events_insert", "after_rollups")


def _armed(spec: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition("=")
        if name not in POINTS or not count.isdigit():
            raise ValueError(f"INSIGHTS_FAILPOINTS: {item!r} is not one of {POINTS} with =N")
        armed[name] = int(count)
    return armed


_ARMED: dict[str, int] = {}
_passed: Counter[str] = Counter()
_together_with: list[int] = []


def arm(spec: str, together_with: int | None = None) -> None:
    """Arm the crash points of `spec` ("name=N,..."); ValueError names a bad one. `together_with`: a
    process killed first (`insights up`, whose worker runs in a process of its own)."""
    _ARMED.clear()
    _ARMED.update(_armed(spec))
    _passed.clear()
    _together_with[:] = [together_with] if together_with else []


def failpoint(name: str) -> None:
    if name not in _ARMED:
        return
    _passed[name] += 1
    if _passed[name] == _ARMED[name]:
        log.warning("failpoint %s reached: killing this process", name)
        for pid in _together_with:
            os.kill(pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
