"""Stopping in bounded steps: Ctrl-C always ends the process.

Each step of stopping (the HTTP server, a Kafka client, a monitor) gets a bound. A step that outlasts it
is named in the log with the line it waits on, cancelled and left behind, and stopping goes on. The step
is not awaited once cancelled: a client whose clean-up swallows or outlasts the cancellation would hold
the process again. Nothing is lost by leaving one: what a stopped process had not made durable is redone
at the next start, as after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger("insights")

STOP_STEP_SECONDS = 15.0

_left_behind: list[str] = []


async def stop_step(what: str, stopping: Awaitable[Any], seconds: float | None = None) -> bool:
    """Waits at most `seconds` (default STOP_STEP_SECONDS) for `stopping`; returns whether it ended.
    Its error, if it ended with one, is raised."""
    bound = STOP_STEP_SECONDS if seconds is None else seconds
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait({task}, timeout=bound)
    if done:
        task.result()
        return True
    log.error(
        "stopping %s took over %.0f s; going on without it. It waits at:\n  %s",
        what,
        bound,
        "\n  ".join(waiting_at(task)) or "(unknown)",
    )
    task.cancel()
    _left_behind.append(what)
    return False


def waiting_at(task: asyncio.Future[Any]) -> list[str]:
    """Where a pending task waits, outermost first: each coroutine it awaits, down to a future."""
    lines: list[str] = []
    awaited: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    while awaited is not None and len(lines) < 50:
        if isinstance(awaited, asyncio.Task):
            awaited = awaited.get_coro()
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            lines.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return lines


def left_behind() -> list[str]:
    """The steps this process left behind, by name."""
    return list(_left_behind)


def exit_if_left_behind() -> None:
    """Ends the process now if a step was left behind: the event loop's own close would wait for it
    again, without a bound. Everything else has stopped by the time this is called."""
    if not _left_behind:
        return
    log.warning("exiting without waiting for: %s", ", ".join(_left_behind))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
