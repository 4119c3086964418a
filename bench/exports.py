"""Export speed beside its ceilings: a CSV of 10,000 tracks, the JSON rows of the same with their
breakdowns, a PDF report of an artist with 200 tracks, and a read's latency while exports run against
the same read alone.

A fresh embedded store in a temp dir gets a catalog (--tracks tracks, 10 per album; artist 1 owns the
first --artist-tracks of them, the others belong to artists of 30 tracks) and --events synthetic events
over 90 days (with countries, sources, platforms and listened times) folded straight into the rollups
(track_daily with its listening sums, track_totals, track_audience_daily) with SQL. The real app is
served by uvicorn on a local port in this process; an httpx client times, over --repeat runs (median):
- POST /export/csv {"type": "tracks"} as admin (every track), first byte and last byte; ceiling: the
  export's own paged queries run straight on the same Store (no HTTP, no CSV encoding) — ratio.
- POST /export/json {"type": "tracks", "include_breakdowns": true} as admin (every track with its
  listening and its breakdowns by country, source and platform); ceiling: the same paged queries
  (figures and breakdowns) on the Store.
- POST /export/pdf as artist 1; ceiling: POST /export/report for the same token (the data alone) — ratio.
- GET /artists/2 alone, and while CSV and PDF exports run back to back — ratio of medians.
Targets (issue 7): CSV < 2 s, PDF < 3 s. Rerun: `.venv/bin/python bench/exports.py [--tracks 10000]
[--artist-tracks 200] [--events 2000000] [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import uvicorn
from pypdf import PdfReader
from reporting import free_port

from api.app import create_app
from api.exports.pdf.document import render_pdf
from api.exports.tables import row_pages
from insights.migrate import migrate
from insights.store import Store
from schemas.local_ranges import LocalRange, last_days
from schemas.tokens import TokenClaims, create_token

SECRET = "bench-exports-secret-of-a-reasonable-length"
BASE = "/api/v1/producer-intelligence/insights"
CSV_TARGET_S, PDF_TARGET_S = 2.0, 3.0

FILL_SQL = (
    "INSERT INTO artists SELECT number + 1, concat('Artist ', toString(number + 1)), 0 FROM numbers(1000)",
    "INSERT INTO albums SELECT number + 1, concat('Album ', toString(number + 1)),"
    " if(number * 10 < {owned:UInt64}, 1, intDiv(number * 10, 30) + 2), 0"
    " FROM numbers(intDiv({tracks:UInt64}, 10))",
    "INSERT INTO tracks SELECT number + 1, concat('Track ', toString(number + 1)), intDiv(number, 10) + 1,"
    " if(number < {owned:UInt64}, if(number % 7 = 0, [1, 2], [1]), [intDiv(number, 30) + 2]), 0"
    " FROM numbers({tracks:UInt64})",
    # Events: popularity ~ u^2, listeners 1/20 of the events, 90 days back; folded into the rollups.
    """CREATE TABLE bench_events ENGINE = Memory AS
    SELECT 1 + toUInt64(floor({tracks:UInt64} * pow(rand(1) / 4294967296.0, 2))) AS track_id,
        today() - rand(2) % 90 AS day,
        concat('u', toString(rand(3) % intDiv({events:UInt64}, 20))) AS listener,
        multiIf(rand(4) % 10 < 8, 'play', rand(4) % 10 < 9, 'like', 'repost') AS type,
        -- A skewed spread of 60 countries, 10 sources and 8 platforms; a tenth of the plays say none.
        if(rand(5) % 10 = 0, '', ['US', 'DE', 'GB', 'FR', 'BR', 'IN', 'JP', 'MX', 'CA', 'NP', 'KE', 'AU',
            'ES', 'IT', 'NL', 'SE', 'NO', 'FI', 'DK', 'PL', 'PT', 'IE', 'BE', 'AT', 'CH', 'CZ', 'HU', 'RO',
            'GR', 'TR', 'IL', 'EG', 'ZA', 'NG', 'GH', 'MA', 'AR', 'CL', 'CO', 'PE', 'VE', 'UY', 'CN', 'KR',
            'TW', 'HK', 'SG', 'MY', 'TH', 'VN', 'PH', 'ID', 'NZ', 'PK', 'BD', 'LK', 'SA', 'AE', 'QA',
            'UA'][1 + toUInt32(floor(60 * pow(rand(6) / 4294967296.0, 3)))]) AS country,
        if(rand(7) % 10 = 0, '', ['search', 'library', 'playlist', 'album', 'artist_page', 'radio',
            'recommendation', 'embed', 'external', 'other'][1 + rand(8) % 10]) AS source,
        if(rand(9) % 10 = 0, '', ['web', 'ios', 'android', 'desktop', 'tv', 'speaker', 'car',
            'other'][1 + rand(10) % 8]) AS platform,
        rand(11) % 300000 AS listened_ms
    FROM numbers({events:UInt64})""",
    """INSERT INTO track_daily (track_id, day, plays, likes, reposts, listeners, qualified_plays,
        listened_total_ms, timed_plays, kafka_partition, max_offset)
    SELECT track_id, day, countIf(type = 'play'), countIf(type = 'like'),
        countIf(type = 'repost'), uniqExactStateIf(listener, type = 'play'),
        countIf(type = 'play' AND listened_ms >= 30000), sumIf(listened_ms, type = 'play'),
        countIf(type = 'play'), 0, 0
    FROM bench_events GROUP BY track_id, day""",
    """INSERT INTO track_audience_daily (track_id, dimension, day, value, kafka_partition, plays,
        listeners, max_offset)
    SELECT track_id, dimension, day, value, 0, count(), uniqExactState(listener), 0
    FROM bench_events
    ARRAY JOIN ['country', 'source', 'platform'] AS dimension, [country, source, platform] AS value
    WHERE type = 'play'
    GROUP BY track_id, dimension, day, value""",
    """INSERT INTO track_totals (track_id, plays, likes, reposts, listeners, kafka_partition, max_offset)
    SELECT track_id, countIf(type = 'play'), countIf(type = 'like'),
        countIf(type = 'repost'), uniqExactStateIf(listener, type = 'play'), 0, 0
    FROM bench_events GROUP BY track_id""",
    "DROP TABLE bench_events",
)


def serve(store: Store) -> tuple[uvicorn.Server, str]:
    port = free_port()
    config = uvicorn.Config(create_app(store, None, SECRET), port=port, log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def bearer(*scopes: str, artists: tuple[int, ...] = ()) -> dict[str, str]:
    return {
        "Authorization": "Bearer " + create_token(SECRET, subject="bench", scopes=scopes, artists=artists)
    }


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def csv_export(client: httpx.AsyncClient, expected_rows: int) -> tuple[float, float]:
    """Seconds to the first byte and to the last; checks the row count."""
    started = time.perf_counter()
    first, lines = 0.0, 0
    async with client.stream(
        "POST", f"{BASE}/export/csv", json={"type": "tracks"}, headers=bearer("admin")
    ) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            first = first or time.perf_counter() - started
            lines += chunk.count(b"\n")
    assert lines == expected_rows + 1, (lines, expected_rows)
    return first, time.perf_counter() - started


async def json_export(client: httpx.AsyncClient, expected_rows: int) -> None:
    """The JSON rows with their breakdowns; checks the row count and that the breakdowns are there."""
    wanted = {"type": "tracks", "include_breakdowns": True}
    body = await post_ok(client, "/export/json", wanted, bearer("admin"))
    rows = msgspec.json.decode(body)["data"]["rows"]
    assert len(rows) == expected_rows and rows[0]["breakdowns"]["country"]["rows"], len(rows)


async def bare_rows(
    store: Store, claims: TokenClaims, chosen: LocalRange, expected_rows: int, limit: int | None = None
) -> None:
    """The export's own queries, page by page, straight on the Store: no HTTP, no encoding (and no
    description from the catalog in memory); with `limit`, the breakdowns' queries too."""
    rows = 0
    async for page in row_pages(store, "tracks", claims, chosen, lambda _: {}, breakdown_limit=limit):
        rows += len(page)
    assert rows == expected_rows


async def post_ok(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> bytes:
    response = await client.post(BASE + path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.content


async def read_latencies(client: httpx.AsyncClient, count: int) -> list[float]:
    headers = bearer("admin")
    times = []
    for _ in range(count):
        times.append(await timed(lambda: client.get(f"{BASE}/artists/2", headers=headers)))
        await asyncio.sleep(0.02)
    return times


async def measure(store: Store, url: str, args: argparse.Namespace) -> dict[str, float]:
    artist = bearer("insights:read", artists=(1,))
    bounds = last_days("30-days", 30, "UTC", datetime.now(UTC))
    admin = TokenClaims("bench", frozenset(), frozenset({"admin"}), datetime.now(UTC), "bench")
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await csv_export(client, args.tracks)  # warm-up
        await post_ok(client, "/export/pdf", {}, artist)
        # Each figure and its ceiling alternate, so both meet the same load on this shared machine.
        csv_runs, bare, pdf, report, render_cpu, alone = [], [], [], [], [], []
        json_runs, json_bare = [], []
        for _ in range(args.repeat):
            csv_runs.append(await csv_export(client, args.tracks))
            bare.append(await timed(lambda: bare_rows(store, admin, bounds, args.tracks)))
            json_runs.append(await timed(lambda: json_export(client, args.tracks)))
            json_bare.append(await timed(lambda: bare_rows(store, admin, bounds, args.tracks, 10)))
            pdf.append(await timed(lambda: post_ok(client, "/export/pdf", {}, artist)))
            body = await post_ok(client, "/export/report", {"include_charts": True}, artist)
            report.append(
                await timed(lambda: post_ok(client, "/export/report", {"include_charts": True}, artist))
            )
            started = time.process_time()
            render_pdf(msgspec.json.decode(body)["data"])
            render_cpu.append(time.process_time() - started)
            alone += await read_latencies(client, 8)
        stop = asyncio.Event()

        async def exports_in_a_loop() -> None:
            while not stop.is_set():
                await csv_export(client, args.tracks)
                await post_ok(client, "/export/pdf", {}, artist)

        background = asyncio.create_task(exports_in_a_loop())
        await asyncio.sleep(0.2)
        during = await read_latencies(client, 40)
        stop.set()
        await background
        pages = len(PdfReader(io.BytesIO(await post_ok(client, "/export/pdf", {}, artist))).pages)
    return {
        "csv_first_byte_s": statistics.median(f for f, _ in csv_runs),
        "csv_s": statistics.median(t for _, t in csv_runs),
        "csv_ceiling_s": statistics.median(bare),
        "json_s": statistics.median(json_runs),
        "json_ceiling_s": statistics.median(json_bare),
        "pdf_s": statistics.median(pdf),
        "pdf_ceiling_s": statistics.median(report),
        "pdf_pages": pages,
        "pdf_render_cpu_s": statistics.median(render_cpu),
        "read_alone_ms": statistics.median(alone) * 1000,
        "read_during_ms": statistics.median(during) * 1000,
        "read_during_p95_ms": statistics.quantiles(during, n=20)[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--artist-tracks", type=int, default=200)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        store = Store(f"chdb://{tmp}/clickhouse")
        migrate(store)
        started = time.perf_counter()
        for sql in FILL_SQL:
            store.command(sql, {"tracks": args.tracks, "owned": args.artist_tracks, "events": args.events})
        print(f"filled {args.tracks} tracks, {args.events} events in {time.perf_counter() - started:.1f}s")
        server, url = serve(store)
        load_before = os.getloadavg()[0]
        try:
            figures = asyncio.run(measure(store, url, args))
        finally:
            server.should_exit = True
            time.sleep(0.5)
            store.close()
    print(
        f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}; "
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    f = figures
    print("| benchmark | figure | ceiling run beside it | ceiling | ratio |")
    print("|---|---|---|---|---|")
    print(
        f"| CSV export, {args.tracks:,} tracks (target < {CSV_TARGET_S:.0f} s) | **{f['csv_s']:.2f} s** "
        f"(first byte {f['csv_first_byte_s'] * 1000:.0f} ms) | "
        "the same paged queries on the Store (no HTTP, no CSV) | "
        f"{f['csv_ceiling_s']:.2f} s | {f['csv_s'] / f['csv_ceiling_s']:.1f} |"
    )
    print(
        f"| JSON export with breakdowns, {args.tracks:,} tracks | **{f['json_s']:.2f} s** | "
        "the same paged queries (figures and breakdowns) on the Store | "
        f"{f['json_ceiling_s']:.2f} s | {f['json_s'] / f['json_ceiling_s']:.1f} |"
    )
    print(
        f"| PDF report, artist with {args.artist_tracks} tracks, {f['pdf_pages']:.0f} pages (target < "
        f"{PDF_TARGET_S:.0f} s; layout alone {f['pdf_render_cpu_s']:.2f} s CPU) | **{f['pdf_s']:.2f} s** | "
        "the JSON report (same data, no layout) | "
        f"{f['pdf_ceiling_s']:.2f} s | {f['pdf_s'] / f['pdf_ceiling_s']:.1f} |"
    )
    print(
        f"| GET /artists/2 while exports run (median; p95 {f['read_during_p95_ms']:.0f} ms) | "
        f"**{f['read_during_ms']:.0f} ms** | the same read alone | {f['read_alone_ms']:.0f} ms | "
        f"{f['read_during_ms'] / f['read_alone_ms']:.1f} |"
    )


if __name__ == "__main__":
    main()
