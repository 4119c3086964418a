"""What the observability middleware costs a request: the same Starlette app called with and without
`ObservabilityMiddleware` (request id, latency histogram, access log at DEBUG), alternately.

The app has the real app's routes (so route lookup is as long as in production) and endpoints that do
nothing, which makes the middleware's share as large as it can be: a real handler (auth, a ClickHouse
query or a Kafka write) dilutes it. Requests are driven straight through ASGI, without a server, so no
socket or HTTP parsing hides the difference. Rerun: `.venv/bin/python bench/observability_overhead.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.observability import ObservabilityMiddleware
from api.pages import docs
from api.read import analytics_routes
from insights.logs import configure_logging

PATH = "/api/v1/producer-intelligence/insights/artists/7/collaborations"  # near the end of the table


async def nothing(request: Request) -> Response:
    return Response(b"{}", media_type="application/json")


def app(observed: bool) -> Starlette:
    routes = [
        Route(r.path, nothing, methods=["GET"]) for r in analytics_routes.routes if isinstance(r, Route)
    ]
    routes += [Route(r.path, nothing) for r in docs.routes if isinstance(r, Route)]
    middleware = [Middleware(ObservabilityMiddleware)] if observed else []
    return Starlette(routes=routes, middleware=middleware)


async def requests_per_second(target: Starlette, count: int) -> float:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        return None

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    started = time.perf_counter()
    for _ in range(count):
        await target(dict(scope), receive, send)  # type: ignore[arg-type]
    return count / (time.perf_counter() - started)


async def main(count: int, rounds: int) -> None:
    configure_logging("INFO", "json")  # as deployed: the access line of a 2xx is below the level
    bare, observed = app(observed=False), app(observed=True)
    await requests_per_second(bare, 2_000)  # warm-up
    await requests_per_second(observed, 2_000)
    ceilings, figures = [], []
    for _ in range(rounds):
        ceilings.append(await requests_per_second(bare, count))
        figures.append(await requests_per_second(observed, count))
    ceiling, figure = max(ceilings), max(figures)
    print(f"bare app (ceiling):           {ceiling:>10,.0f} requests/s")
    print(f"with ObservabilityMiddleware: {figure:>10,.0f} requests/s")
    print(f"ratio: {figure / ceiling:.2f}   per request: +{(1 / figure - 1 / ceiling) * 1e6:.1f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
