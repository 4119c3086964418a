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
CONSUMER_GROUP = "insights-worker"


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable, never a secret."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    clickhouse_dsn: str
    kafka_bootstrap: str | None
    topic_partitions: int
    secret_value: str | None
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(overrides.pop("data_dir", None) or env.get("INSIGHTS_DATA_DIR", ".insights"))
        data_dir = data_dir.expanduser().resolve()
        dsn = env.get("INSIGHTS_CLICKHOUSE_DSN") or f"chdb://{data_dir / 'clickhouse'}"
        partitions_text = env.get("INSIGHTS_TOPIC_PARTITIONS", "6")
        try:
            partitions = int(partitions_text)
        except ValueError:
            partitions = 0
        if partitions < 1:
            raise SettingsError("INSIGHTS_TOPIC_PARTITIONS must be a positive integer.")
        settings = cls(
            data_dir=data_dir,
            clickhouse_dsn=dsn,
            kafka_bootstrap=env.get("INSIGHTS_KAFKA_BOOTSTRAP") or None,
            topic_partitions=partitions,
            secret_value=env.get("INSIGHTS_SECRET") or None,
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
