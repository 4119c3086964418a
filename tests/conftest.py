"""Shared fixtures: one embedded ClickHouse engine per test session (chDB allows one per process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from insights.migrate import migrate
from insights.store import Store

DATA_TABLES = ("events", "track_daily", "track_totals")


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("chdb") / "clickhouse"
    store = Store(f"chdb://{path}")
    migrate(store)
    yield store
    store.close()


@pytest.fixture
def clean_store(store: Store) -> Store:
    for table in DATA_TABLES:
        store.command(f"TRUNCATE TABLE {table}")
    return store
