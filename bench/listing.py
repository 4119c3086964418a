"""Finding one's catalog at scale: GET /tracks, /albums and /artists over a catalog of --tracks tracks,
beside a bare Starlette route answering the same bytes.

The real app (auth, limits, the response cache's pass-through, the handler over the API's in-memory
catalog) over a fresh chDB store holding the catalog: --tracks tracks on albums of 10, by artists of
100 tracks each. Driven in-process through httpx's ASGI transport (no sockets). Each case is asked
--requests times in a row after a warm-up (the catalog is read into memory once, by the first request);
the ceiling is a bare Starlette app whose one route returns the case's very answer (same body, no
middleware), asked the same way in the same run. Cases:
- admin's first page (50 items), and a page deep in the catalog (through a cursor);
- an artist's token: its tracks (100), and a page of a search `q` over them;
- admin searching the whole catalog for a title that 1 track in 1,000 has;
- admin listing one artist's tracks (`artist_id`) and one album's (`album_id`).

Rerun: `PYTHONPATH=. .venv/bin/python bench/listing.py [--tracks 100000] [--requests 2000]`. Prints the
figures; the JSON lands in bench/results/listing-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

import httpx
import msgspec
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
BASE = "/api/v1/producer-intelligence/insights"
UNLIMITED = ApiOptions(limits=Limits(read=10**9, export=10**9, ingest=10**9, auth_failures=10**9))
TRACKS_PER_ALBUM, TRACKS_PER_ARTIST = 10, 100


def fill(store: Store, tracks: int) -> None:
    """The catalog in one statement per table: track n is on album n // 10, by artist n // 100; one
    title in 1,000 holds the word "lantern"."""
    store.command(
        "INSERT INTO artists (artist_id, name, version)"
        " SELECT number + 1, concat('Artist ', toString(number + 1)), 1 FROM numbers({n:UInt64})",
        {"n": tracks // TRACKS_PER_ARTIST},
    )
    store.command(
        "INSERT INTO albums (album_id, title, artist_id, version)"
        " SELECT number + 1, concat('Album ', toString(number + 1)), intDiv(number, 10) + 1, 1"
        " FROM numbers({n:UInt64})",
        {"n": tracks // TRACKS_PER_ALBUM},
    )
    store.command(
        "INSERT INTO tracks (track_id, title, album_id, artist_ids, version)"
        " SELECT number + 1, if(number % 1000 = 7, concat('Lantern ', toString(number)),"
        " concat('Track ', toString(number + 1))), intDiv(number, 10) + 1, [intDiv(number, 100) + 1], 1"
        " FROM numbers({n:UInt64})",
        {"n": tracks},
    )


async def timed(http: httpx.AsyncClient, path: str, headers: dict[str, str], requests: int) -> list[float]:
    for _ in range(50):  # warm-up
        answer = await http.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        await http.get(path, headers=headers)
        latencies.append(time.perf_counter() - started)
    return latencies


def bare_app(path: str, body: bytes) -> Starlette:
    async def answer(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route(path.split("?")[0], answer)])


async def case(app: Starlette, path: str, bearer: str, requests: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        body = (await http.get(path, headers=headers)).content
        full = await timed(http, path, headers, requests)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bare_app(path, body)), base_url="http://api"
    ) as http:
        bare = await timed(http, path, headers, requests)
    median, ceiling = statistics.median(full), statistics.median(bare)
    return {
        "path": path,
        "items": len(msgspec.json.decode(body)["data"]["items"]),
        "median_ms": round(median * 1000, 3),
        "p99_ms": round(sorted(full)[int(len(full) * 0.99)] * 1000, 3),
        "bare_starlette_median_ms": round(ceiling * 1000, 3),
        "ratio": round(ceiling / median, 3),
    }


async def run(app: Starlette, tracks: int, requests: int) -> dict[str, Any]:
    admin = create_token(SECRET, scopes=("admin",))
    artist = 1 + (tracks // TRACKS_PER_ARTIST) // 2
    artist_token = create_token(SECRET, artists=[artist])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        first = await http.get(f"{BASE}/tracks", headers={"Authorization": f"Bearer {admin}"})
        assert first.status_code == 200, first.text[:200]
        deep = first.json()["data"]["next_cursor"]
        for _ in range(tracks // 2 // 100):  # walk half the catalog for a cursor deep in it
            page = await http.get(
                f"{BASE}/tracks",
                params={"limit": "100", "cursor": deep},
                headers={"Authorization": f"Bearer {admin}"},
            )
            deep = page.json()["data"]["next_cursor"]
    cases = [
        ("admin, first page of tracks", f"{BASE}/tracks", admin),
        ("admin, a page half-way through", f"{BASE}/tracks?cursor={deep}", admin),
        ("artist token, its tracks", f"{BASE}/tracks?limit=100", artist_token),
        ("artist token, a search in them", f"{BASE}/tracks?q=track%20{artist * 100 - 5}", artist_token),
        ("admin, a search of the whole catalog", f"{BASE}/tracks?q=lantern&limit=100", admin),
        ("admin, one artist's tracks", f"{BASE}/tracks?artist_id={artist}&limit=100", admin),
        ("admin, one album's tracks", f"{BASE}/tracks?album_id={artist * 10}", admin),
        ("admin, first page of albums", f"{BASE}/albums", admin),
    ]
    return {name: await case(app, path, bearer, requests) for name, path, bearer in cases}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"chdb://{tmp}/clickhouse")
        migrate(store)
        fill(store, args.tracks)
        app = create_app(store, None, SECRET, UNLIMITED)  # type: ignore[arg-type]
        started = time.perf_counter()
        figures = asyncio.run(run(app, args.tracks, args.requests))
        store.close()
    publish(
        "listing",
        {
            "tracks": args.tracks,
            "requests": args.requests,
            "seconds": round(time.perf_counter() - started),
            **figures,
        },
    )


if __name__ == "__main__":
    main()
