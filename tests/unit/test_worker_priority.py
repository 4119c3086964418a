"""The worker's process lowers its own priority and its session's (insights/worker_process.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insights import worker_process


def test_the_session_gets_the_workers_niceness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    niced: list[int] = []
    monkeypatch.setattr(worker_process.os, "nice", niced.append)
    autogroup = tmp_path / "autogroup"
    autogroup.write_text("/autogroup-7 nice 0\n")
    worker_process.lower_priority(10, str(autogroup))
    assert niced == [10]
    assert autogroup.read_text() == "10"


def test_without_autogroup_only_the_process_is_niced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    niced: list[int] = []
    monkeypatch.setattr(worker_process.os, "nice", niced.append)
    worker_process.lower_priority(4, str(tmp_path / "missing" / "autogroup"))
    assert niced == [4]
