"""GET /metrics: the process's counters in the Prometheus text format (no authentication: scrape it
from inside the network; it holds counts, never data)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from insights.metrics import REGISTRY


async def metrics(request: Request) -> Response:
    # Off the loop: in `insights up` the worker process's figures are asked for meanwhile
    # (insights/worker_process.py).
    return Response(await run_in_threadpool(generate_latest, REGISTRY), media_type=CONTENT_TYPE_LATEST)
