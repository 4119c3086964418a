"""Ctrl-C always ends `insights up`: a step of stopping that hangs is named and left behind."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

import pytest

from insights import stopping


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopping, "STOP_STEP_SECONDS", 0.1)
    monkeypatch.setattr(stopping, "_left_behind", [])


def run_steps(*steps: tuple[str, object]) -> list[bool]:
    async def all_steps() -> list[bool]:
        return [await stopping.stop_step(what, step) for what, step in steps]  # type: ignore[arg-type]

    return asyncio.run(asyncio.wait_for(all_steps(), 10))


def test_a_step_that_hangs_is_named_with_where_it_waits_and_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def client_that_never_answers() -> None:
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="insights"):
        ended = run_steps(("a client", client_that_never_answers()), ("the next one", asyncio.sleep(0)))
    assert ended == [False, True]
    assert "stopping a client took over 0 s; going on without it" in caplog.text
    assert "in client_that_never_answers" in caplog.text  # where it waits
    assert "the next one" not in caplog.text
    assert stopping.left_behind() == ["a client"]


def test_a_step_that_outlasts_its_cancellation_does_not_hold_stopping() -> None:
    """A client whose clean-up waits again once cancelled (as a consumer stopping in a `finally`)."""

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.Event().wait()

    async def all_steps() -> tuple[bool, bool]:
        first = await stopping.stop_step("a stubborn client", stubborn())
        second = await stopping.stop_step("the next one", asyncio.sleep(0))
        return first, second

    async def bounded() -> tuple[bool, bool]:
        return await asyncio.wait_for(all_steps(), 5)

    loop = asyncio.new_event_loop()
    try:  # not asyncio.run: its close would wait for the stubborn task forever, as the process would
        assert loop.run_until_complete(bounded()) == (False, True)
    finally:
        for task in asyncio.all_tasks(loop):
            task.get_coro().close()  # type: ignore[union-attr]
        loop.close()


def test_a_step_that_fails_raises_its_error() -> None:
    async def failing() -> None:
        raise RuntimeError("broker gone")

    with pytest.raises(RuntimeError, match="broker gone"):
        run_steps(("a client", failing()))
    assert stopping.left_behind() == []


STUBBORN_PROCESS = """
import asyncio, contextlib, logging
from insights import stopping

async def stubborn():
    while True:  # a clean-up that swallows every cancellation
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)

async def main():
    await stopping.stop_step("a stubborn client", stubborn(), 0.1)
    stopping.exit_if_left_behind()

logging.basicConfig(level=logging.INFO)
asyncio.run(main())
"""


def test_a_process_that_left_a_step_behind_exits_rather_than_wait_for_it_again() -> None:
    """asyncio.run's own close waits for every task left, without a bound: the process ends first."""
    done = subprocess.run(
        [sys.executable, "-c", STUBBORN_PROCESS], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "exiting without waiting for: a stubborn client" in done.stderr
