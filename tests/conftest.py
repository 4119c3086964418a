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

# The brokers the tests start, theirs and those of the `insights up` they start, compile with the JVM's
# quick compiler only: a broker then takes about 3 CPU-seconds to start and settle instead of 5, and a
# run starts some forty. Their traffic is small; the benchmarks run Kafka as users do.
os.environ.setdefault("INSIGHTS_KAFKA_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1")

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


# The modules that take longest (seconds of one full run, in order), started first: `make test` hands
# each of its runners a module at a time in the order collected, so a long module collected late kept
# one runner busy for minutes after the others had finished (a 237 s module started near the end).
LONGEST_FIRST = (
    "integration/test_faults",  # 237 s
    "integration/test_replay_outage_and_late",  # 166
    "integration/test_read_api",  # 85
    "integration/test_many_workers",  # 84
    "integration/test_exports",  # 74
    "integration/test_dashboard",  # 73
    "integration/test_end_to_end",  # 71
    "integration/test_kafka_local",  # 63
    "integration/test_change_feed",  # 57
    "integration/test_worker_process",  # 45
    "integration/test_openapi_conformance",  # 44
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules in LONGEST_FIRST first, in its order; the others after, as collected (the sort is
    stable, so each module's own order is kept)."""
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(f"{item.path.parent.name}/{item.path.stem}", len(rank)))


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
