"""Configuration (README.md, Configuration), read once at start-up into one typed object.

Environment variables give the values; command-line flags of the same name override them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import os
import re
import secrets
import shlex
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MIN_SECRET_BYTES = 32  # an HMAC-SHA256 key: shorter ones can be guessed from a single token offline


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable, never a secret."""


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not (text.isdigit() and int(text) > 0):
        raise SettingsError(f"{name} must be a positive integer.")
    return int(text)


def trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """INSIGHTS_TRUSTED_PROXIES: addresses or networks (CIDR) whose X-Forwarded-For is believed,
    or `*` for any; none by default, so no client can choose the address it is throttled under."""
    entries = tuple(e.strip() for e in env.get("INSIGHTS_TRUSTED_PROXIES", "").split(",") if e.strip())
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"INSIGHTS_TRUSTED_PROXIES: {entry!r} is not an IP address or network (e.g. 10.0.0.0/8)."
            ) from None
    return entries


def metrics_port(env: Mapping[str, str]) -> int | None:
    """INSIGHTS_METRICS_PORT: where a process without the API (`insights worker`) serves /metrics."""
    text = env.get("INSIGHTS_METRICS_PORT", "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError("INSIGHTS_METRICS_PORT must be a TCP port number (1-65535).")
    return int(text)


def on_off(env: Mapping[str, str], name: str, default: str) -> bool:
    value = (env.get(name) or default).strip().lower()
    if value not in ("on", "off"):
        raise SettingsError(f"{name} must be `on` or `off`, not {value!r}.")
    return value == "on"


def loop_core(env: Mapping[str, str]) -> bool:
    """INSIGHTS_LOOP_CORE: `on` gives `insights up`'s event loop a core of its own while the writes keep
    up, where there are two or more (insights/loop_core.py); `off` (the default) leaves every thread on
    every core."""
    return on_off(env, "INSIGHTS_LOOP_CORE", "off")


DEFAULT_LOOP_NICENESS, DEFAULT_WRITES_NICENESS = -10, 19  # for the environment and for Settings


def loop_niceness(env: Mapping[str, str]) -> int:
    """INSIGHTS_LOOP_NICENESS: in `insights up`, the OS niceness (-20 to 0) of the thread serving HTTP
    while the writes keep up: -10 by default, where the process may raise it (insights/loop_priority.py);
    0 leaves it at the process's own."""
    text = (env.get("INSIGHTS_LOOP_NICENESS") or str(DEFAULT_LOOP_NICENESS)).strip()
    if not re.fullmatch(r"-?[0-9]{1,2}", text) or not -20 <= int(text) <= 0:
        raise SettingsError(f"INSIGHTS_LOOP_NICENESS must be a whole number from -20 to 0, not {text!r}.")
    return int(text)


def realtime_unflushed(env: Mapping[str, str]) -> bool:
    """INSIGHTS_REALTIME_UNFLUSHED: `on` (the default) lets realtime count the events this API process
    accepted before the worker stores them (api/read/unflushed.py); `off` counts stored events only."""
    return on_off(env, "INSIGHTS_REALTIME_UNFLUSHED", "on")


def writes_niceness(env: Mapping[str, str]) -> int:
    """INSIGHTS_WRITES_NICENESS: in `insights up`, the OS niceness (0 to 19) of the worker's process, of
    the engine's threads running its statements and of the engine's merges: 19 by default, the requests
    first; lower gives fresher answers under load and slower reads (docs/operations.md)."""
    text = (env.get("INSIGHTS_WRITES_NICENESS") or str(DEFAULT_WRITES_NICENESS)).strip()
    if not text.isdigit() or int(text) > 19:
        raise SettingsError(f"INSIGHTS_WRITES_NICENESS must be a whole number from 0 to 19, not {text!r}.")
    return int(text)


def kafka_java_options(env: Mapping[str, str]) -> tuple[str, ...]:
    """INSIGHTS_KAFKA_JAVA_OPTIONS: JVM options added to the local Kafka's own (after them, so a heap
    size given here wins), split as a shell would."""
    text = env.get("INSIGHTS_KAFKA_JAVA_OPTIONS") or ""
    try:
        options = tuple(shlex.split(text))
    except ValueError as unbalanced:
        raise SettingsError(
            f"INSIGHTS_KAFKA_JAVA_OPTIONS cannot be split into options: {unbalanced}."
        ) from None
    if stray := [option for option in options if not option.startswith("-")]:
        raise SettingsError(
            f"INSIGHTS_KAFKA_JAVA_OPTIONS holds JVM options, each starting with `-` "
            f"(e.g. `-Xmx1g -XX:TieredStopAtLevel=1`), not {stray[0]!r}."
        )
    return options


def kafka_cache(env: Mapping[str, str]) -> Path:
    if configured := env.get("INSIGHTS_KAFKA_CACHE"):
        return Path(configured).expanduser()
    cache_home = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "insights" / "kafka"


def strong_secret(value: str, where: str) -> str:
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"{where} must be at least {MIN_SECRET_BYTES} bytes long; "
            "generate one with `openssl rand -hex 32`."
        )
    return value


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
    previous_secrets: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    header_timeout: int = 10
    body_timeout: int = 30
    keep_alive_timeout: int = 5
    max_connections: int = 1000
    log_level: str = "INFO"
    log_format: str = "text"
    metrics_port: int | None = None
    loop_core: bool = False
    loop_niceness: int = DEFAULT_LOOP_NICENESS
    realtime_unflushed: bool = True
    writes_niceness: int = DEFAULT_WRITES_NICENESS
    # Where the local Kafka's jars are fetched to, once (`insights up` and the tests).
    kafka_cache: Path = field(default_factory=lambda: kafka_cache(os.environ))
    # JVM options for the local Kafka `insights up` starts, after its own.
    kafka_java_options: tuple[str, ...] = ()
    # Crash points for the fault tests (pipeline/failpoints.py); empty outside them.
    failpoints: str = ""

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
            previous_secrets=tuple(
                p.strip() for p in env.get("INSIGHTS_PREVIOUS_SECRETS", "").split(",") if p.strip()
            ),
            trusted_proxies=trusted_proxies(env),
            header_timeout=positive_int(env, "INSIGHTS_HEADER_TIMEOUT", 10),
            body_timeout=positive_int(env, "INSIGHTS_BODY_TIMEOUT", 30),
            keep_alive_timeout=positive_int(env, "INSIGHTS_KEEP_ALIVE_TIMEOUT", 5),
            max_connections=positive_int(env, "INSIGHTS_MAX_CONNECTIONS", 1000),
            log_level=env.get("INSIGHTS_LOG_LEVEL") or "INFO",
            log_format=env.get("INSIGHTS_LOG_FORMAT") or "text",
            metrics_port=metrics_port(env),
            loop_core=loop_core(env),
            loop_niceness=loop_niceness(env),
            realtime_unflushed=realtime_unflushed(env),
            writes_niceness=writes_niceness(env),
            kafka_cache=kafka_cache(env),
            kafka_java_options=kafka_java_options(env),
            failpoints=env.get("INSIGHTS_FAILPOINTS", ""),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_dsn.startswith("chdb:")

    def require_engine(self) -> None:
        """chDB is an optional install (the `embedded` extra): say so when it is needed and missing."""
        if self.embedded_clickhouse and importlib.util.find_spec("chdb") is None:
            raise SettingsError(
                "The embedded ClickHouse engine (chDB) is not installed: install it with "
                "`pip install 'insights[embedded]'` (`make setup` does), or set INSIGHTS_CLICKHOUSE_DSN "
                "to a ClickHouse server (http://user:pass@host:8123/db)."
            )

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "secret"

    @property
    def secret_source(self) -> str:
        """Where the signing key comes from, in words (never the key itself)."""
        return "INSIGHTS_SECRET" if self.secret_value else f"the secret in {self.secret_path}"

    def existing_secret(self) -> str:
        """The signing key of an instance that already ran here, for client commands (`token`,
        `generate`): they never make one, since a token signed with a new key is refused by the server."""
        if self.secret_value or self.secret_path.exists():
            return self.secret()
        raise SettingsError(
            f"No secret at {self.secret_path}: tokens must be signed with the key of the instance "
            "that checks them. Run this in the directory where `insights up` runs, pass the same "
            "--data-dir it uses, or set INSIGHTS_SECRET to the servers' secret."
        )

    def secret(self) -> str:
        """The token-signing key: INSIGHTS_SECRET, else one generated once into <data dir>/secret.
        Either way at least MIN_SECRET_BYTES long. Only the server commands (`up`, `api`) make one;
        client commands use `existing_secret`."""
        if self.secret_value:
            return strong_secret(self.secret_value, "INSIGHTS_SECRET")
        path = self.secret_path
        if not path.exists():
            write_new_secret(path)
        return strong_secret(
            path.read_text().strip(), f"The secret in {path} (delete the file to generate a new one)"
        )


def write_new_secret(path: Path) -> None:
    """Writes a new random key to `path` atomically: whole, mode 0600, or not at all (a failed write
    must not leave an empty key behind). If another process wrote one meanwhile, its key stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # never replaces a key another process has written first
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: a rename is atomic too
            if not path.exists():
                os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
