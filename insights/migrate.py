"""Applies schemas/clickhouse/NNN_name.sql in order and records each in schema_migrations.

Idempotent: applied versions are skipped and every statement is IF NOT EXISTS; duplicate numbers are refused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from insights.store import Store

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def statements(self) -> list[str]:
        without_comments = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [part.strip() for part in without_comments.split(";") if part.strip()]


def default_directory() -> Path:
    return Path(str(resources.files("schemas") / "clickhouse"))


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Every migration file of the directory, sorted; refuses two files with one number."""
    directory = directory or default_directory()
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"Migration file name {path.name!r} is not NNN_name.sql.")
        version = int(match.group("version"))
        if version in found:
            raise MigrationError(
                f"Two migrations share number {version:03d}: {found[version].name} and {path.name}."
            )
        found[version] = Migration(version, path.name, path.read_text())
    return [found[v] for v in sorted(found)]


def applied_versions(store: Store) -> set[int]:
    store.command(_CREATE_LEDGER)
    return {int(row[0]) for row in store.query_rows("SELECT version FROM schema_migrations FINAL")}


def migrate(store: Store, directory: Path | None = None) -> list[Migration]:
    """Apply pending migrations; return the ones applied now (empty when up to date)."""
    migrations = load_migrations(directory)
    done = applied_versions(store)
    applied: list[Migration] = []
    for migration in migrations:
        if migration.version in done:
            continue
        log.info("applying migration %s", migration.name)
        for statement in migration.statements:
            store.command(statement)
        store.insert("schema_migrations", [[migration.version, migration.name]], ["version", "name"])
        applied.append(migration)
    return applied
