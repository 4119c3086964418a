"""Shared fixtures: the embedded ClickHouse engine (chDB, one per test process) and, where one is
available, a ClickHouse server (INSIGHTS_TEST_CLICKHOUSE_URL, or a container when Docker answers)."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from insights.migrate import migrate
from insights.store import Store

DATA_TABLES = (
    "events",
    "event_keys",
    "track_daily",
    "track_totals",
    "unsketched_tracks",
    "track_hourly",
    "track_quarter",
    "track_audience_daily",
    "track_audience_quarter",
    "track_realtime",
    "listener_blocks",
    "listener_windows",
    "kept_windows",
    "bucket_counts",
    "artists",
    "albums",
    "tracks",
    "partition_owners",
    "kafka_identity",
    "partition_progress",
    "complete_through_claims",
)


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A test that runs a command in-process (`insights.cli.main`) configures logging as a process does
    at start: a handler on the test's captured stderr. Taken off after the test, so later tests in this
    process (their API threads included) do not log to a closed stream."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:  # ours; pytest's own handlers are subclasses
            root.removeHandler(handler)
    root.setLevel(level)


def docker_answers() -> bool:
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def clickhouse_server_dsn() -> Iterator[str]:
    """An http:// DSN of a ClickHouse server, or a clean skip when there is none."""
    url = os.environ.get("INSIGHTS_TEST_CLICKHOUSE_URL")
    if url:
        yield url
        return
    if not docker_answers():
        pytest.skip("no ClickHouse server: set INSIGHTS_TEST_CLICKHOUSE_URL or run a Docker engine")
    from testcontainers.clickhouse import ClickHouseContainer

    with ClickHouseContainer("clickhouse/clickhouse-server:24.8") as server:
        host, port = server.get_container_host_ip(), server.get_exposed_port(8123)
        yield f"http://{server.username}:{server.password}@{host}:{port}/{server.dbname}"


@pytest.fixture(scope="session")
def embedded_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("chdb") / "clickhouse"
    store = Store(f"chdb://{path}")
    migrate(store)
    yield store
    store.close()


@pytest.fixture(scope="session")
def server_store(clickhouse_server_dsn: str) -> Iterator[Store]:
    store = Store(clickhouse_server_dsn)
    migrate(store)
    yield store
    store.close()


@pytest.fixture(scope="session", params=["embedded", "server"])
def store(request: pytest.FixtureRequest) -> Store:
    """Each store-level test runs on chDB, and on a ClickHouse server when one is available."""
    return request.getfixturevalue(f"{request.param}_store")  # type: ignore[no-any-return]


@pytest.fixture
def clean_store(store: Store) -> Store:
    for table in DATA_TABLES:
        store.command(f"TRUNCATE TABLE {table}")
    return store
