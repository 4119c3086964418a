import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from insights.migrate import Lease, MigrationError, WorkersRunning, load_migrations, migrate
from insights.store import Store

pytestmark = pytest.mark.integration


def schema(store: Store) -> list[tuple[str, str]]:
    return store.query_rows(
        "SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    )


def test_applying_migrations_twice_changes_nothing(store: Store) -> None:
    before = schema(store)
    ledger = store.query_rows("SELECT version, name FROM schema_migrations FINAL ORDER BY version")
    assert migrate(store) == []
    assert schema(store) == before
    assert [v for v, _ in ledger] == [m.version for m in load_migrations()]
    assert store.query_rows("SELECT count() FROM schema_migrations FINAL") == [(len(ledger),)]


def test_migrations_are_numbered_and_unique(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1")
    (tmp_path / "001_b.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="share number 001"):
        load_migrations(tmp_path)


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "create_things.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match=r"NNN_name\.sql"):
        load_migrations(tmp_path)


@pytest.fixture
def scratch(store: Store) -> Iterator[Store]:
    """The shared engine, cleaned of the scratch migrations (900+) and their table afterwards."""
    yield store
    store.command("DROP TABLE IF EXISTS scratch_runs")
    store.command("DELETE FROM schema_migrations WHERE version >= 900")


def test_many_processes_migrating_at_once_run_each_migration_once(scratch: Store, tmp_path: Path) -> None:
    (tmp_path / "901_counted.sql").write_text(
        "CREATE TABLE IF NOT EXISTS scratch_runs (n UInt8) ENGINE = MergeTree ORDER BY n;\n"
        "SELECT sleep(0.5);\n"  # a slow migration: every racer would be inside it at once
        "INSERT INTO scratch_runs VALUES (1)"
    )
    results: list[int] = []

    def one_process() -> None:
        results.append(len(migrate(scratch, tmp_path)))

    racers = [threading.Thread(target=one_process) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert scratch.query_rows("SELECT count() FROM scratch_runs") == [(1,)]


def test_a_migration_that_needs_stopped_workers_refuses_while_they_run(
    scratch: Store, tmp_path: Path
) -> None:
    (tmp_path / "902_rebuild.sql").write_text(
        "-- needs: stopped workers\n"
        "CREATE TABLE IF NOT EXISTS scratch_runs (n UInt8) ENGINE = MergeTree ORDER BY n"
    )
    with pytest.raises(WorkersRunning, match="has 2 member"):
        migrate(scratch, tmp_path, group_members=lambda: 2)
    with pytest.raises(WorkersRunning, match="could not be counted"):
        migrate(scratch, tmp_path)
    assert [m.name for m in migrate(scratch, tmp_path, group_members=lambda: 0)] == ["902_rebuild.sql"]


def test_a_lease_whose_holder_died_is_taken_over_once_expired(scratch: Store, tmp_path: Path) -> None:
    (tmp_path / "903_table.sql").write_text(
        "CREATE TABLE IF NOT EXISTS scratch_runs (n UInt8) ENGINE = MergeTree ORDER BY n"
    )
    dead = Lease(scratch, seconds=1.0)
    assert dead.try_acquire()  # and never released: the process was killed
    assert not Lease(scratch).try_acquire()
    assert [m.name for m in migrate(scratch, tmp_path)] == ["903_table.sql"]
