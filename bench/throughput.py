"""Ingest and worker throughput, each measured beside its ceiling in the same run.

- ingest: events/s through `insights api` (a child process), POSTing batches to /api/v1/events from
  one client with --concurrency requests in flight; ceiling: a bare aiokafka producer (acks=all,
  idempotent, the publisher's linger/batch settings) sending the very same messages: one per batch.
- worker: events/s of the Faust worker (pipeline/) from Kafka into the embedded ClickHouse engine,
  start-up and group join excluded (reported apart); two ceilings: a bare aiokafka consumer reading and
  decoding the same messages, and a bare insert of the same events into one plain MergeTree table of
  the same engine (the worker's flush size, columnar, as the worker builds its columns): what writing
  them anywhere costs before any dedupe, fencing or rollup. The rollups are then checked to hold
  every event exactly once.

The events: Zipf-popular tracks, 100,000 listeners, occurred_at spread over 30 days (a backlog, the
costliest case: nearly every rollup row is a group of its own) or, with `--spread 60`, the last minute
(live traffic), and, on 90 % of plays and heartbeats, a country, source and platform (the audience
rollups' dimensions).

All on a fresh local Kafka in a temp dir, removed at the end. Rerun with `make bench` or
`.venv/bin/python bench/throughput.py [--events 200000] [--batch 500] [--concurrency 8]
[--partitions 6] [--history 0] [--spread SECONDS]
[--rollups today|before-blocks|before-zones|before-audience]`;
the table is printed and saved as JSON in bench/results/.
`--rollups` runs the worker with the rollups an issue started from, for its rate before side by side.
`--history N` stores N older events before the worker starts, to show what the dedupe lookup costs as
history grows (a look-up in the sorted `event_keys` index since migration 015: docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
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
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from api.ingest.publisher import ensure_topic
from insights.dev.kafka_local import LocalKafka, unused_port
from insights.migrate import migrate
from insights.settings import Settings
from insights.store import Store
from pipeline.decode import decode_message
from pipeline.rollups import (
    LISTENER_BLOCKS,
    ROLLUPS,
    TRACK_HOURLY,
    TRACK_REALTIME,
    TRACK_TOTALS,
    Rollup,
    counter_rollup,
)
from pipeline.sink import EVENT_COLUMNS, RollupSink, SourcedEvent, event_columns
from pipeline.worker import FLUSH_MAX_EVENTS, Worker
from schemas.events import PLATFORMS, SOURCES, decode_batch, encode_batch, validate_batch
from schemas.tokens import create_token
from schemas.topics import EVENTS_TOPIC

# --rollups: the worker with today's rollups, or with the set an issue started from, for its "rate
# before" side by side (the tables are today's; an older set simply writes fewer of them).
_DAILY_BEFORE_AUDIENCE = counter_rollup("track_daily", ("day", "toDate(occurred_at)"), sketch=True)
_BEFORE_ZONES = (TRACK_REALTIME, TRACK_HOURLY, _DAILY_BEFORE_AUDIENCE, TRACK_TOTALS)
ROLLUP_SETS: dict[str, tuple[Rollup, ...]] = {
    "today": ROLLUPS,
    # before the listener blocks of popular entities
    "before-blocks": tuple(r for r in ROLLUPS if r is not LISTENER_BLOCKS),
    # before the quarter-hour rollup of local days and ranges
    "before-zones": _BEFORE_ZONES,
    # before the audience rollups and the listening sums
    "before-audience": (
        *_BEFORE_ZONES,
        counter_rollup("track_quarter", ("quarter", "toStartOfFifteenMinutes(occurred_at)")),
    ),
}

CEILING_TOPIC = "bench.ceiling"
SECRET = "bench-throughput-secret-of-a-reasonable-length"
RESULTS = Path(__file__).resolve().parent / "results"
TYPES, TYPE_WEIGHTS = ("play", "like", "repost", "heartbeat"), (80, 7, 3, 10)
COUNTRIES = ("US", "US", "US", "DE", "GB", "BR", "IN", "JP", "FR", "MX", "CA", "NP", "KE", "AU", "SE", "NG")
CEILING_TABLE = "bench_ceiling_events"  # one plain MergeTree table, dropped after the measure
PUBLISHER = {"acks": "all", "enable_idempotence": True, "linger_ms": 2, "max_batch_size": 256 * 1024}


class Workload(NamedTuple):
    bodies: list[bytes]  # one JSON request body per batch
    sizes: list[int]  # events per body
    messages: list[tuple[bytes, bytes]]  # (key, value) exactly as the API writes them to Kafka
    unique: int  # distinct event_ids: what the rollups must count


def audience(rng: random.Random) -> dict[str, str]:
    return {
        "country": rng.choice(COUNTRIES),
        "source": rng.choice(SOURCES),
        "platform": rng.choice(PLATFORMS),
    }


def catalogued(seed: int = 7) -> list[int]:
    """The workload's 10,000 track ids, in order of popularity."""
    return random.Random(seed).sample(range(1, 10_000_000), 10_000)


# The catalog of the workload's tracks: 10 a album, 3 albums an artist, ~15 % with a second artist
# (so the worker's listener blocks have the albums and artists a real catalog gives them).
CATALOG_SQL = """
INSERT INTO tracks (track_id, title, album_id, artist_ids, version)
SELECT track_id, 'Track', intDiv(n, 10) + 1,
    if(cityHash64(n) % 100 < 15, [intDiv(n, 30) + 1, (intDiv(n, 30) + 1 + cityHash64(n, 1) % 20) % 334 + 1],
       [intDiv(n, 30) + 1]), 1
FROM (SELECT arrayJoin(arrayEnumerate({tracks:Array(UInt64)})) - 1 AS n,
             {tracks:Array(UInt64)}[n + 1] AS track_id)"""


def generate(n: int, batch: int, seed: int = 7, spread: float = 30 * 86400.0) -> Workload:
    """A few hits and a long tail (Zipf s=1.1 over 10,000 tracks), 100,000 listeners, occurred_at
    spread over the last `spread` seconds (30 days: a backlog; a minute: live traffic)."""
    rng = random.Random(seed)
    tracks = catalogued(seed)
    rng.sample(range(1, 10_000_000), 10_000)  # as catalogued(), so the draws below are as before
    weights = [1 / rank**1.1 for rank in range(1, len(tracks) + 1)]
    now, span = datetime.now(UTC) - timedelta(minutes=1), spread
    kinds, picks = rng.choices(TYPES, TYPE_WEIGHTS, k=n), rng.choices(tracks, weights, k=n)
    raw = [
        {
            "event_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
            "type": kind,
            "track_id": track,
            "listener_id": f"user-{rng.randrange(100_000):06d}",
            "occurred_at": (now - timedelta(seconds=rng.random() * span)).isoformat(timespec="milliseconds"),
            **({"listened_ms": rng.randrange(5_000, 240_000)} if kind == "play" else {}),
            **(audience(rng) if kind in ("play", "heartbeat") and rng.random() < 0.9 else {}),
        }
        for kind, track in zip(kinds, picks, strict=True)
    ]
    chunks = [raw[i : i + batch] for i in range(0, n, batch)]
    messages: list[tuple[bytes, bytes]] = []
    for chunk in chunks:
        accepted, errors = validate_batch(chunk)
        assert not errors, errors[:3]
        messages.append((accepted[0].event_id.encode(), encode_batch(accepted)))  # as api/ingest/endpoints.py
    bodies = [msgspec.json.encode({"events": chunk}) for chunk in chunks]
    return Workload(bodies, [len(c) for c in chunks], messages, len({e["event_id"] for e in raw}))


async def producer_ceiling(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Seconds for a bare producer, configured as api/ingest/publisher.py, to have every message acked."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PUBLISHER)
    await producer.start()
    try:
        await producer.client.force_metadata_update()
        started = time.perf_counter()
        futures = [await producer.send(CEILING_TOPIC, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def start_api(bootstrap: str, partitions: int, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = unused_port()
    env = os.environ | {
        "INSIGHTS_KAFKA_BOOTSTRAP": bootstrap,
        "INSIGHTS_SECRET": SECRET,
        "INSIGHTS_LOG_LEVEL": "WARNING",
        "INSIGHTS_TOPIC_PARTITIONS": str(partitions),
    }
    env.pop("INSIGHTS_CLICKHOUSE_DSN", None)
    command = [sys.executable, "-m", "insights.cli", "api", "--port", str(port), "--data-dir", str(data_dir)]
    with (data_dir.parent / "api.log").open("wb") as log:
        api = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return api, f"http://127.0.0.1:{port}"


async def wait_ready(url: str, api: subprocess.Popen[bytes], log: Path) -> None:
    async with asyncio.timeout(120), aiohttp.ClientSession() as session:
        while api.poll() is None:
            try:
                async with session.get(url + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    output = await asyncio.to_thread(log.read_text)
    raise RuntimeError(f"insights api exited with {api.returncode}:\n{output[-3000:]}")


async def post_all(url: str, work: Workload, concurrency: int) -> tuple[float, int]:
    """Seconds to POST every batch with `concurrency` requests in flight; and the failed batches."""
    token = create_token(SECRET, subject="bench", scopes=["events:write"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    pending = iter(zip(work.bodies, work.sizes, strict=True))  # shared: each lane takes the next
    failures = 0

    async def lane(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for body, size in pending:
            async with session.post(url + "/api/v1/events", data=body, headers=headers) as response:
                answer = await response.read()
            if response.status != 202 or msgspec.json.decode(answer)["data"]["accepted"] != size:
                failures += 1
                print(f"  batch failed: {response.status} {answer[:200]!r}", file=sys.stderr)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(lane(session) for _ in range(concurrency)))
        return time.perf_counter() - started, failures


async def consumer_ceiling(bootstrap: str, partitions: int, n: int) -> float:
    """Seconds for a bare, group-less consumer to read and decode every message of the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(EVENTS_TOPIC, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        started, count = time.perf_counter(), 0
        while count < n:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).values():
                for record in records:
                    count += len(decode_batch(record.value)[0])
        return time.perf_counter() - started
    finally:
        await consumer.stop()


# Stored history for --history: plays already in `events` (as if from the last 8 days), under Kafka
# partitions the topic does not have, so no rollup or progress marker ever involves them; only the
# dedupe look-up sees them, in the dedupe index: `event_keys` (migration 015), or `event_ids` in a
# revision before it (migration 007).
HISTORY_SQL = """
INSERT INTO events (event_id, type, track_id, listener_id, occurred_at, listened_ms, kafka_partition,
    kafka_offset, ingested_at)
SELECT toString(generateUUIDv4(number)), 'play', 1 + number % 10000,
    concat('u', toString(number % 500000)),
    now64(3, 'UTC') - toIntervalSecond(number % 691200), NULL, 1000 + number % 6, number, now()
FROM numbers({n:UInt64})"""
HISTORY_IDS_SQL = {
    "event_keys": "INSERT INTO event_keys SELECT sipHash128(event_id), kafka_partition, kafka_offset,"
    " ingested_at FROM events WHERE kafka_partition >= 1000",
    "event_ids": "INSERT INTO event_ids SELECT event_id, kafka_partition, kafka_offset FROM events"
    " WHERE kafka_partition >= 1000",
}


# Every event the rollups hold: plays, likes and reposts in the totals, heartbeats only in `events`.
COUNTED_SQL = (
    "SELECT (SELECT sum(plays) + sum(likes) + sum(reposts) FROM track_totals)"
    " + (SELECT count() FROM events WHERE type = 'heartbeat')"
)


def decoded_events(messages: list[tuple[bytes, bytes]], partitions: int) -> list[SourcedEvent]:
    """The events of `messages` as the worker decodes them, the messages spread over `partitions`."""
    events: list[SourcedEvent] = []
    for number, (_, value) in enumerate(messages):
        decoded, _ = decode_message(value, number % partitions, number // partitions)
        events += decoded
    return events


def insert_ceiling(
    store: Store,
    messages: list[tuple[bytes, bytes]],
    partitions: int,
    flush: int = FLUSH_MAX_EVENTS,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Seconds (of `clock`: wall time by default) to insert the events of `messages` into one plain
    MergeTree table, `flush` at a time, from their decoded form (the decoding is the consumer
    ceiling's), as the worker builds its columns: no dedupe, no fencing, no rollup, one statement per
    flush."""
    events = decoded_events(messages, partitions)
    store.command(
        f"CREATE TABLE {CEILING_TABLE} AS events ENGINE = MergeTree ORDER BY (kafka_partition, kafka_offset)"
    )
    try:
        started = clock()
        for start in range(0, len(events), flush):
            columns = event_columns(events[start : start + flush], int(time.time()))
            store.insert_columns(CEILING_TABLE, columns, EVENT_COLUMNS)
        return clock() - started
    finally:
        store.command(f"DROP TABLE {CEILING_TABLE}")


async def run_worker(
    bootstrap: str,
    partitions: int,
    data_dir: Path,
    expected: int,
    history: int = 0,
    messages: list[tuple[bytes, bytes]] | None = None,
    rollups: tuple[Rollup, ...] = ROLLUPS,
) -> dict[str, float]:
    """Start-up (to partitions assigned) and processing seconds; then checks the rollups' exactness.
    With `messages`, first the bare insert ceiling of their events, in the same engine."""
    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    try:
        migrate(store)
        store.command(CATALOG_SQL, {"tracks": catalogued()})
        inserted = insert_ceiling(store, messages, partitions) if messages else 0.0
        if history:
            store.command(HISTORY_SQL, {"n": history})
            for index, fill in HISTORY_IDS_SQL.items():
                if store.query_rows(f"EXISTS TABLE {index}") == [(1,)]:
                    store.command(fill)
            # A store that grew to this size has merged its parts long ago: merge the bulk load now,
            # so the worker is not measured against the engine merging it in the background.
            began = time.perf_counter()
            store.command("OPTIMIZE TABLE events FINAL")
            merged = time.perf_counter() - began
            print(f"  {history:,} events of stored history loaded (merged in {merged:.0f} s)")
        settings = Settings.from_env(env={"INSIGHTS_TOPIC_PARTITIONS": str(partitions)}, data_dir=data_dir)
        worker, joined = Worker(settings, store, bootstrap), asyncio.Event()
        if rollups != ROLLUPS:
            worker.sink.close()
            worker.sink = RollupSink(store, rollups)

        async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            joined.set()

        worker.app.on_partitions_assigned.connect(on_assigned)
        started = time.perf_counter()
        await worker.start()
        try:
            await asyncio.wait_for(joined.wait(), 120)
            assigned, cpu_at_assigned = time.perf_counter(), time.process_time()
            progress, last = assigned, 0
            while worker.flushed_events < expected:
                await asyncio.sleep(0.05)
                if worker.flushed_events != last:
                    progress, last = time.perf_counter(), worker.flushed_events
                elif time.perf_counter() - progress > 120:
                    raise RuntimeError(f"the worker stalled at {last} of {expected} events")
            done, cpu = time.perf_counter(), time.process_time() - cpu_at_assigned
        finally:
            await worker.stop()
        counted = store.query_rows(COUNTED_SQL)[0][0]
        if counted != expected:
            raise RuntimeError(f"the rollups hold {counted} events, expected {expected}")
        return {
            "startup": assigned - started,
            "seconds": done - assigned,
            "cpu_seconds": cpu,
            "counted": counted,
            "insert_ceiling": inserted,
        }
    finally:
        store.close()


def figure(name: str, n: int, seconds: float, ceiling: str, ceiling_seconds: float) -> dict[str, Any]:
    rates = {"events_per_s": round(n / seconds), "ceiling_events_per_s": round(n / ceiling_seconds)}
    return {"benchmark": name, "ceiling": ceiling, **rates, "ratio": round(ceiling_seconds / seconds, 3)}


async def measure(args: argparse.Namespace, bootstrap: str, tmp: Path) -> dict[str, Any]:
    n, partitions = args.events, args.partitions
    for topic in (EVENTS_TOPIC, CEILING_TOPIC):
        await ensure_topic(bootstrap, topic, partitions)
    clock = time.perf_counter()
    work = generate(n, args.batch, spread=args.spread)
    print(f"generated {n:,} events in {len(work.bodies):,} batches ({time.perf_counter() - clock:.1f} s)")

    api, url = start_api(bootstrap, partitions, tmp / "api")
    try:
        await wait_ready(url, api, tmp / "api.log")
        produced = await producer_ceiling(bootstrap, work.messages)
        print(f"  producer ceiling: {n / produced:,.0f} events/s")
        ingested, failures = await post_all(url, work, args.concurrency)
        print(f"  ingest: {n / ingested:,.0f} events/s, {failures} failed batches")
    finally:
        api.send_signal(signal.SIGINT)
        try:
            api.wait(30)
        except subprocess.TimeoutExpired:
            api.kill()
            api.wait()
    if failures:
        raise RuntimeError(f"{failures} batches were not wholly accepted: the worker cannot be measured")

    read = await consumer_ceiling(bootstrap, partitions, n)
    print(f"  consumer ceiling: {n / read:,.0f} events/s")
    worker = await run_worker(
        bootstrap,
        partitions,
        tmp / "worker",
        work.unique,
        args.history,
        work.messages,
        ROLLUP_SETS[args.rollups],
    )
    print(f"  bare chDB insert ceiling: {n / worker['insert_ceiling']:,.0f} events/s")
    print(
        f"  worker: {n / worker['seconds']:,.0f} events/s (start-up {worker['startup']:.1f} s;"
        f" {worker['cpu_seconds'] / worker['seconds']:.2f} cores of the process,"
        f" {worker['cpu_seconds'] / n * 1e6:.1f} CPU-µs an event)"
    )
    return {
        "figures": [
            figure("ingest: POST /api/v1/events", n, ingested, "bare aiokafka producer", produced),
            figure("worker: Kafka -> ClickHouse", n, worker["seconds"], "bare consumer + decode", read),
            figure(
                "worker: Kafka -> ClickHouse",
                n,
                worker["seconds"],
                "bare chDB insert",
                worker["insert_ceiling"],
            ),
        ],
        "worker_startup_s": round(worker["startup"], 2),
        "failed_batches": failures,
        "rollups_counted": worker["counted"],
        "expected": work.unique,
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    git = ["git", "-C", str(RESULTS.parent.parent), "describe", "--always", "--dirty", "--abbrev=7"]
    revision = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": models[0] if models else platform.processor(),
        "python": platform.python_version(),
        "revision": revision,
    }


def report(result: dict[str, Any]) -> None:
    line = "{:<28}  {:>9}  {:<22}  {:>16}  {:>5}"
    print("\n" + line.format("benchmark", "events/s", "ceiling", "ceiling events/s", "ratio"))
    print(line.format(*("-" * w for w in (28, 9, 22, 16, 5))))
    for f in result["figures"]:
        eps, ceiling = f"{f['events_per_s']:,}", f"{f['ceiling_events_per_s']:,}"
        print(line.format(f["benchmark"], eps, f["ceiling"], ceiling, f"{f['ratio']:.2f}"))
    m, p = result["machine"], result["parameters"]
    print(f"\nworker start-up and group join (excluded above): {result['worker_startup_s']:.1f} s")
    print(f"{p['events']:,} events, {p['batch']} a request, {p['concurrency']} in flight, ", end="")
    print(f"{p['partitions']} partitions, {p.get('history', 0):,} events of stored history, ", end="")
    print(f"rollups: {p['rollups']}")
    print(f"machine: {m['nproc']} cpu, {m['cpu']}, Python {m['python']}, revision {m['revision']}")
    print(f"load average before {result['load_before']}, after {result['load_after']}; {result['total_s']} s")


def main() -> int:
    parser = argparse.ArgumentParser(description="Ingest and worker throughput beside their ceilings.")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="events per request (1 to 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument(
        "--spread",
        type=float,
        default=30 * 86400.0,
        help="seconds back that occurred_at reaches (default 30 days, a backlog; 60 is live traffic)",
    )
    parser.add_argument(
        "--history", type=int, default=0, help="events already stored before the worker starts (dedupe cost)"
    )
    parser.add_argument(
        "--rollups",
        choices=sorted(ROLLUP_SETS),
        default="today",
        help="the worker's rollups: today's, or those before the listener blocks, the zones or the audience",
    )
    args = parser.parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="insights-bench-"))
    kafka = LocalKafka(tmp / "kafka", partitions=args.partitions)
    try:
        result = asyncio.run(measure(args, kafka.start(), tmp))
    except KeyboardInterrupt:
        return 130
    finally:
        kafka.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    result |= {
        "parameters": vars(args),
        "machine": machine(),
        "load_before": [round(x, 1) for x in load_before],
        "load_after": [round(x, 1) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - started),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"throughput-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
