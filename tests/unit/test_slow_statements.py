"""A slow ClickHouse statement is logged once, as its text on one line, and a quick one is not."""

from __future__ import annotations

import logging

import pytest

from insights import store


def test_a_statement_over_the_threshold_is_logged_on_one_line(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "SLOW_STATEMENT_SECONDS", 0.0)
    with caplog.at_level(logging.WARNING, logger="insights.store"), store._watched("SELECT 1\n  FROM t"):
        pass
    (record,) = caplog.records
    assert record.getMessage().startswith("slow ClickHouse statement (0.0 s)")
    assert record.getMessage().endswith("): SELECT 1 FROM t")


def test_a_quick_statement_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="insights.store"), store._watched("SELECT 1"):
        pass
    assert caplog.records == []


def test_a_failing_statement_is_timed_too(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "SLOW_STATEMENT_SECONDS", 0.0)
    with (
        caplog.at_level(logging.WARNING, logger="insights.store"),
        pytest.raises(RuntimeError),
        store._watched("INSERT INTO events"),
    ):
        raise RuntimeError("refused")
    assert len(caplog.records) == 1
