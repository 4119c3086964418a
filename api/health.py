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
    ready = kafka and clickhouse
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )
