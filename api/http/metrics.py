"""GET /metrics: the process's counters in the Prometheus text format (no authentication: scrape it
from inside the network; it holds counts, never data)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from insights.metrics import REGISTRY


async def metrics(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
