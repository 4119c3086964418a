"""Read latency of every analytics and chart endpoint at two history sizes, beside raw `events` scans.

For each --sizes N a child process (chDB hosts one engine path per process) builds a fresh store in a
temp dir: the catalog (--tracks tracks, 10 per album, 3 albums per artist, ~15 % collaborations) and N
events inserted straight with SQL (skewed track popularity, N/20 listeners, 400 days weighted to the
recent past), then the rollups exactly as the worker builds them (each `pipeline.rollups` catch-up
query over every partition's whole offset range). It then times, in-process (no HTTP, no auth), the
query functions the handlers await on the Store thread pool: median and p95 over --repeat calls after
a warm-up, for the hottest track, a median track, the hot track's album and artist. Analytics go through
the handlers' record of large audiences (all-time and period listeners from sketches once counted past
102,000), charts through the handlers' memo of bucket listeners (the bucket holding now counted every
call, the others read with their sums only), some again with no memo (from the kept bucket listeners in
the store, counting the rest), and some as the first ask of a fresh process ("first ask: ...": nothing
learnt about large audiences, no chart bucket kept in the process; the listener windows in memory are
those of the last day, which the API copies there when it starts). Beside them: the same
track-analytics figures computed from raw `events` (the contrast; its values are checked equal), and
`SELECT 1` through the same Store (the floor of one round trip); rollup/raw is an endpoint's median
over that of the raw figures of its entity. To show where the time goes, each statement an endpoint
runs is reported apart: median wall and engine time (chDB's own elapsed) and the rows it reads. The
machine is shared: each size also records the load average while it was measured, and each call's CPU
time beside its wall time.

The analytics and charts are also timed as the handlers serve them when nothing changed ("kept: ..."):
through the memo of answers kept until a change notice names one of their tracks (api/read/changes.py),
with a change feed following `insights.changes` on a local Kafka the bench starts (`--no-feed` skips
it). Their cost after a change is the computed rows above them. Then, for each of --live-rates, the
kept cases are asked once every 2 s (the response cache's max-age for analytics) for --live-rounds
rounds while notices arrive as a worker would write them at that rate (one per 0.25 s flush, naming
the tracks of that many events drawn like the stored ones, each with today's UTC day as live plays
have): each case's share of kept answers and its median under that traffic. The store itself does not
change: a computed answer costs what it would, and reads the days before today once (kept while no
notice names an earlier day, api/read/past_rows.py). Beside them in the same rounds ("every day:
..."), the popular entities' analytics and 30-day and 1-year charts from a reader that keeps no rows
of earlier days: what every change costs without them.

Rerun: `.venv/bin/python bench/read_latency.py [--sizes 100000,10000000] [--tracks 10000]
[--repeat 200] [--no-feed] [--live-rates 50,5000] [--live-rounds 15] [--stores DIR]`; with --stores
each size's store is kept in DIR and reused by later runs (it has merged by then, and keeps the
listener windows and bucket counts earlier runs left); a store kept from an earlier day is first given
today's events, as many as one built now would hold so far today, and its rollups over them (without
them, every part of today would read nothing). A store just built or given events is measured once the
engine's background merges of them are done (up to 30 minutes; `merges_waited_s` in the load).
Prints a table; the JSON lands in bench/results/read-latency-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from api.ingest.publisher import ensure_topic
from api.read import analytics_queries as analytics
from api.read import chart_queries
from api.read.analytics_routes import TOP_TRACKS, Reads
from api.read.catalog_snapshot import Catalog
from api.read.changes import AnswerMemo, ChangeFeed, TrackChanges
from api.read.figure_bodies import figure_fields, ranked_tracks
from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Entity, keeping_done, warm_windows
from api.read.past_rows import PastRows
from insights.dev.kafka_local import LocalKafka
from insights.metrics import KEPT_ANSWERS, PAST_ROWS
from insights.migrate import migrate
from insights.store import BINARY, Store
from pipeline.rollups import ROLLUPS, range_parameters
from schemas.changes import encode_notice
from schemas.periods import chart_buckets, period_bounds, realtime_minutes
from schemas.topics import CHANGES_TOPIC

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_MS, TARGET_RATIO = 10.0, 1.5
TIMEFRAMES = ("7d", "30d", "90d", "1y")
# Wall-clock median and p95, and the median CPU time of the whole process (chDB's threads included):
# on a shared machine the wall time also counts waiting for a core, the CPU time does not.
MEASURES = ("median_ms", "p95_ms", "cpu_median_ms")

CATALOG_SQL = (
    "INSERT INTO artists SELECT number + 1, concat('Artist ', toString(number + 1)), 0"
    " FROM numbers({artists:UInt64})",
    "INSERT INTO albums SELECT number + 1, concat('Album ', toString(number + 1)), intDiv(number, 3) + 1, 0"
    " FROM numbers({albums:UInt64})",
    """INSERT INTO tracks SELECT number + 1, concat('Track ', toString(number + 1)), intDiv(number, 10) + 1,
    if(cityHash64(number) % 100 < 15,
       [intDiv(number, 30) + 1, (intDiv(number, 30) + 1 + cityHash64(number, 1) % 20) % {artists:UInt64} + 1],
       [intDiv(number, 30) + 1]), 0
    FROM numbers({tracks:UInt64})""",
)
# Track popularity ~ u^3 (the top track gets ~tracks^(-1/3) of all events), age ~ u^2 x `span` (399 days;
# numbered from `first`).
EVENTS_SQL = """
INSERT INTO events (event_id, type, track_id, listener_id, occurred_at, listened_ms, kafka_partition,
    kafka_offset, ingested_at)
SELECT concat('e', toString({first:UInt64} + number)),
    multiIf(r < 80, 'play', r < 87, 'like', r < 90, 'repost', 'heartbeat') AS type,
    1 + toUInt64(floor({tracks:UInt64} * pow(rand(1) / 4294967296.0, 3))) AS track,
    concat('u', toString(rand(2) % {listeners:UInt64})),
    now64(3, 'UTC') - toIntervalMillisecond(toUInt64({span_ms:UInt64} * pow(rand(3) / 4294967296.0, 2))),
    if(type = 'play', rand(4) % 300000, NULL), track % 6, {first:UInt64} + number, now()
FROM (SELECT number, rand(5) % 100 AS r FROM numbers({n:UInt64}))"""
RAW_FIGURES_SQL = """
SELECT countIf(type = 'play'), uniqExactIf(listener_id, type = 'play'),
    countIf(type = 'play' AND day >= {start:Date}),
    uniqExactIf(listener_id, type = 'play' AND day >= {start:Date}),
    countIf(type = 'like' AND day >= {start:Date}), countIf(type = 'repost' AND day >= {start:Date}),
    countIf(type = 'play' AND day >= {previous_start:Date} AND day < {start:Date}),
    uniqExactIf(listener_id, type = 'play' AND day >= {previous_start:Date} AND day < {start:Date})
FROM (SELECT type, listener_id, toDate(occurred_at) AS day FROM events
      WHERE track_id IN {track_ids:Array(UInt64)} AND day <= {today:Date})"""

# How many listener-set elements the 30-day analytics statement deserialises and merges: the sizes
# of the listener states of every rollup row it reads (what bounds it when sets are large).
MERGED_SIZES_SQL = """
SELECT (SELECT sum(finalizeAggregation(listeners)) FROM track_totals
        WHERE track_id IN {track_ids:Array(UInt64)})
     + (SELECT sum(finalizeAggregation(listeners)) FROM track_daily
        WHERE track_id IN {track_ids:Array(UInt64)}
          AND day >= {previous_start:Date} AND day <= {today:Date})"""


class TracingStore(Store):
    """The product's Store, recording each statement's wall and engine time (chDB's summary)."""

    calls: list[dict[str, Any]]

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        began = time.perf_counter()
        result = self.client().query(sql, parameters=parameters, query_formats=BINARY if binary else None)
        rows = [tuple(row) for row in result.result_rows]
        wall_ms = (time.perf_counter() - began) * 1000
        engine_ms = int((result.summary or {}).get("elapsed_ns", 0)) / 1e6
        self.calls.append({"sql": sql, "parameters": parameters, "wall_ms": wall_ms, "engine_ms": engine_ms})
        return rows

    def read_statistics(self, sql: str, parameters: dict[str, Any] | None) -> dict[str, int]:
        """Rows and bytes the engine read (chDB's summary only counts result rows; JSON output has them)."""
        stats = json.loads(self.client().raw_query(sql, parameters=parameters, fmt="JSON"))["statistics"]
        return {"rows_read": int(stats["rows_read"]), "bytes_read": int(stats["bytes_read"])}


def load(store: Store, n: int, tracks: int) -> dict[str, float]:
    albums = -(-tracks // 10)
    sizes = {"tracks": tracks, "albums": albums, "artists": -(-albums // 3)}
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    for sql in CATALOG_SQL:
        store.command(sql, sizes)
    seconds["catalog_s"] = time.perf_counter() - began
    began = time.perf_counter()
    store.command(EVENTS_SQL, {"n": n, "first": 0, "span_ms": HISTORY_MS} | _people(n, tracks))
    seconds["events_s"] = time.perf_counter() - began
    began = time.perf_counter()
    _roll_up(store, -1)
    seconds["rollups_s"] = time.perf_counter() - began
    return seconds


HISTORY_MS = 399 * 86_400_000


def _people(n: int, tracks: int) -> dict[str, int]:
    return {"tracks": tracks, "listeners": max(1000, n // 20)}


def _roll_up(store: Store, after: int) -> None:
    """Every rollup built over the events stored past offset `after`, as the worker builds them."""
    stored = store.query_rows(
        "SELECT kafka_partition, max(kafka_offset) FROM events GROUP BY kafka_partition"
    )
    for rollup in ROLLUPS:
        for partition, up_to in stored:
            if up_to > after:
                store.command(rollup.catch_up_sql(1), range_parameters({partition: (after, up_to)}))


def top_up(store: Store, n: int, tracks: int) -> int:
    """A store kept from an earlier day, given today's events as one built now would have them (so far
    today: a store of n events holds n x sqrt(elapsed / 399 days) of them); how many were added."""
    if store.query_rows("SELECT max(day) >= today() FROM track_daily")[0][0]:
        return 0
    elapsed_ms = int(time.time() * 1000) % 86_400_000
    added = max(1, round(n * math.sqrt(elapsed_ms / HISTORY_MS)))
    after = int(store.query_rows("SELECT max(kafka_offset) FROM events")[0][0] or 0)
    parameters = {"n": added, "first": after + 1, "span_ms": elapsed_ms} | _people(n, tracks)
    store.command(EVENTS_SQL, parameters)
    _roll_up(store, after)
    return added


MERGES_PATIENCE_S = 1800.0


def merges_settled(store: Store, n: int) -> float:
    """Waits (up to MERGES_PATIENCE_S) for the engine's background merges of the parts a load or a
    top-up wrote: measured meanwhile, a store just built at 100M events answers 1.5 to 2 times slower
    (even `SELECT 1`). How long it waited."""
    began = last_said = time.monotonic()
    while (running := int(store.query_rows("SELECT count() FROM system.merges")[0][0])) and (
        time.monotonic() - began < MERGES_PATIENCE_S
    ):
        if time.monotonic() - last_said >= 30:
            print(f"size {n:,}: waiting for {running} background merges", file=sys.stderr, flush=True)
            last_said = time.monotonic()
        time.sleep(2)
    return round(time.monotonic() - began, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(store: TracingStore, call: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, Any]:
    for _ in range(max(3, repeat // 10)):
        await call()
    await keeping_done()  # the windows the warm-up asked for, built: the timed calls find them
    times: list[float] = []
    cpu: list[float] = []
    by_sql: dict[str, list[dict[str, Any]]] = {}  # the catalog's marker check runs in some calls only
    for _ in range(repeat):
        store.calls = []
        began, began_cpu = time.perf_counter(), time.process_time()
        await call()
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        for executed in store.calls:
            by_sql.setdefault(executed["sql"], []).append(executed)
    statements = [
        {"sql": " ".join(sql.split())[:100], "per_call": len(runs) / repeat}
        | {k: statistics.median(c[k] for c in runs) for k in ("wall_ms", "engine_ms")}
        | store.read_statistics(sql, runs[0]["parameters"])
        for sql, runs in by_sql.items()
    ]
    return {
        "median_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "cpu_median_ms": statistics.median(cpu),
        "sql": statements,
    }


async def following(bootstrap: str) -> tuple[ChangeFeed, TrackChanges]:
    """A change feed on `bootstrap`, once it is current (as the API's is while it serves)."""
    changes = TrackChanges()
    feed = ChangeFeed(bootstrap, CHANGES_TOPIC, changes)
    await feed.start()
    await feed.until_current()
    return feed, changes


KINDS = {"track": TRACK, "album": ALBUM, "artist": ARTIST}
# How many ranked tracks each group's answer lists (an artist's top 10).
TOP: dict[str, int | None] = {"album": None, "artist": TOP_TRACKS}
Case = tuple[str, Callable[[], Awaitable[Any]]]  # the entity it reads, and one call as a handler makes it


def handler_cases(
    reads: Reads, catalog: Catalog, ids: dict[str, int], bounds: Any, year: Any, timeframes: Sequence[str]
) -> dict[str, Case]:
    """The analytics and charts as the handlers serve them through `reads`, with the catalog look-up
    of each request."""

    async def track(track_id: int, b: Any) -> Any:
        entry = await catalog.track(track_id)
        assert entry is not None
        return figure_fields(await reads.figures(entry.track_id, b))

    async def group(kind: str) -> Any:
        entry: Any = await (catalog.album if kind == "album" else catalog.artist)(ids[kind])
        figures, per_track = await reads.group_figures(
            entry.track_ids, bounds, Entity(KINDS[kind], ids[kind]), TOP[kind]
        )
        return figure_fields(figures), ranked_tracks(entry.tracks, per_track, TOP[kind])

    async def chart(kind: str, timeframe: str) -> Any:
        entry: Any = await {"track": catalog.track, "album": catalog.album, "artist": catalog.artist}[kind](
            ids[kind]
        )
        track_ids = [entry.track_id] if kind == "track" else entry.track_ids
        buckets = chart_buckets(timeframe, datetime.now(UTC))
        return await reads.chart(track_ids, buckets, None, Entity(KINDS[kind], ids[kind]))

    return {
        "track analytics (hot, 30-days)": ("hot track", partial(track, ids["track"], bounds)),
        "track analytics (hot, 1-year)": ("hot track", partial(track, ids["track"], year)),
        "track analytics (mid, 30-days)": ("mid track", partial(track, ids["mid"], bounds)),
        "album analytics": ("album", partial(group, "album")),
        "artist analytics": ("artist", partial(group, "artist")),
        **{
            f"{kind} chart {tf}": (kind if kind != "track" else "hot track", partial(chart, kind, tf))
            for kind in ("track", "album", "artist")
            for tf in timeframes
        },
    }


FIRST_ASKS = (
    "track analytics (hot, 30-days)",
    "track analytics (hot, 1-year)",
    "album analytics",
    "artist analytics",
    "track chart 1y",
    "album chart 1y",
    "artist chart 1y",
)


# Live: the kept cases asked again every LIVE_ASK_EVERY seconds (the response cache's max-age for
# analytics, so how often a polled answer reaches the handler) while change notices arrive as a worker
# writes them at each of --live-rates events/s: one per flush window, naming the tracks of that many events
# drawn like the stored ones.
LIVE_ASK_EVERY, FLUSH_EVERY = 2.0, 0.25


async def announce(bootstrap: str, tracks: int, rate: int, stop: asyncio.Event) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    sent, per_flush = 0, max(1, round(rate * FLUSH_EVERY))
    try:
        while not stop.is_set():
            # Live plays: each track named with today's UTC day, as a worker names them.
            today = int(time.time() // 86_400)
            touched = {1 + int(tracks * random.random() ** 3): today for _ in range(per_flush)}
            await producer.send_and_wait(CHANGES_TOPIC, encode_notice(touched))
            sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), FLUSH_EVERY)
    finally:
        await producer.stop()
    return sent


def kept_so_far() -> float:
    return float(KEPT_ANSWERS.labels(served="kept")._value.get())


def past_rows_so_far() -> tuple[float, float]:
    """The rows of earlier days computed answers took kept, and read (api/read/past_rows.py)."""
    kept, read = (float(PAST_ROWS.labels(served=s)._value.get()) for s in ("kept", "read"))
    return kept, read


async def under_live_notices(
    cases: dict[str, Any], bootstrap: str, tracks: int, rate: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Each case's median and share of kept answers over `rounds` asks under live notices."""
    stop = asyncio.Event()
    notices = asyncio.create_task(announce(bootstrap, tracks, rate, stop))
    times: dict[str, list[float]] = {name: [] for name in cases}
    kept = dict.fromkeys(cases, 0)
    past = {name: [0.0, 0.0] for name in cases}
    await asyncio.sleep(LIVE_ASK_EVERY)
    for _ in range(rounds):
        began = time.monotonic()
        for name, (_, call) in cases.items():
            before, rows, asked = kept_so_far(), past_rows_so_far(), time.perf_counter()
            await call()
            times[name].append((time.perf_counter() - asked) * 1000)
            kept[name] += kept_so_far() > before
            for i, (now, then) in enumerate(zip(past_rows_so_far(), rows, strict=True)):
                past[name][i] += now - then
        await asyncio.sleep(max(0.0, began + LIVE_ASK_EVERY - time.monotonic()))
    stop.set()
    await notices
    return {
        name: {
            "kept_share": kept[name] / rounds,
            # of the statements over earlier days its computed answers needed, the share kept
            "past_kept_share": past[name][0] / (sum(past[name]) or 1),
            "median_ms": statistics.median(times[name]),
            "p95_ms": percentile(times[name], 0.95),
        }
        for name in cases
    }


async def bench_size(
    store: TracingStore, repeat: int, bootstrap: str | None, live_rates: list[int], live_rounds: int
) -> dict[str, Any]:
    now, load_before = datetime.now(UTC), os.getloadavg()
    await warm_windows(store)  # as the API does when it starts: the windows in memory are the last day's
    ranked = store.query_rows("SELECT track_id FROM track_totals GROUP BY track_id ORDER BY sum(plays) DESC")
    hot, mid = int(ranked[0][0]), int(ranked[len(ranked) // 2][0])
    catalog = Catalog(store)
    hot_entry = await catalog.track(hot)
    assert hot_entry is not None and hot_entry.album_id is not None
    album_id, artist_id = hot_entry.album_id, hot_entry.artist_ids[0]
    bounds, year = period_bounds("30-days", now), period_bounds("1-year", now)

    ids = {"track": hot, "mid": mid, "album": album_id, "artist": artist_id}
    # Computed: no change feed, so every answer is computed, as after a change to its tracks.
    computed = Reads(store, AnswerMemo(None))
    # No memo: a chart memo that keeps no bucket, so each ask takes its buckets' listeners from the
    # store's kept ones (docs/read-path.md, "Kept bucket counts") and counts the rest.
    no_memo = Reads(store, AnswerMemo(None), computed.audiences, chart_queries.ChartMemo(buckets=0))

    async def live() -> Any:
        await catalog.track(hot)
        moment = datetime.now(UTC).replace(microsecond=0)
        return await analytics.realtime(store, hot, moment, realtime_minutes(moment)[0])

    async def collaborations() -> Any:
        entry = await catalog.artist(artist_id)
        assert entry is not None
        shared = [t for t in entry.tracks if len(t.artist_ids) > 1]
        plays = await computed.plays_total([t.track_id for t in shared])
        others = sorted({a for t in shared for a in t.artist_ids if a != artist_id})[:10]
        return plays, await catalog.artist_names(others)

    async def raw(ids: list[int]) -> list[int]:
        rows = await store.aquery_rows(
            RAW_FIGURES_SQL,
            {"track_ids": ids, "start": bounds.start, "previous_start": bounds.previous_start}
            | {"today": bounds.today},
        )
        return [int(v) for v in rows[0]]

    album_entry, artist_entry = await catalog.album(album_id), await catalog.artist(artist_id)
    assert album_entry is not None and artist_entry is not None
    entity_ids = {
        "hot track": [hot],
        "mid track": [mid],
        "album": [t.track_id for t in album_entry.tracks],
        "artist": [t.track_id for t in artist_entry.tracks],
    }
    cases = handler_cases(computed, catalog, ids, bounds, year, TIMEFRAMES)
    unmemoized = handler_cases(no_memo, catalog, ids, bounds, year, ("30d", "1y"))
    cases |= {f"{name}, no memo": case for name, case in unmemoized.items() if "chart" in name}

    # First asks: the handlers' reads as a fresh process serves them, nothing learnt about large
    # audiences and no chart bucket kept (the store's listener windows stay as earlier asks left them).
    def first_ask(name: str) -> Case:
        async def call() -> Any:
            fresh = Reads(store, AnswerMemo(None))
            return await handler_cases(fresh, catalog, ids, bounds, year, ("1y",))[name][1]()

        return handler_cases(computed, catalog, ids, bounds, year, ("1y",))[name][0], call

    cases |= {f"first ask: {name}": first_ask(name) for name in FIRST_ASKS}
    cases |= {
        "track realtime (hot)": ("hot track", live),
        "artist collaborations": ("artist", collaborations),
    }
    feed, kept, every_day = None, {}, {}
    if bootstrap is not None:
        feed, changes = await following(bootstrap)
        kept = {
            f"kept: {name}": case
            for name, case in handler_cases(
                Reads(store, AnswerMemo(changes)), catalog, ids, bounds, year, TIMEFRAMES
            ).items()
        }
        cases |= kept
        # Beside them under live notices: the same, reading every day at each change (no rows of
        # earlier days kept), for the popular entities' analytics and charts.
        whole_days = Reads(store, AnswerMemo(changes), past=PastRows(None))
        every_day = {
            f"every day: {name}": case
            for name, case in handler_cases(whole_days, catalog, ids, bounds, year, ("30d", "1y")).items()
            if "mid" not in name
        }
    results: dict[str, Any] = {}
    for name, (entity, call) in cases.items():
        results[name] = await measure(store, call, repeat) | {"entity": entity}
        if "chart" in name:  # what the memo's choice of statement goes by (chart_queries.RECOUNT_BELOW)
            series = (await call()).series
            results[name]["bucket_listeners_summed"] = sum(point.listeners for point in series)
        print(f"  {name}: {results[name]['median_ms']:.2f} ms", file=sys.stderr, flush=True)
    under_notices = []
    if feed is not None and bootstrap is not None:
        tracks = int(store.query_rows("SELECT count() FROM tracks")[0][0])
        for rate in live_rates:
            cases_live = await under_live_notices(kept | every_day, bootstrap, tracks, rate, live_rounds)
            under_notices.append({"events_per_s": rate, "ask_every_s": LIVE_ASK_EVERY, "cases": cases_live})
        await feed.stop()
    raw_results: dict[str, Any] = {}
    for entity, ids in entity_ids.items():
        parameters = {"track_ids": ids, "previous_start": bounds.previous_start, "today": bounds.today}
        rollup_figures = await analytics.figures(store, ids, bounds)
        # Which listeners come from sketches, as the handlers' record of large audiences says.
        served = await analytics.figures(store, ids, bounds, computed.audiences)
        raw_values = await raw(ids)
        raw_results[entity] = await measure(store, partial(raw, ids), max(5, repeat // 10)) | {
            "tracks": len(ids),
            "merged_set_sizes": (await store.aquery_rows(MERGED_SIZES_SQL, parameters))[0][0],
            # RAW_FIGURES_SQL counts the eight figures of before the listening sums.
            "matches_rollups": raw_values == list(vars(rollup_figures).values())[: len(raw_values)],
            "plays_total": raw_values[0],
            "listeners_total": raw_values[1],
            "listeners_total_served": served.listeners_total,
            "listeners": raw_values[3],
            "listeners_served": served.listeners,
            "previous_listeners": raw_values[7],
            "previous_listeners_served": served.previous_listeners,
            "sketched": computed.audiences.mode(analytics.track_set(ids), bounds)._asdict(),
        }
        print(f"  raw {entity}: {raw_results[entity]['median_ms']:.2f} ms", file=sys.stderr, flush=True)
    floor = await measure(store, lambda: store.aquery_rows("SELECT 1"), repeat)
    parts = store.query_rows(
        "SELECT table, count(), sum(rows) FROM system.parts WHERE active AND database = currentDatabase()"
        " GROUP BY table ORDER BY table"
    )
    return {
        "ids": {"hot_track": hot, "mid_track": mid, "album": album_id, "artist": artist_id},
        "endpoints": results,
        "live": under_notices,
        "raw": raw_results,
        "floor_select_1": floor,
        "parts": {str(t): {"parts": int(p), "rows": int(r)} for t, p, r in parts},
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }


def one_size(
    n: int,
    tracks: int,
    repeat: int,
    bootstrap: str | None,
    live_rates: list[int],
    live_rounds: int,
    stores: str | None = None,
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        if stores is None:
            path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="read-latency-")))
        else:
            path = Path(stores) / f"{n}-events-{tracks}-tracks"
        built = path / "built.json"
        store = TracingStore(f"chdb://{path}/clickhouse")
        store.calls = []
        try:
            migrate(store)
            if built.exists():
                loaded = json.loads(built.read_text()) | {
                    "reused": True,
                    "topped_up": top_up(store, n, tracks),
                }
                print(f"size {n:,}: reusing the store in {path} ({loaded})", file=sys.stderr, flush=True)
            else:
                print(f"size {n:,}: loading", file=sys.stderr, flush=True)
                loaded = load(store, n, tracks)
                built.write_text(json.dumps(loaded))
                print(f"size {n:,}: loaded {loaded}", file=sys.stderr, flush=True)
            loaded["merges_waited_s"] = merges_settled(store, n)
            return {"events": n, "load": loaded} | asyncio.run(
                bench_size(store, repeat, bootstrap, live_rates, live_rounds)
            )
        finally:
            store.close()


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    return {
        "nproc": os.cpu_count(),
        "cpu": models[0] if models else platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chdb": version("chdb"),
        "clickhouse_connect": version("clickhouse-connect"),
    }


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def report(runs: list[dict[str, Any]]) -> None:
    first, last = runs[0], runs[-1]
    big, small = label(last["events"]), label(first["events"])
    heads = [f"{label(r['events'])} {s}" for r in runs for s in ("med", "p95", "cpu")]
    heads += [f"{big}/{small}", f"raw {big}", "rollup/raw"]
    print(f"\n{'endpoint (ms)':32}" + "".join(f"{h:>11}" for h in heads) + "  verdict")
    for name, end in last["endpoints"].items():
        cells = [r["endpoints"][name][k] for r in runs for k in MEASURES]
        ratio = end["median_ms"] / first["endpoints"][name]["median_ms"]
        raw = last["raw"][end["entity"]]["median_ms"]
        cells += [ratio, raw, end["median_ms"] / raw]
        misses = [
            m for m, bad in (("10ms", end["median_ms"] > TARGET_MS), ("1.5x", ratio > TARGET_RATIO)) if bad
        ]
        verdict = "MISS " + ",".join(misses) if misses else "ok"
        print(f"{name:32}" + "".join(f"{c:11.2f}" for c in cells) + f"  {verdict}")
    for entity in last["raw"]:
        cells = [r["raw"][entity][k] for r in runs for k in MEASURES]
        print(f"{'raw figures, ' + entity:32}" + "".join(f"{c:11.2f}" for c in cells))
    cells = [r["floor_select_1"][k] for r in runs for k in MEASURES]
    print(f"{'floor: SELECT 1 via Store':32}" + "".join(f"{c:11.2f}" for c in cells))
    sizes = " | ".join(label(r["events"]) for r in runs)
    print(f"\nper statement: median wall ms, engine ms, rows read; {sizes}")
    for name in last["endpoints"]:
        print(name)
        for statement in last["endpoints"][name]["sql"]:
            per_size = [
                next((x for x in r["endpoints"][name]["sql"] if x["sql"] == statement["sql"]), None)
                for r in runs
            ]
            text = " | ".join(
                f"{x['wall_ms']:7.2f} {x['engine_ms']:7.2f} {x['rows_read']:>8}" if x else " " * 25
                for x in per_size
            )
            print(f"    {text}  {statement['per_call']:4.2f}/call  {statement['sql'][:60]}")
    for r in runs:
        for under in r.get("live", []):
            rate, every = under["events_per_s"], under["ask_every_s"]
            print(f"\n{label(r['events'])}, asked every {every} s under notices of {rate:,} events/s:")
            for name, v in under["cases"].items():
                share, median, p95 = v["kept_share"], v["median_ms"], v["p95_ms"]
                past = f"earlier days kept {v.get('past_kept_share', 0):4.0%}"
                print(f"    {name:40} kept {share:4.0%}  {past}  median {median:7.2f} ms  p95 {p95:7.2f} ms")
    for r in runs:
        print(f"{label(r['events'])}: load {r['load']}, ids {r['ids']}, load average {r['load_average']}")
        summed = {n: e["bucket_listeners_summed"] for n, e in r["endpoints"].items() if "chart" in n}
        print(f"    charts, bucket listeners summed: {summed}")
        for entity, v in r["raw"].items():
            counts = f"{v['tracks']} tracks, {v['plays_total']} plays, {v['listeners_total']} listeners"
            counts += f", 30-day analytics merge {v['merged_set_sizes']} set elements"
            counts += f", all-time listeners served {v['listeners_total_served']}"
            counts += f"; 30 days: {v['listeners']} listeners, served {v['listeners_served']}"
            counts += f", previous {v['previous_listeners']}, served {v['previous_listeners_served']}"
            counts += f", from sketches: {[k for k, on in v['sketched'].items() if on]}"
            print(f"    {entity}: {counts}, raw figures equal the rollups: {v['matches_rollups']}")


def rates(text: str) -> list[int]:
    return [int(rate) for rate in text.split(",") if rate.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="100000,10000000")
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument(
        "--no-feed", action="store_true", help="skip the answers kept while unchanged (no local Kafka)"
    )
    parser.add_argument(
        "--live-rates",
        default="50,5000",
        help="events/s the live notices stand for, one run each (empty: none)",
    )
    parser.add_argument("--live-rounds", type=int, default=15)
    parser.add_argument(
        "--stores",
        help="keep each size's store in this directory and reuse it in later runs (merged by then), "
        "instead of building a fresh one in a temp dir",
    )
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_size:
        sized = one_size(
            args.one_size,
            args.tracks,
            args.repeat,
            args.bootstrap,
            rates(args.live_rates),
            args.live_rounds,
            args.stores,
        )
        print(json.dumps(sized))
        return
    runs = []
    with tempfile.TemporaryDirectory(prefix="read-latency-kafka-") as tmp:
        kafka = None if args.no_feed else LocalKafka(Path(tmp) / "kafka", partitions=1)
        feed = []
        if kafka is not None:
            bootstrap = kafka.start()
            asyncio.run(ensure_topic(bootstrap, CHANGES_TOPIC, 1))
            feed = ["--bootstrap", bootstrap]
        try:
            for n in (int(s) for s in args.sizes.split(",")):
                command = [
                    sys.executable,
                    __file__,
                    "--one-size",
                    str(n),
                    "--tracks",
                    str(args.tracks),
                    *feed,
                    *("--live-rates", args.live_rates, "--live-rounds", str(args.live_rounds)),
                    *(("--stores", args.stores) if args.stores else ()),
                ]
                child = subprocess.run(
                    [*command, "--repeat", str(args.repeat)], stdout=subprocess.PIPE, check=True
                )
                runs.append(json.loads(child.stdout.decode().strip().splitlines()[-1]))
        finally:
            if kafka is not None:
                kafka.stop()
    result = {"machine": machine(), "tracks": args.tracks, "repeat": args.repeat, "runs": runs}
    print(f"machine: {result['machine']}")
    report(runs)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"read-latency-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
