"""Reads while the player is sending: read latency and freshness of `insights up` under steady ingest.

`insights up` (the embedded default, as users run it: its own Kafka, chDB, API and worker, the worker
in a child process of its own) runs as a child in a temp data dir. After a catalog and some history
are loaded, each phase holds an ingest rate (0, 5,000, 20,000, 50,000 events/s by default) and
meanwhile measures, one after the other, reads at --clients connections of three kinds:

- cached: the analytics of the most played track, the same URL every time (the response cache answers,
  recomputed in the background while ingest keeps changing the track);
- computed: the analytics of a track not asked before in this run, a new one on every request (neither
  the response cache nor a kept answer can serve it: every request runs the figures statement);
- realtime: the realtime of a track walked like the computed ones (the endpoint takes no parameter, and
  its answers are cached for a second: a new track on every request is computed every time).

With no ingest, the cached reads run once more before the probe starts (`cached_nothing_written`):
nothing is written then, so the two say what the probe's own small flushes cost the reads.

Freshness is measured all through the phase: a probe posts one play to each of 40 tracks of its own
in one batch (one Kafka message: one flush makes them visible together) and polls their realtime in
turn every 50 ms, so each track is asked at most every 2 s and no answer comes from the response cache
(max-age 1 s); the time from the 202 to the first answer that counts the play is its freshness. Beside
it, the worker's flushes of the phase (their mean duration and size): an event waits for the flush
under way, then for its own, so freshness follows them.
Ingest comes from a generator process of this script: realistic batches
of 500 events (`insights generate`'s model) made once, then re-sent with fresh event ids, so its CPU per
event is a small fraction of the server's. It keeps --in-flight requests in flight, so the time each
takes to be answered (its p50 and p99, "post") bounds the rate it reaches. Every figure of CPU is per
process (insights, its worker where it runs apart, its Kafka, the generator, wrk, this probe), so the
generator's share is visible.
So is each process's peak memory so far (RSS high-water mark, after each phase): the worker's is its
Python alone, the engine's memory being the insights process's. Between phases the worker catches up.

The ceiling is the same process with no ingest: every phase is reported as a ratio to the no-ingest
phase of its own round. Reads use wrk (1 thread, C; `apt-get install wrk`) when installed, else an
aiohttp client (whose CPU per request is about the server's: its figures then include its queueing).

Rerun: `.venv/bin/python bench/mixed_load.py [--rates 0,5000,20000,50000] [--rounds 2] [--seconds 10]
[--in-flight 8]` (`--in-flight`: the generator's requests in flight, as many players send at once);
`--quick` is one round of 4-s reads at 0 and 20,000 events/s with little history (about 2 minutes).
`--trees before=DIR,after=.` runs every round on each checkout's code in turn (a fresh `insights up`
each), for a before/after on the same machine in the same run: `git archive REV | tar -x -C DIR`. A
tree may carry settings: `--trees shared=.,reserved=.:INSIGHTS_LOOP_CORE=on`.
Prints the table; the JSON lands in bench/results/mixed-load-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import msgspec
from prometheus_client.parser import text_string_to_metric_families
from reporting import cpu_seconds, free_port, peak_rss_mib, publish

from insights.dev.generate import Catalog, make_catalog, make_events

SECRET = "bench-mixed-load-secret-of-a-reasonable-length"
INSIGHTS = "/api/v1/producer-intelligence/insights"
PROBE_TRACKS, PROBE_ARTIST = tuple(range(999_000, 999_040)), 1
BATCH = 500  # events per POST, as `insights generate` sends them
TEMPLATES = 80  # distinct batches the generator cycles through (40,000 events)
ID_MARK = b"@@@@@@@@@@@@@@@@"  # in every template event id; replaced by a sequence number per POST
LIMITS = {f"INSIGHTS_RATE_LIMIT_{k}": str(10**9) for k in ("READ", "EXPORT", "INGEST")}
KINDS = ("cached", "computed", "realtime")
READ_TIMEOUT_SECONDS = 30  # a read slower than this counts as failed


def bearer() -> str:
    from schemas.tokens import create_token

    return f"Bearer {create_token(SECRET, subject='bench', scopes=['admin'], days=1)}"


# --- the ingest generator (a process of its own) ------------------------------------------------


def templates(catalog: Catalog, seed: int) -> list[bytes]:
    """TEMPLATES request bodies of BATCH events each, whose event ids all contain ID_MARK."""
    rng = random.Random(seed)
    events = list(make_events(catalog, TEMPLATES * BATCH, rng, datetime.now(UTC)))
    for number, event in enumerate(events):
        event["event_id"] = f"{ID_MARK.decode()}-{number:05d}"
    return [msgspec.json.encode({"events": events[i : i + BATCH]}) for i in range(0, len(events), BATCH)]


async def generate(
    url: str, rate: float, seconds: float, tracks: int, seed: int, in_flight: int
) -> dict[str, Any]:
    """Posts `rate` events a second for `seconds` (or until SIGTERM), `in_flight` requests at most."""
    bodies = templates(make_catalog(tracks, random.Random(seed)), seed)
    run = uuid.uuid4().int % 16**6  # every generator process sends ids of its own
    headers = {"Authorization": bearer(), "Content-Type": "application/json"}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    sent = accepted = failed = 0
    latencies: list[float] = []  # of each request, from its sending to its answer read
    slots = asyncio.Semaphore(in_flight)
    print("ready", flush=True)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as http:

        async def post(body: bytes) -> None:
            nonlocal accepted, failed
            began = time.monotonic()
            try:
                async with http.post(url + "/api/v1/events", data=body, headers=headers) as answer:
                    reply = await answer.read()
                if answer.status == 202:
                    accepted += msgspec.json.decode(reply)["data"]["accepted"]
                else:
                    failed += 1
            except aiohttp.ClientError:
                failed += 1
            finally:
                latencies.append(time.monotonic() - began)
                slots.release()

        started = time.monotonic()
        deadline, pending = started + seconds, set()
        while not stop.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
            await slots.acquire()
            mark = f"{run:06x}{sent // BATCH:010x}".encode()
            task = asyncio.create_task(post(bodies[(sent // BATCH) % len(bodies)].replace(ID_MARK, mark)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += BATCH
        elapsed = time.monotonic() - started
        await asyncio.gather(*pending)
    posts = {
        f"post_{name}_ms": milliseconds(percentile(latencies, q)) for name, q in (("p50", 0.5), ("p99", 0.99))
    }
    return {
        "sent": sent,
        "accepted": accepted,
        "failed_batches": failed,
        "seconds": round(elapsed, 2),
    } | posts


# --- reads: wrk, or an aiohttp client when wrk is absent -----------------------------------------

# wrk's script: the path of every request by kind, and the figures as JSON.
WRK_SCRIPT = """
local sent = 0
request = function()
  sent = sent + 1
  local path = wrk.path
  if KIND == "computed" then
    path = string.format(TRACK_PATH, FIRST + (START + sent) % COUNT)
  elseif KIND == "realtime" then
    path = string.format(REALTIME_PATH, FIRST + (START + sent) % COUNT)
  end
  return wrk.format(nil, path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "failed": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Reads:
    """What the read kinds ask for: the hot track's URLs, and the tracks computed reads walk."""

    base: str
    hot: int
    first: int  # computed reads ask for tracks first .. first + count - 1, from a moving start
    count: int

    def url(self, kind: str) -> str:
        suffix = "/realtime" if kind == "realtime" else "?period=30-days"
        return f"{self.base}{INSIGHTS}/tracks/{self.hot}{suffix}"

    def path(self, kind: str, number: int, start: int) -> str:
        if kind == "computed":
            return f"{INSIGHTS}/tracks/{self.first + (start + number) % self.count}?period=30-days"
        if kind == "realtime":
            return f"{INSIGHTS}/tracks/{self.first + (start + number) % self.count}/realtime"
        return f"{INSIGHTS}/tracks/{self.hot}?period=30-days"


def drive_wrk(reads: Reads, kind: str, clients: int, seconds: float, start: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        track_path = f"{INSIGHTS}/tracks/%d?period=30-days"
        script.write(f'KIND = "{kind}"\nTRACK_PATH = "{track_path}"\n')
        script.write(f'REALTIME_PATH = "{INSIGHTS}/tracks/%d/realtime"\n')
        script.write(f"FIRST = {reads.first}\nCOUNT = {reads.count}\nSTART = {start}\n{WRK_SCRIPT}")
        script.flush()
        command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "-s", script.name]
        # wrk gives up on a request after 2 s by default and leaves it out of the latencies, and the
        # computed reads queue close to that under ingest: their tail must count, not go missing.
        command += ["--timeout", f"{READ_TIMEOUT_SECONDS}s"]
        command += ["-H", f"Authorization: {bearer()}", reads.url(kind)]
        wrk = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert wrk.stdout is not None
        output = wrk.stdout.read()
        _, status, usage = os.wait4(wrk.pid, 0)  # the rusage of wrk alone
        wrk.returncode = os.waitstatus_to_exitcode(status)
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed: {output[-500:]}")
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    figures["client_cpu_s"] = usage.ru_utime + usage.ru_stime
    return figures


async def drive_aiohttp(reads: Reads, kind: str, clients: int, seconds: float, start: int) -> dict[str, Any]:
    latencies: list[float] = []
    failed, numbers = 0, iter(range(1, 10**9))
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        reads.base, connector=connector, headers={"Authorization": bearer()}
    ) as http:

        async def client() -> None:
            nonlocal failed
            while time.monotonic() < deadline:
                began = time.perf_counter()
                async with http.get(reads.path(kind, next(numbers), start)) as answer:
                    await answer.read()
                failed += answer.status != 200
                latencies.append(time.perf_counter() - began)

        began, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed, cpu = time.monotonic() - began, time.process_time() - cpu
    latencies.sort()
    at = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "failed": failed,
        "client_cpu_s": cpu,
    }


# --- freshness: a probe that posts a play and waits until realtime counts it ---------------------


async def probe(base: str, stop: asyncio.Event, every: float = 0.5) -> tuple[list[tuple[float, float]], int]:
    """For each probe batch, when it was accepted (monotonic) and the seconds from its 202 until
    realtime counts it; and how many never showed."""
    found: list[tuple[float, float]] = []
    lost = polls = 0
    async with aiohttp.ClientSession(base, headers={"Authorization": bearer()}) as http:

        async def plays(track: int) -> int:
            async with http.get(f"{INSIGHTS}/tracks/{track}/realtime") as answer:
                return int((await answer.json())["data"]["plays_last_60m"]) if answer.status == 200 else -1

        counted = await plays(PROBE_TRACKS[0])  # every probe track has had as many plays
        while not stop.is_set():
            began = time.monotonic()
            now = datetime.now(UTC).isoformat()
            batch = [
                {"event_id": uuid.uuid4().hex, "type": "play", "track_id": track}
                | {"listener_id": "probe", "occurred_at": now}
                for track in PROBE_TRACKS
            ]
            async with http.post("/api/v1/events", json={"events": batch}) as answer:
                assert answer.status == 202, await answer.text()
            accepted, counted = time.monotonic(), counted + 1
            while True:
                polls += 1
                if await plays(PROBE_TRACKS[polls % len(PROBE_TRACKS)]) >= counted:
                    found.append((accepted, time.monotonic() - accepted))
                    break
                if time.monotonic() - accepted > 30:
                    lost += 1  # counted later, if at all: the next batch waits for both
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(max(0.0, began + every - time.monotonic()))
    return found, lost


def milliseconds(seconds: float) -> int | None:
    return None if math.isnan(seconds) else round(seconds * 1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


# --- the process under test ------------------------------------------------------------------------


@dataclass
class Insights:
    process: subprocess.Popen[bytes]
    base: str
    data_dir: Path

    def child_pid(self, marker: str) -> int | None:
        """A child of `insights up` whose command line holds `marker`: "java" for its local Kafka,
        "insights.worker_process" for its worker (a process of its own since 2026-12-05)."""
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    return int(pid)
        return None


def start_insights(tmp: Path, tree: str | None, settings: dict[str, str] | None = None) -> Insights:
    """`insights up` in `tmp`, of the code in `tree` (a checkout of the project) when given, with
    `settings` (environment variables) added."""
    port = free_port()
    env = {
        **os.environ,
        **LIMITS,
        "INSIGHTS_SECRET": SECRET,
        "INSIGHTS_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    if tree:
        env["PYTHONPATH"] = os.pathsep.join([tree, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("INSIGHTS_KAFKA_BOOTSTRAP", None)
    env.pop("INSIGHTS_CLICKHOUSE_DSN", None)
    command = [sys.executable, "-m", "insights.cli", "up", "--data-dir", str(tmp / "data")]
    with (tmp / "up.log").open("wb") as log:
        # `python -m` puts the working directory first on the path: the tree's, or this checkout's.
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tree
        )
    return Insights(process, f"http://127.0.0.1:{port}", tmp / "data")


async def metric_samples(http: aiohttp.ClientSession) -> dict[str, float]:
    """Every sample of /metrics by name and labels (`name{label=value}`)."""
    async with http.get("/metrics") as answer:
        text = await answer.text()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def loop_lag_p99(before: dict[str, float], after: dict[str, float]) -> float | None:
    """The 99th percentile of the API's event loop lag between two scrapes, from the histogram's
    buckets (the upper bound of the bucket holding it); None when the process does not measure it."""
    name = "insights_event_loop_lag_seconds_bucket{le="
    buckets = sorted(  # labelled loop=api (sorted after le=), or not at all by older revisions
        (float(key.split("le=")[1].split(",")[0].rstrip("}")), after[key] - before.get(key, 0.0))
        for key in after
        if key.startswith(name) and (key.endswith("loop=api}") or "loop=" not in key)
    )
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    return next(bound for bound, count in buckets if count >= 0.99 * total)


def flushes(before: dict[str, float], after: dict[str, float]) -> dict[str, float | None]:
    """The worker's flushes between two scrapes: how many, their mean duration and size."""

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    count = delta("insights_worker_flush_duration_seconds_count")
    if count <= 0:
        return {"flushes": 0, "flush_mean_ms": None, "flush_mean_events": None}
    return {
        "flushes": int(count),
        "flush_mean_ms": round(delta("insights_worker_flush_duration_seconds_sum") / count * 1000),
        "flush_mean_events": round(delta("insights_worker_batch_events_sum") / count),
    }


async def written(http: aiohttp.ClientSession) -> float:
    samples = await metric_samples(http)
    return samples.get("insights_worker_events_written_total", 0.0) + samples.get(
        "insights_worker_duplicates_total", 0.0
    )


async def until_written(http: aiohttp.ClientSession, events: float, patience: float = 300) -> float:
    """Seconds until the worker has flushed `events` events in all (since the process started)."""
    began = time.monotonic()
    while await written(http) < events:
        if time.monotonic() - began > patience:
            raise RuntimeError(f"the worker did not catch up with {events:,.0f} events in {patience} s")
        await asyncio.sleep(0.25)
    return time.monotonic() - began


# --- phases ------------------------------------------------------------------------------------------


@dataclass
class Run:
    insights: Insights
    reads: Reads
    args: argparse.Namespace
    http: aiohttp.ClientSession
    accepted: float = 0.0  # events accepted so far (history, probes and phases)
    computed_start: int = 0  # where the next computed reads begin in the walk over tracks
    results: list[dict[str, Any]] = field(default_factory=list)


def start_generator(run: Run, rate: int, seconds: float) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--generate", str(rate), "--url", run.insights.base]
    command += ["--seconds", str(seconds), "--tracks", str(run.args.tracks)]
    command += ["--in-flight", str(run.args.in_flight)]
    generator = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert generator.stdout is not None
    if generator.stdout.readline().strip() != "ready":
        raise RuntimeError("the ingest generator did not start")
    return generator


async def read(run: Run, kind: str) -> dict[str, Any]:
    args = run.args
    if args.load == "wrk":
        figures = await asyncio.to_thread(
            drive_wrk, run.reads, kind, args.clients, args.seconds, run.computed_start
        )
    else:
        figures = await drive_aiohttp(run.reads, kind, args.clients, args.seconds, run.computed_start)
    if figures["failed"]:
        print(f"  note: {figures['failed']} {kind} reads failed (not 2xx, or no answer)", file=sys.stderr)
    if kind == "computed":
        run.computed_start += figures["requests"]
        if run.computed_start > run.reads.count:
            print("  note: computed reads went round the catalog; some may have been kept", file=sys.stderr)
    return {
        "requests_per_s": round(figures["requests"] / figures["seconds"]),
        "p50_ms": round(figures["p50_ms"], 2),
        "p99_ms": round(figures["p99_ms"], 2),
        "failed": figures["failed"],
        "client_cores": round(figures["client_cpu_s"] / figures["seconds"], 2),
    }


async def phase(run: Run, round_: int, rate: int) -> dict[str, Any]:
    args, insights = run.args, run.insights
    generator = start_generator(run, rate, args.warmup + 3 * args.seconds + 60) if rate else None
    await asyncio.sleep(args.warmup if rate else 0.5)
    found = {
        "insights": insights.process.pid,
        "worker": insights.child_pid("insights.worker_process"),
        "kafka": insights.child_pid("java"),
        "probe": os.getpid(),
        "generator": generator.pid if generator is not None else None,
    }
    pids = {name: pid for name, pid in found.items() if pid}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    # With no ingest, the cached reads once more before the probe starts: nothing is written then, so
    # the difference to the cached reads beside the probe is what its small flushes cost the reads.
    unwritten = await read(run, "cached") if rate == 0 else None
    metrics_before = await metric_samples(run.http)
    began = time.monotonic()
    stop = asyncio.Event()
    probing = asyncio.create_task(probe(insights.base, stop))
    reads, windows = {}, {}
    for kind in KINDS:
        opened = time.monotonic()
        reads[kind] = await read(run, kind)
        windows[kind] = (opened, time.monotonic())
    stop.set()
    probed, lost = await probing
    fresh = [seconds for _, seconds in probed]
    elapsed = time.monotonic() - began
    cores = {name: round((cpu_seconds(pids[name]) - cpu) / elapsed, 2) for name, cpu in cpu_before.items()}
    cores["wrk" if args.load == "wrk" else "reader"] = max(r["client_cores"] for r in reads.values())
    # each process's peak RSS so far (VmHWM): the engine's memory is the insights process's
    peak_rss = {name: peak_rss_mib(pid) for name, pid in pids.items() if name != "probe"}
    metrics_after = await metric_samples(run.http)
    lag = loop_lag_p99(metrics_before, metrics_after)
    ingest: dict[str, Any] = {"target": rate}
    if generator is not None:
        generator.send_signal(signal.SIGTERM)
        out, _ = generator.communicate(timeout=120)
        sent = json.loads(out.strip().splitlines()[-1])
        ingest |= sent | {"events_per_s": round(sent["accepted"] / sent["seconds"])}
        run.accepted += sent["accepted"]
    run.accepted += (len(fresh) + lost) * len(PROBE_TRACKS)
    catch_up = await until_written(run.http, run.accepted)
    result = {
        "round": round_,
        "ingest": ingest,
        **reads,
        "freshness": {
            "n": len(fresh),
            "p50_ms": milliseconds(percentile(fresh, 0.5)),
            "p99_ms": milliseconds(percentile(fresh, 0.99)),
            "max_ms": milliseconds(max(fresh, default=float("nan"))),
            "never_within_30_s": lost,
            # while each kind of read ran: which load holds the write side back
            **{
                f"p99_ms_during_{kind}": milliseconds(
                    percentile([s for at, s in probed if opened <= at < closed], 0.99)
                )
                for kind, (opened, closed) in windows.items()
            },
        },
        "cores": cores,
        "peak_rss_mib": peak_rss,
        "event_loop_lag_p99_ms": None if lag is None else round(lag * 1000, 1),
        "worker": flushes(metrics_before, metrics_after),
        "worker_catch_up_s": round(catch_up, 1),
    }
    if unwritten is not None:
        result["cached_nothing_written"] = unwritten
    return result


async def prepare(insights: Insights, args: argparse.Namespace) -> Run:
    """Wait for `insights up`, load the catalog and history, and find the most played track."""
    http = aiohttp.ClientSession(insights.base, headers={"Authorization": bearer()})
    deadline = time.monotonic() + 180
    while True:
        try:
            async with http.get("/readyz") as answer:
                if answer.status == 200:
                    break
        except aiohttp.ClientError:
            pass
        if insights.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((insights.data_dir.parent / "up.log").read_text()[-3000:])
        await asyncio.sleep(0.5)
    catalog = make_catalog(args.tracks, random.Random(args.seed))
    probe_tracks = [
        {"track_id": track, "title": f"Probe {track}", "album_id": None, "artist_ids": [PROBE_ARTIST]}
        for track in PROBE_TRACKS
    ]
    lists = (("artists", catalog.artists), ("albums", catalog.albums), ("tracks", catalog.tracks))
    for key, items in (*lists, ("tracks", probe_tracks)):
        for start in range(0, len(items), 500):
            async with http.post("/api/v1/catalog", json={key: items[start : start + 500]}) as answer:
                assert answer.status == 202, await answer.text()
    # The history: the same model, posted as fast as the API takes it.
    events = list(make_events(catalog, args.history, random.Random(args.seed + 1), datetime.now(UTC)))
    for start in range(0, len(events), 1000):
        async with http.post("/api/v1/events", json={"events": events[start : start + 1000]}) as answer:
            assert answer.status == 202, await answer.text()
    await until_written(http, len(events))
    async with http.post(
        "/api/v1/producer-intelligence/insights/export/json", json={"type": "tracks"}
    ) as answer:
        rows = (await answer.json())["data"]["rows"]
    hot = max(rows, key=lambda r: r["plays_total"])["track_id"]
    while True:  # the probe's track is in the catalog the API reads
        async with http.get(f"{INSIGHTS}/tracks/{PROBE_TRACKS[-1]}/realtime") as answer:
            if answer.status == 200:
                break
        await asyncio.sleep(0.2)
    first = min(t["track_id"] for t in catalog.tracks)
    reads = Reads(insights.base, hot, first, args.tracks)
    return Run(insights, reads, args, http, accepted=float(len(events)))


async def measure(
    insights: Insights, args: argparse.Namespace, round_: int, code: str
) -> list[dict[str, Any]]:
    """Every phase of one round, on one `insights up`."""
    run = await prepare(insights, args)
    try:
        if args.load == "wrk":  # warm-up
            await asyncio.to_thread(drive_wrk, run.reads, "cached", 4, 2, 0)
        for rate in args.rates:
            result = {"code": code} | await phase(run, round_, rate)
            run.results.append(result)
            print(row(result), flush=True)
            if "cached_nothing_written" in result:
                alone = result["cached_nothing_written"]
                print(
                    f"{'':<8} {'':>5} cached with nothing written (before the probe): "
                    f"{alone['requests_per_s']:,} r/s, p50 {alone['p50_ms']}, p99 {alone['p99_ms']}",
                    flush=True,
                )
    finally:
        await run.http.close()
    return run.results


class Code(NamedTuple):
    """What a run measures: a name, a checkout (None: this one) and settings for `insights up`."""

    name: str
    tree: str | None
    settings: dict[str, str]

    @classmethod
    def parse(cls, item: str) -> Code:
        """NAME=DIR[:VAR=VALUE...]"""
        name, rest = item.split("=", 1)
        tree, *settings = rest.split(":")
        return cls(name, str(Path(tree).resolve()) if tree else None, dict(s.split("=", 1) for s in settings))


def measure_round(args: argparse.Namespace, round_: int, code: Code) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="insights-mixed-"))
    insights = start_insights(tmp, code.tree, code.settings)
    print(
        f"insights up ({code.name}): pid {insights.process.pid} at {insights.base}",
        file=sys.stderr,
        flush=True,
    )
    try:
        return asyncio.run(measure(insights, args, round_, code.name))
    finally:
        insights.process.send_signal(signal.SIGINT)
        try:
            insights.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            insights.process.kill()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# --- the table -------------------------------------------------------------------------------------

HEADER = (
    f"{'code':<8} {'round':>5} {'ingest/s':>8} {'target':>7} {'accepted':>9} {'post p50':>8} {'p99':>5} | "
    f"{'cached r/s':>10} {'p50':>5} {'p99':>6} | {'computed r/s':>12} {'p50':>6} {'p99':>6} | "
    f"{'realtime r/s':>12} {'p99':>6} | {'fresh p50':>9} {'p99':>6} {'c/c/r p99':>15} | "
    f"{'flush ms':>8} {'events':>7} | {'loop p99':>8} | "
    f"cores: insights worker kafka generator wrk probe | peak MiB: insights worker"
)


def row(r: dict[str, Any]) -> str:
    i, c, m = r["ingest"], r["cores"], r.get("peak_rss_mib", {})
    accepted = f"{i['accepted']:,}" if "accepted" in i else "-"
    lag = "-" if r["event_loop_lag_p99_ms"] is None else f"{r['event_loop_lag_p99_ms']}"
    flushes = r.get("worker", {})
    return (
        f"{r.get('code', ''):<8} {r['round']:>5} "
        f"{i.get('events_per_s', 0):>8,} {i['target']:>7,} {accepted:>9} "
        f"{i.get('post_p50_ms', '-'):>8} {i.get('post_p99_ms', '-'):>5} | "
        f"{r['cached']['requests_per_s']:>10,} {r['cached']['p50_ms']:>5} {r['cached']['p99_ms']:>6} | "
        f"{r['computed']['requests_per_s']:>12,} {r['computed']['p50_ms']:>6} {r['computed']['p99_ms']:>6} | "
        f"{r['realtime']['requests_per_s']:>12,} {r['realtime']['p99_ms']:>6} | "
        f"{r['freshness']['p50_ms']:>9} {r['freshness']['p99_ms']:>6} {during(r['freshness']):>15} | "
        f"{flushes.get('flush_mean_ms') or '-':>8} {flushes.get('flush_mean_events') or '-':>7} | "
        f"{lag:>8} | "
        f"{c['insights']:>14} {c.get('worker', 0):>6} {c.get('kafka', 0):>5} {c.get('generator', 0):>9} "
        f"{c.get('wrk', c.get('reader', 0)):>3} {c['probe']:>5} | "
        f"{m.get('insights', 0):>5} {m.get('worker', 0):>6}"
    )


def during(freshness: dict[str, Any]) -> str:
    """Freshness p99 while the cached, computed and realtime reads ran."""
    return "/".join(str(freshness.get(f"p99_ms_during_{kind}", "-")) for kind in KINDS)


def describe(tree: str) -> str:
    """The checkout's revision (`git describe`), or the directory when it is not a git checkout."""
    where = tree or str(Path(__file__).resolve().parent.parent)
    described = subprocess.run(
        ["git", "-C", where, "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return described.stdout.strip() or where


def ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each phase's p99s over the no-ingest phase of its round (and code)."""
    quiet = {(r["round"], r["code"]): r for r in results if r["ingest"]["target"] == 0}
    out = []
    for r in results:
        base = quiet.get((r["round"], r["code"]))
        if base is None or r is base:
            continue
        out.append(
            {
                "round": r["round"],
                "code": r["code"],
                "ingest": r["ingest"]["target"],
                **{
                    f"{kind}_p99_over_quiet": round(r[kind]["p99_ms"] / base[kind]["p99_ms"], 2)
                    for kind in KINDS
                },
            }
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="0,5000,20000,50000", help="ingest events/s of each phase")
    parser.add_argument("--rounds", type=int, default=2, help="times the phases are run, in order")
    parser.add_argument("--seconds", type=float, default=10, help="of each read kind per phase")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of ingest before reads begin")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--tracks", type=int, default=30_000, help="catalog size (computed reads walk it)")
    parser.add_argument("--history", type=int, default=200_000, help="events loaded before the phases")
    parser.add_argument(
        "--load", choices=["wrk", "aiohttp"], default="wrk" if shutil.which("wrk") else "aiohttp"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--in-flight", type=int, default=8, help="ingest requests the generator has in flight at most"
    )
    parser.add_argument("--quick", action="store_true", help="0 and 20,000 events/s, one round, 4-s reads")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and up.log (printed)")
    parser.add_argument(
        "--trees",
        help="NAME=DIR[:VAR=VALUE...],...: run each round on the code of each checkout in turn, with those "
        "settings (e.g. before=/tmp/old,after=. or shared=.,reserved=.:INSIGHTS_LOOP_CORE=on), for a "
        "before/after in the same run; default: the code this script imports",
    )
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        posting = generate(args.url, args.generate, args.seconds, args.tracks, args.seed, args.in_flight)
        result = asyncio.run(posting)
        print(json.dumps(result), flush=True)
        return 0
    if args.quick:
        args.rates, args.rounds, args.seconds, args.warmup = "0,20000", 1, 4, 3
        args.history, args.tracks = 50_000, 10_000
    args.rates = [int(rate) for rate in args.rates.split(",")]
    codes = [Code.parse(item) for item in args.trees.split(",")] if args.trees else [Code("this", None, {})]
    if args.load == "aiohttp":
        print("wrk not found (apt-get install wrk): reads use the aiohttp client", file=sys.stderr)
    print(HEADER, flush=True)
    results: list[dict[str, Any]] = []
    for round_ in range(1, args.rounds + 1):
        for code in codes:
            results += measure_round(args, round_, code)
    publish(
        "mixed-load",
        {
            "parameters": {k: v for k, v in vars(args).items() if k not in ("generate", "url")},
            "code": {code.name: {"revision": describe(code.tree or ""), **code.settings} for code in codes},
            "phases": results,
            "ratios": ratios(results),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
