from pathlib import Path

import pytest

from insights.migrate import MigrationError, load_migrations, migrate
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
