"""Work the API starts without waiting for it (a refresh ahead of need): its task is held until it is
done, and a failure is logged rather than lost, since the caller's next attempt reports it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[None]] = set()


def in_background(work: Coroutine[Any, Any, object], failure: str) -> asyncio.Task[None]:
    """Run `work` on the running loop; if it raises, log `failure` with the error."""

    async def logged() -> None:
        try:
            await work
        except Exception as error:
            log.warning("%s: %s", failure, error)

    task = asyncio.get_running_loop().create_task(logged())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def settled() -> None:
    """Waits until the work started so far is done (a test's way to know no refresh is still running)."""
    while _running:
        await asyncio.gather(*_running, return_exceptions=True)
