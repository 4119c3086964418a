"""Liveness and readiness probes, without authentication.

Readiness costs a Kafka round trip and a ClickHouse query, so one check answers every probe for
READY_CACHE_SECONDS (and probes arriving during a check wait for it): an unauthenticated flood of
/readyz costs the dependencies one check a second at most.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.http.responses import JSONResponse

READY_CACHE_SECONDS = 1.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class Readiness:
    """The last readiness check, kept READY_CACHE_SECONDS; at most one check runs at a time."""

    def __init__(self, store: Any, publisher: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self._checked_at = -float("inf")
        self._checks: dict[str, bool] = {}
        self.warnings: list[str] = []
        self._lock = asyncio.Lock()

    async def checks(self) -> dict[str, bool]:
        async with self._lock:
            if self._clock() - self._checked_at >= READY_CACHE_SECONDS:
                kafka, clickhouse = await asyncio.gather(self._publisher.healthy(), self._store.ping())
                self._checks = {"kafka": kafka, "clickhouse": clickhouse}
                self.warnings = await warnings(self._store) if clickhouse else []
                self._checked_at = self._clock()
            return self._checks


async def readyz(request: Request) -> Response:
    readiness: Readiness = request.app.state.readiness
    found = await readiness.checks()
    checks = {name: "ok" if up else "down" for name, up in found.items()}
    identity = request.app.state.identity
    if identity is not None:
        checks["kafka_identity"] = identity.verdict.problem or "ok"
    ready = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {
            "status": "ready" if ready else "unavailable",
            "checks": checks,
            "warnings": readiness.warnings,
        },
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )


async def warnings(store: Any) -> list[str]:
    """What does not stop serving but breaks a promise, e.g. exactly-once on replicated ClickHouse."""
    try:
        warning = await store.run(store.replication_warning)
    except Exception:  # ClickHouse down: `checks` says so
        return []
    return [warning] if warning else []
