"""Ctrl-C always ends `insights up`: a step of stopping that hangs is named and left behind."""

from __future__ import annotations

import asyncio
import logging

import pytest

from insights import runner


def test_a_step_that_hangs_is_named_and_left_behind(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STOP_STEP_SECONDS", 0.1)
    steps: list[str] = []

    async def stopping() -> None:
        await runner.stop_step("a client that never answers", asyncio.Event().wait())
        await runner.stop_step("the next one", asyncio.sleep(0))
        steps.append("all done")

    with caplog.at_level(logging.ERROR, logger="insights"):
        asyncio.run(asyncio.wait_for(stopping(), 10))
    assert steps == ["all done"]
    assert "stopping a client that never answers took over 0 s; going on without it" in caplog.text
    assert "the next one" not in caplog.text
