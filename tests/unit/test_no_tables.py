"""The worker's Faust app keeps no tables, so its start skips Faust's wait for tables to be defined
(pipeline/worker.py, `NoTables`): a second of every worker start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import faust
import pytest

from insights.settings import Settings
from pipeline.worker import NoTables, Worker


def started(manager: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Runs the manager's start with what touches Kafka left out; returns its steps in order."""
    steps: list[str] = []

    async def sleep(seconds: float) -> None:
        steps.append(f"sleep {seconds}")

    async def channels_updated() -> None:
        steps.append("tables finalized")

    async def recovery_started() -> None:
        steps.append("recovery started")

    monkeypatch.setattr(manager, "sleep", sleep)
    monkeypatch.setattr(manager, "_update_channels", channels_updated)
    monkeypatch.setattr(manager.recovery, "start", recovery_started)
    asyncio.run(manager.on_start())
    return steps


def test_without_tables_the_start_does_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    app = faust.App("no-tables-test", TableManager=NoTables)
    assert started(app.tables, monkeypatch) == ["tables finalized", "recovery started"]


def test_with_a_table_the_start_is_faust_s_own(monkeypatch: pytest.MonkeyPatch) -> None:
    app = faust.App("a-table-test", TableManager=NoTables)
    app.Table("counts", default=int)
    assert started(app.tables, monkeypatch) == ["sleep 1.0", "tables finalized", "recovery started"]


def test_the_worker_s_app_is_built_with_it(tmp_path: Path) -> None:
    worker = Worker(Settings.from_env({}, data_dir=str(tmp_path)), MagicMock(), "127.0.0.1:9092")
    assert isinstance(worker.app.tables, NoTables)


def test_it_logs_as_faust_does() -> None:
    # The logs keep Faust's loggers to warnings: its start and stop are not news to an operator.
    assert NoTables.logger.name.startswith("faust.")
