"""Liveness and readiness probes, without authentication."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from api.responses import JSONResponse


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    kafka, clickhouse = await asyncio.gather(
        request.app.state.publisher.healthy(), request.app.state.store.ping()
    )
    checks = {"kafka": "ok" if kafka else "down", "clickhouse": "ok" if clickhouse else "down"}
    identity = request.app.state.identity
    if identity is not None:
        checks["kafka_identity"] = identity.verdict.problem or "ok"
    ready = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {
            "status": "ready" if ready else "unavailable",
            "checks": checks,
            "warnings": await warnings(request),
        },
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )


async def warnings(request: Request) -> list[str]:
    """What does not stop serving but breaks a promise, e.g. exactly-once on replicated ClickHouse."""
    store = request.app.state.store
    try:
        warning = await store.run(store.replication_warning)
    except Exception:  # ClickHouse down: `checks` says so
        return []
    return [warning] if warning else []
