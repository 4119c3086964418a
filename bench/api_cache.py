"""What the response cache buys: 1,000 dashboards polling one track's realtime endpoint, and the cost of
a cached 304 beside a bare Starlette endpoint answering the same 304.

1. Pollers: the real app (auth, limits, cache, handlers) over a fresh chDB store holding one catalog
   track with realtime activity, driven in-process through httpx's ASGI transport (no sockets, so the
   client costs little). --pollers clients each poll every --interval seconds with If-None-Match, for
   --seconds. Reported: ClickHouse statements per second (counted at the Store), per refresh interval,
   answers by status, and the latency p50/p99 of one poll.
2. 304 cost: the same If-None-Match request sent --requests times in a row to (a) the full app with a
   warm cache and (b) a bare Starlette app whose one route answers the same 304 with the same headers,
   no middleware. Ratio = full app's requests/s over the bare app's (1.0 would be free).

Rerun: `.venv/bin/python bench/api_cache.py [--pollers 1000] [--interval 2] [--seconds 20]
[--requests 20000]`. Prints the figures; the JSON lands in bench/results/api-cache-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from typing import Any

import httpx
from reporting import publish
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.app import ApiOptions, create_app
from api.http.limits import Limits
from insights.migrate import migrate
from insights.store import Store
from schemas.tokens import create_token

SECRET = "bench-secret-of-a-reasonable-length-0123456789"
TRACK, ARTIST = 42, 7
TRACK_PATH = f"/api/v1/producer-intelligence/insights/tracks/{TRACK}"
REALTIME = TRACK_PATH + "/realtime"
CHART = TRACK_PATH + "/charts"  # with timeframe=1y: kept 30 s, so the 304 run hits a warm cache
UNLIMITED = ApiOptions(limits=Limits(read=10**9, export=10**9, ingest=10**9, auth_failures=10**9))


class CountingStore(Store):
    statements = 0

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        CountingStore.statements += 1
        return super().query_rows(sql, parameters, binary)


def fill(store: Store) -> None:
    store.insert("artists", [(ARTIST, "Ana Vale", 1)], ("artist_id", "name", "version"))
    store.insert(
        "tracks",
        [(TRACK, "Night Drive", None, [ARTIST], 1)],
        ("track_id", "title", "album_id", "artist_ids", "version"),
    )
    # An hour of activity: 3,000 plays by 500 listeners, as the worker's catch-up would write them.
    store.command(
        """INSERT INTO track_realtime
           SELECT {track:UInt64}, toStartOfSecond(now64() - toIntervalSecond(number % 3600)), 0,
                  1, uniqExactState(toString(number % 500)), number
           FROM numbers(3000) GROUP BY number""",
        {"track": TRACK},
    )


async def pollers(app: Starlette, count: int, interval: float, seconds: float) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {create_token(SECRET, artists=[ARTIST])}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    transport = httpx.ASGITransport(app=app)
    deadline = time.monotonic() + seconds

    async def dashboard(http: httpx.AsyncClient) -> None:
        await asyncio.sleep(random.uniform(0, interval))  # dashboards open at different moments
        etag = None
        while time.monotonic() < deadline:
            headers = bearer | ({"If-None-Match": etag} if etag else {})
            started = time.perf_counter()
            answer = await http.get(REALTIME, headers=headers)
            latencies.append(time.perf_counter() - started)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            etag = answer.headers.get("ETag", etag)
            await asyncio.sleep(interval)

    before = CountingStore.statements
    started = time.monotonic()
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        await asyncio.gather(*(dashboard(http) for _ in range(count)))
    elapsed = time.monotonic() - started
    statements = CountingStore.statements - before
    latencies.sort()
    return {
        "pollers": count,
        "interval_s": interval,
        "seconds": round(elapsed, 1),
        "polls": len(latencies),
        "statuses": statuses,
        "statements_per_s": round(statements / elapsed, 2),
        "statements_per_interval": round(statements / elapsed * interval, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def bare_app(headers: dict[str, str]) -> Starlette:
    async def not_modified(request: Request) -> Response:
        return Response(status_code=304, headers=headers)

    return Starlette(routes=[Route(CHART, not_modified)])


async def rate(app: Starlette, headers: dict[str, str], requests: int) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        for _ in range(200):  # warm-up
            await http.get(CHART, params={"timeframe": "1y"}, headers=headers)
        started = time.perf_counter()
        for _ in range(requests):
            answer = await http.get(CHART, params={"timeframe": "1y"}, headers=headers)
        elapsed = time.perf_counter() - started
    assert answer.status_code == 304, answer.status_code
    return requests / elapsed


async def not_modified_cost(app: Starlette, requests: int) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {create_token(SECRET, artists=[ARTIST])}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        first = await http.get(CHART, params={"timeframe": "1y"}, headers=bearer)
    conditional = bearer | {"If-None-Match": first.headers["ETag"]}
    same = {k: v for k, v in first.headers.items() if k.lower() in ("etag", "cache-control", "vary")}
    full = await rate(app, conditional, requests)
    bare = await rate(bare_app(same), conditional, requests)
    return {
        "requests": requests,
        "full_app_rps": round(full),
        "bare_starlette_rps": round(bare),
        "ratio": round(full / bare, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pollers", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = CountingStore(f"chdb://{tmp}/clickhouse")
        migrate(store)
        fill(store)
        # No limits: in real life 1,000 dashboards do not share one token.
        app = create_app(store, None, SECRET, UNLIMITED)  # type: ignore[arg-type]
        polling = asyncio.run(pollers(app, args.pollers, args.interval, args.seconds))
        cost = asyncio.run(not_modified_cost(app, args.requests))
        store.close()
    publish(
        "api-cache",
        {
            "pollers": polling,
            "not_modified": cost,
        },
    )


if __name__ == "__main__":
    main()
