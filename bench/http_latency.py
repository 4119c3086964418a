"""Track analytics over HTTP with 32 concurrent clients, beside a bare Starlette endpoint returning the
same JSON.

A child process serves either the real app (auth, limits, cache, handler, ClickHouse) over a fresh
embedded store holding --events events of TRACKS tracks written through the worker's own sink, or a
bare Starlette app whose one route returns the same bytes; both under uvicorn on a local port. A load
generator keeps --clients requests in flight for --seconds against each in turn:

- bare: the ceiling; cached: the app, every client asking for the same track (the response cache
  answers; one computation per max-age); uncached: a track and range of its own on every request
  (`from`, `to`), so every answer is computed (auth, catalog, ClickHouse).

The app is served on the product's HTTP protocol (insights/http_server.py), the bare route on uvicorn's.

Two load generators, each in one process, both measured: wrk (C, epoll; `apt-get install wrk`, skipped
with a note when absent) and an aiohttp client. On a 2-core machine the client's CPU is taken from the
server's: aiohttp needs about as much CPU per request as the server, wrk a fifth of it, so wrk's
figures are the server's and aiohttp's include the client's queueing.

Reported per load generator: requests/s, p50 and p99 latency, cached/bare, the CPU each process used
per request and the share of all cores both used. Targets (issue 6): p99 ≤ 15 ms, cached ≥ 0.3 of the
ceiling, uncached ≥ 500 requests/s.

Rerun: `.venv/bin/python bench/http_latency.py [--clients 32] [--seconds 10] [--events 200000]
[--loads wrk,aiohttp]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import uvicorn
from reporting import cpu_seconds, free_port, publish
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = "bench-secret-of-a-reasonable-length-0123456789"
ARTIST = 1
PATH = "/api/v1/producer-intelligence/insights/tracks/{}"
TRACKS = 1000  # the catalog's tracks, all by ARTIST
LIMITS = {f"INSIGHTS_RATE_LIMIT_{k}": str(10**9) for k in ("READ", "EXPORT", "INGEST")}


def fill(dsn: str, events: int) -> None:
    """A catalog and `events` events over 400 days, written by the worker's sink (rollups included)."""
    from insights.migrate import migrate
    from insights.store import Store
    from pipeline.sink import SourcedEvent, sole_writer
    from schemas.events import Event

    store = Store(dsn)
    migrate(store)
    store.insert("artists", [(ARTIST, "Ana Vale", 1)], ("artist_id", "name", "version"))
    rows = [(t, f"Track {t}", None, [ARTIST], 1) for t in range(1, TRACKS + 1)]
    store.insert("tracks", rows, ("track_id", "title", "album_id", "artist_ids", "version"))
    sink, now, rng = sole_writer(store), datetime.now(UTC), random.Random(7)
    popular = [int(rng.paretovariate(1.2)) % TRACKS + 1 for _ in range(1000)]
    for start in range(0, events, 20_000):
        batch = [
            SourcedEvent(
                Event(
                    event_id=uuid.uuid4().hex,
                    type=rng.choice(("play", "play", "play", "like", "repost")),
                    track_id=rng.choice(popular),
                    listener_id=f"l-{rng.randint(1, events // 20 + 1)}",
                    occurred_at=now - timedelta(seconds=rng.randint(0, 399 * 86400)),
                ),
                0,
                n,
            )
            for n in range(start, min(events, start + 20_000))
        ]
        sink.flush(batch)
    store.close()


def serve(kind: str, port: int, data: str, events: int) -> None:
    if kind == "bare":
        body = Path(data).read_bytes()

        async def analytics(request: Request) -> Response:
            return Response(body, media_type="application/json")

        app = Starlette(routes=[Route(PATH.format("{trackId}"), analytics)])
    else:
        from api.app import ApiOptions, create_app
        from api.http.limits import Limits
        from insights.store import Store

        dsn = f"chdb://{data}/clickhouse"
        fill(dsn, events)
        limits = Limits(read=10**9, export=10**9, ingest=10**9, auth_failures=10**9)
        app = create_app(Store(dsn), None, SECRET, ApiOptions(limits=limits))  # type: ignore[arg-type]
        # The app meets the network as `insights api` serves it: on the product's HTTP protocol.
        from insights.http_server import ConnectionLimits, guarded_protocol

        protocol = guarded_protocol(ConnectionLimits())
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, http=protocol)
        return
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Run(NamedTuple):
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    client_cpu: float  # seconds of CPU the load generator used


def bearer() -> str:
    from schemas.tokens import create_token

    return f"Bearer {create_token(SECRET, artists=[ARTIST])}"


async def drive_aiohttp(url: str, clients: int, seconds: float, unique: bool) -> Run:
    """`clients` coroutines in this process, each with one request in flight."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    walk = itertools.count()  # the uncached requests' order, shared: no two ask the same answer
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": bearer()}) as http:

        async def client() -> None:
            sent = 0
            while time.monotonic() < deadline:
                sent += 1
                target, params = url, {"period": "30-days"}
                if unique:
                    target, params = walked(url, next(walk))
                started = time.perf_counter()
                async with http.get(target, params=params) as answer:
                    await answer.read()
                    assert answer.status == 200, answer.status
                latencies.append(time.perf_counter() - started)

        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return Run(len(latencies), elapsed, p50 * 1000, p99 * 1000, cpu)


# Uncached requests walk the tracks and, for each, ranges ending today that start on one of WALKED_DAYS
# days: no two ask the same answer (the API refuses query parameters it does not take).
WALKED_DAYS = 300


def walked(url: str, n: int) -> tuple[str, dict[str, str]]:
    """The `n`th uncached request: the URL of a track and its range."""
    track, day = n % TRACKS + 1, n // TRACKS % WALKED_DAYS + 1
    today = datetime.now(UTC).date()
    return url.rsplit("/", 1)[0] + f"/{track}", {"from": str(today - timedelta(days=day)), "to": str(today)}


# wrk's script: a track and range of its own on every request when asked, and the figures as JSON.
WRK_SCRIPT = """
local sent = 0
request = function()
  sent = sent + 1
  if not UNIQUE then return wrk.format(nil, wrk.path) end
  local track = sent % TRACKS + 1
  local from = FROM[math.floor(sent / TRACKS) % #FROM + 1]
  return wrk.format(nil, PREFIX .. track .. "?from=" .. from .. "&to=" .. TODAY)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "failed": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def drive_wrk(url: str, clients: int, seconds: float, unique: bool) -> Run:
    """wrk (C, epoll) in one thread with `clients` connections, each with one request in flight."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        today = datetime.now(UTC).date()
        days = ", ".join(f'"{today - timedelta(days=day)}"' for day in range(1, WALKED_DAYS + 1))
        script.write(
            f'UNIQUE = {"true" if unique else "false"}\nTRACKS = {TRACKS}\nTODAY = "{today}"\n'
            f'PREFIX = "{PATH.format("")}"\nFROM = {{{days}}}\n{WRK_SCRIPT}'
        )
        script.flush()
        command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "-s", script.name]
        command += ["-H", f"Authorization: {bearer()}", f"{url}?period=30-days"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = json.loads(output.strip().splitlines()[-1])
    assert figures["failed"] == 0, output
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(figures["requests"], figures["seconds"], figures["p50_ms"], figures["p99_ms"], cpu)


DRIVERS: dict[str, Callable[[str, int, float, bool], Run]] = {
    "wrk": drive_wrk,
    "aiohttp": lambda *args: asyncio.run(drive_aiohttp(*args)),
}


def measure(load: str, url: str, args: argparse.Namespace, unique: bool, server: int) -> dict[str, Any]:
    drive = DRIVERS[load]
    server_cpu = cpu_seconds(server)
    run = drive(url, args.clients, args.seconds, unique)
    server_cpu = cpu_seconds(server) - server_cpu
    per_request = 1000 / run.requests
    return {
        "requests_per_s": round(run.requests / run.seconds),
        "p50_ms": round(run.p50_ms, 2),
        "p99_ms": round(run.p99_ms, 2),
        # Where the machine's cores went: CPU ms per request in the server and in the load generator,
        # and the share of all cores that both used together (the rest: other tenants, idle).
        "server_cpu_ms_per_request": round(server_cpu * per_request, 3),
        "client_cpu_ms_per_request": round(run.client_cpu * per_request, 3),
        "cores_used": round((server_cpu + run.client_cpu) / run.seconds / (os.cpu_count() or 1), 2),
    }


def start(kind: str, data: str, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, __file__, "--serve", kind, "--port", str(port), "--data", data]
    command += ["--events", str(args.events)]
    server = subprocess.Popen(command, env={**os.environ, **LIMITS})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server, port
        if server.poll() is not None:
            raise RuntimeError(f"the {kind} server exited")
        time.sleep(0.5)
    raise RuntimeError(f"the {kind} server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--loads", default="wrk,aiohttp", help="load generators, of: wrk, aiohttp")
    parser.add_argument("--serve", choices=["app", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data, args.events)
        return 0
    loads = args.loads.split(",")
    if unknown := set(loads) - DRIVERS.keys():
        parser.error(f"unknown load generator(s): {', '.join(sorted(unknown))}")
    if "wrk" in loads and not shutil.which("wrk"):
        print("wrk not found (apt-get install wrk): it is left out of this run", file=sys.stderr)
        loads.remove("wrk")
    results: dict[str, dict[str, Any]] = {load: {} for load in loads}
    with tempfile.TemporaryDirectory() as tmp:
        app, port = start("app", tmp, args)
        try:
            url = f"http://127.0.0.1:{port}{PATH.format(1)}"
            for load in loads:
                DRIVERS[load](url, 4, 2, False)  # warm-up
                results[load]["cached"] = measure(load, url, args, False, app.pid)
                results[load]["uncached"] = measure(load, url, args, True, app.pid)
            body = Path(tmp) / "body.json"
            body.write_bytes(sample(url))
        finally:
            app.terminate()
            app.wait(timeout=30)
        bare, port = start("bare", str(body), args)
        try:
            url = f"http://127.0.0.1:{port}{PATH.format(1)}"
            for load in loads:
                DRIVERS[load](url, 4, 2, False)
                results[load]["bare_starlette"] = measure(load, url, args, False, bare.pid)
        finally:
            bare.terminate()
            bare.wait(timeout=30)
    for figures in results.values():
        figures["cached_over_bare"] = round(
            figures["cached"]["requests_per_s"] / figures["bare_starlette"]["requests_per_s"], 3
        )
    publish(
        "http-latency",
        {
            "clients": args.clients,
            "events": args.events,
            **{f"{load} load": figures for load, figures in results.items()},
        },
    )
    return 0


def sample(url: str) -> bytes:
    import httpx

    from schemas.tokens import create_token

    bearer = create_token(SECRET, artists=[ARTIST])
    answer = httpx.get(url, params={"period": "30-days"}, headers={"Authorization": f"Bearer {bearer}"})
    return answer.content


if __name__ == "__main__":
    sys.exit(main())
