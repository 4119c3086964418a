"""A slow ClickHouse statement is logged once, as its text on one line, and a quick one is not; closing
the store waits for the statements still running on any thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from insights import store


@pytest.fixture
def unreached() -> Iterator[store.Store]:
    """A store on a server never reached: its statements here are only timed and counted."""
    opened = store.Store("http://nowhere:8123")
    yield opened
    opened.close()


def test_a_statement_over_the_threshold_is_logged_on_one_line(
    unreached: store.Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "SLOW_STATEMENT_SECONDS", 0.0)
    with caplog.at_level(logging.WARNING, logger="insights.store"), unreached.watched("SELECT 1\n  FROM t"):
        pass
    (record,) = caplog.records
    assert record.getMessage().startswith("slow ClickHouse statement (0.0 s)")
    assert record.getMessage().endswith("): SELECT 1 FROM t")


def test_a_quick_statement_is_not_logged(unreached: store.Store, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="insights.store"), unreached.watched("SELECT 1"):
        pass
    assert caplog.records == []


def test_a_failing_statement_is_timed_too(
    unreached: store.Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "SLOW_STATEMENT_SECONDS", 0.0)
    with (
        caplog.at_level(logging.WARNING, logger="insights.store"),
        pytest.raises(RuntimeError),
        unreached.watched("INSERT INTO events"),
    ):
        raise RuntimeError("refused")
    assert len(caplog.records) == 1


def running_elsewhere(opened: store.Store, release: threading.Event) -> threading.Thread:
    """A statement under way on a thread of no pool of the store's (as the store bridge's are)."""
    started = threading.Event()

    def statement() -> None:
        with opened.watched("SELECT long"):
            started.set()
            release.wait(30)

    thread = threading.Thread(target=statement, daemon=True)
    thread.start()
    assert started.wait(10)
    return thread


def test_closing_waits_for_a_statement_running_on_another_thread() -> None:
    opened, release = store.Store("http://nowhere:8123"), threading.Event()
    thread = running_elsewhere(opened, release)
    threading.Timer(0.3, release.set).start()
    began = time.monotonic()
    opened.close()
    assert time.monotonic() - began >= 0.25, "closed under a running statement"
    thread.join(10)


def test_a_statement_that_never_ends_leaves_its_client_open_and_the_close_bounded(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "CLOSE_WAIT_SECONDS", 0.2)
    opened, release = store.Store("http://nowhere:8123"), threading.Event()
    running_elsewhere(opened, release)
    try:
        with caplog.at_level(logging.WARNING, logger="insights.store"):
            opened.close()
        assert "1 ClickHouse statement(s) still running" in caplog.text
    finally:
        release.set()
