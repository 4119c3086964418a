"""The worker process's statements, run by the process that owns the embedded engine (a real chDB)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from insights import store as store_module
from insights.store import Store
from insights.store_bridge import HELLO_SECONDS, STATEMENTS, BridgeServer, receive_frame, send_frame
from tests.integration.test_write_priority import PRIORITY_SQL

SESSION_TABLE = "CREATE TEMPORARY TABLE IF NOT EXISTS bridged_staging (n UInt32) ENGINE = Memory"


@pytest.fixture
def owner(embedded_store: Store) -> Iterator[tuple[Store, BridgeServer]]:
    store = Store(embedded_store.dsn, writes_niceness=10)
    metrics: list[socket.socket] = []
    bridge = BridgeServer(store, metrics.append)
    try:
        yield store, bridge
    finally:
        bridge.close()
        store.close()


@pytest.fixture
def bridged(owner: tuple[Store, BridgeServer]) -> Iterator[Store]:
    _, bridge = owner
    store = Store(bridge.dsn, bridge_token=bridge.token)
    try:
        yield store
    finally:
        store.close()


def test_statements_inserts_and_reads_cross_the_bridge(
    owner: tuple[Store, BridgeServer], bridged: Store
) -> None:
    local, _ = owner
    assert bridged.embedded
    bridged.command(
        "CREATE TABLE IF NOT EXISTS bridged (id UInt32, name String) ENGINE = MergeTree ORDER BY id"
    )
    bridged.command("TRUNCATE TABLE bridged")
    bridged.insert_columns("bridged", [[1, 2, 3], ["a", "b", "c"]], ("id", "name"))
    bridged.insert("bridged", [(4, "d")], ("id", "name"))
    rows = bridged.query_rows("SELECT id, name FROM bridged WHERE id >= {low:UInt32} ORDER BY id", {"low": 2})
    assert rows == [(2, "b"), (3, "c"), (4, "d")]
    assert bridged.query_rows("SELECT name FROM bridged WHERE id = 1", binary=True) == [(b"a",)]
    assert local.query_rows("SELECT count() FROM bridged") == [(4,)]  # the owner's engine holds them


def test_each_thread_keeps_its_session_and_runs_at_the_writers_priority(bridged: Store) -> None:
    all_staged = threading.Barrier(3, timeout=30)

    def stage(n: int) -> tuple[object, ...]:
        bridged.session_table(SESSION_TABLE)
        bridged.command("TRUNCATE TABLE bridged_staging")
        bridged.insert_columns("bridged_staging", [[n] * n], ("n",))
        all_staged.wait()  # every thread's table is filled before any is read
        (row,) = bridged.query_rows(f"SELECT count(), any(n), ({PRIORITY_SQL}) FROM bridged_staging")
        return row

    with ThreadPoolExecutor(3) as pool:
        # Each thread's temporary table is its own, as with a client per thread in one process.
        assert sorted(pool.map(stage, (1, 2, 3))) == [(1, 1, 10), (2, 2, 10), (3, 3, 10)]


def test_errors_come_back_as_the_clients_errors(bridged: Store) -> None:
    with pytest.raises(DatabaseError, match=r"UNKNOWN_TABLE|Unknown table"):
        bridged.query_rows("SELECT * FROM no_such_table")
    assert bridged.query_rows("SELECT 1") == [(1,)]  # the connection is still good


def test_a_gone_owner_is_an_operational_error(owner: tuple[Store, BridgeServer], bridged: Store) -> None:
    assert bridged.query_rows("SELECT 1") == [(1,)]
    owner[1].close()
    with pytest.raises(OperationalError, match="not reachable"):
        bridged.query_rows("SELECT 1")


def test_a_connection_without_the_token_is_refused_before_anything_is_read(
    owner: tuple[Store, BridgeServer],
) -> None:
    _, bridge = owner
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(bridge.path)
        send_frame(sock, b"not-the-token " + STATEMENTS)
        sock.settimeout(HELLO_SECONDS)
        with pytest.raises(ConnectionError):
            receive_frame(sock)  # closed without a word
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(bridge.path)
        sock.sendall((1 << 60).to_bytes(8, "big"))  # a first frame claiming an exabyte is not awaited
        sock.settimeout(HELLO_SECONDS)
        with pytest.raises(ConnectionError):
            receive_frame(sock)
    wrong = Store(bridge.dsn, bridge_token="0" * 32)
    try:
        with pytest.raises(OperationalError):
            wrong.query_rows("SELECT 1")
    finally:
        wrong.close()


def test_metrics_connections_are_handed_over(owner: tuple[Store, BridgeServer]) -> None:
    local, _ = owner
    handed: list[socket.socket] = []
    arrived = threading.Event()

    def hand_over(sock: socket.socket) -> None:
        handed.append(sock)
        arrived.set()

    server = BridgeServer(local, hand_over)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(server.path)
            send_frame(sock, server.token.encode() + b" metrics")
            assert arrived.wait(5)
            send_frame(handed[0], b"hello")
            assert receive_frame(sock) == b"hello"
    finally:
        server.close()


def test_the_owner_counts_a_bridged_statement_as_running_when_it_closes(
    owner: tuple[Store, BridgeServer],
    bridged: Store,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A statement the worker started is among those the owner's store waits for when it closes.

    Closing a chDB client under its statement here waits for the statement, so the test does not time
    the close: it shortens the owner's wait and reads what the close says it left running."""
    local, _ = owner
    monkeypatch.setattr(store_module, "CLOSE_WAIT_SECONDS", 0.2)
    running = (
        "SELECT count() FROM system.processes"
        " WHERE query LIKE '%sleep(2.5)%' AND query NOT LIKE '%processes%'"
    )
    with ThreadPoolExecutor(1) as pool:
        long = pool.submit(bridged.query_rows, "SELECT sleep(2.5)")
        while local.query_rows(running) == [(0,)]:  # until the engine runs it, on the bridge's thread
            assert not long.done(), "the statement never showed as running"
        with caplog.at_level(logging.WARNING, logger="insights.store"):
            local.close()
        assert "1 ClickHouse statement(s) still running" in caplog.text
        assert long.result(timeout=10) == [(0,)]  # left open, the client still answers
