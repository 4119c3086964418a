"""Configuration of ARCHITECTURE §4, read once at start-up into one typed object.

Environment variables give the values; command-line flags of the same name override them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

EVENTS_TOPIC = "insights.events"
DLQ_TOPIC = "insights.events.dlq"
CATALOG_TOPIC = "insights.catalog"
CHANGES_TOPIC = "insights.changes"
CONSUMER_GROUP = "insights-worker"


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable, never a secret."""


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not (text.isdigit() and int(text) > 0):
        raise SettingsError(f"{name} must be a positive integer.")
    return int(text)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    clickhouse_dsn: str
    kafka_bootstrap: str | None
    topic_partitions: int
    secret_value: str | None
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limit_read: int = 500
    rate_limit_export: int = 30
    rate_limit_ingest: int = 60_000
    auth_failure_limit: int = 20
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(overrides.pop("data_dir", None) or env.get("INSIGHTS_DATA_DIR", ".insights"))
        data_dir = data_dir.expanduser().resolve()
        dsn = env.get("INSIGHTS_CLICKHOUSE_DSN") or f"chdb://{data_dir / 'clickhouse'}"
        origins = env.get("INSIGHTS_CORS_ORIGINS", "")
        settings = cls(
            data_dir=data_dir,
            clickhouse_dsn=dsn,
            kafka_bootstrap=env.get("INSIGHTS_KAFKA_BOOTSTRAP") or None,
            topic_partitions=positive_int(env, "INSIGHTS_TOPIC_PARTITIONS", 6),
            secret_value=env.get("INSIGHTS_SECRET") or None,
            rate_limit_read=positive_int(env, "INSIGHTS_RATE_LIMIT_READ", 500),
            rate_limit_export=positive_int(env, "INSIGHTS_RATE_LIMIT_EXPORT", 30),
            rate_limit_ingest=positive_int(env, "INSIGHTS_RATE_LIMIT_INGEST", 60_000),
            auth_failure_limit=positive_int(env, "INSIGHTS_AUTH_FAILURE_LIMIT", 20),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb:")

    def secret(self) -> str:
        """The token-signing key: INSIGHTS_SECRET, else one generated once into <data dir>/secret."""
        if self.secret_value:
            return self.secret_value
        path = self.data_dir / "secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
