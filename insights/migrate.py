"""Applies schemas/clickhouse/NNN_name.sql in order and records each in schema_migrations.

Idempotent: applied versions are skipped and every statement is IF NOT EXISTS; duplicate numbers are refused.
Safe to start from every process at once: one process holds a lease in ClickHouse and migrates, the
others wait for it. A migration whose file says `-- needs: stopped workers` refuses to run while the
workers' consumer group has members.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


# The lease: the first insert of an attempt number wins, because ClickHouse drops a second insert
# with the same deduplication token (a compare-and-set on one table). The holder renews it while it
# migrates; a holder that died is replaced once its lease has expired.
_CREATE_LEASE = """
CREATE TABLE IF NOT EXISTS migration_lease
(
    attempt    UInt64,
    holder     String,
    renewal    UInt32,
    expires_at DateTime64(3, 'UTC'),
    released   UInt8
)
ENGINE = MergeTree
ORDER BY (attempt, renewal)
SETTINGS non_replicated_deduplication_window = 1000
"""
LEASE_SECONDS = 60.0
WAIT_POLL_SECONDS = 0.5
STOPPED_WORKERS = "-- needs: stopped workers"


class MigrationError(RuntimeError):
    pass


class WorkersRunning(MigrationError):
    """A migration that needs the workers stopped found members in their consumer group."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def needs_stopped_workers(self) -> bool:
        return any(line.strip() == STOPPED_WORKERS for line in self.sql.splitlines())

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


class Lease:
    """One process's hold on the right to migrate (see _CREATE_LEASE)."""

    def __init__(self, store: Store, seconds: float = LEASE_SECONDS) -> None:
        self.store, self.seconds = store, seconds
        self.holder = uuid.uuid4().hex
        self.attempt = 0
        self._renewals = 0

    def _newest(self) -> tuple[int, str, bool, bool]:
        """(attempt, holder, released, expired) of the newest attempt; attempt 0 when none."""
        rows = self.store.query_rows(
            "SELECT attempt, argMax(holder, renewal), max(released), max(expires_at) < now64(3)"
            " FROM migration_lease GROUP BY attempt ORDER BY attempt DESC LIMIT 1"
        )
        if not rows:
            return 0, "", True, True
        attempt, holder, released, expired = rows[0]
        return int(attempt), str(holder), bool(released), bool(expired)

    def _write(self, released: bool = False) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=self.seconds)
        self.store.insert(
            "migration_lease",
            [[self.attempt, self.holder, self._renewals, expires, int(released)]],
            ("attempt", "holder", "renewal", "expires_at", "released"),
            settings={"insert_deduplication_token": f"lease-{self.attempt}-{self._renewals}"},
        )

    def try_acquire(self) -> bool:
        """Take the lease if it is free; False while another process holds it."""
        attempt, _, released, expired = self._newest()
        if not (released or expired):
            return False
        self.attempt, self._renewals = attempt + 1, 0
        self._write()
        return self._newest()[:2] == (self.attempt, self.holder)

    def renew(self) -> None:
        self._renewals += 1
        self._write()

    def release(self) -> None:
        self._renewals += 1
        self._write(released=True)


def migrate(
    store: Store,
    directory: Path | None = None,
    *,
    group_members: Callable[[], int] | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> list[Migration]:
    """Apply pending migrations; return the ones applied now (empty when up to date).

    Waits while another process migrates. `group_members` counts the workers' consumer group; on a
    store that has applied migrations before, a migration that needs stopped workers refuses
    (WorkersRunning) while it is not 0, or when it is not given."""
    migrations = load_migrations(directory)
    store.command(_CREATE_LEASE)
    lease = Lease(store, lease_seconds)
    waited = False
    while True:
        done = applied_versions(store)
        pending = [m for m in migrations if m.version not in done]
        if not pending:
            return []
        if lease.try_acquire():
            break
        if not waited:
            log.info("another process is migrating ClickHouse; waiting for it")
            waited = True
        time.sleep(WAIT_POLL_SECONDS)
    try:
        return _apply(store, migrations, lease, group_members)
    finally:
        lease.release()


def _apply(
    store: Store, migrations: list[Migration], lease: Lease, group_members: Callable[[], int] | None
) -> list[Migration]:
    done = applied_versions(store)
    fresh = not done  # a fresh install: no worker can have written anything to rebuild
    applied: list[Migration] = []
    for migration in migrations:
        if migration.version in done:
            continue
        if migration.needs_stopped_workers and not fresh:
            members = group_members() if group_members is not None else None
            if members != 0:
                found = "could not be counted" if members is None else f"has {members} member(s)"
                raise WorkersRunning(
                    f"Migration {migration.name} needs the workers stopped, but their consumer group"
                    f" {found}. Stop every `insights worker` (and `insights up`), then run"
                    " `insights migrate` again; the workers can start once it has finished."
                )
        log.info("applying migration %s", migration.name)
        for statement in migration.statements:
            store.command(statement)
            lease.renew()
        store.insert("schema_migrations", [[migration.version, migration.name]], ["version", "name"])
        applied.append(migration)
    return applied
