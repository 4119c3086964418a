"""Freshness: how long from posting an event until the API shows it, under background load.

`insights up` runs as a child process (its own Kafka, the embedded engine). A background client posts
--rate events/s (batches of 500 over 1,000 tracks). A probe posts one play every --every seconds, each
on a new track of its own, and polls the realtime endpoint and the track analytics until the play is
counted: the time from the POST to the first answer that counts it is the event's freshness. Until
then the track is unknown and answered 404, which the API's response cache (whose max-age adds to
what a client may see, by design) never keeps: this measures the pipeline. Targets: p99 ≤ 1 s
realtime, ≤ 2 s analytics.

Rerun: `.venv/bin/python bench/freshness.py [--rate 5000] [--seconds 60] [--every 0.5]`. Prints the
percentiles; the JSON lands in bench/results/freshness-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from reporting import free_port, publish

from schemas.tokens import create_token

SECRET = "bench-secret-of-a-reasonable-length-0123456789"
INSIGHTS = "/api/v1/producer-intelligence/insights"
PROBE_TRACK = 999_999


def event(track_id: int, kind: str = "play") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "type": kind,
        "track_id": track_id,
        "listener_id": f"l-{random.randint(1, 50_000)}",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


async def background(http: httpx.AsyncClient, rate: int, stop: asyncio.Event) -> int:
    """Posts `rate` events a second in batches of 500 until `stop`; returns how many were accepted."""
    sent, started = 0, time.monotonic()
    while not stop.is_set():
        batch = [
            event(random.randint(1, 1000), random.choice(["play", "play", "heartbeat"])) for _ in range(500)
        ]
        answer = await http.post("/api/v1/events", json={"events": batch})
        sent += answer.json()["data"]["accepted"] if answer.status_code == 202 else 0
        await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
    return sent


async def visible(http: httpx.AsyncClient, path: str, field: list[str], count: int, posted: float) -> float:
    """Seconds from `posted` until `path` shows at least `count` in `field`."""
    polls = 0
    while True:
        polls += 1
        answer = await http.get(path)
        # 404 (never cached) until the probe's track, a new one each time, has its event counted
        if answer.status_code not in (200, 404):
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:200]}")
        value: Any = answer.json().get("data", {}) if answer.status_code == 200 else {}
        for name in field:
            value = value.get(name, {}) if isinstance(value, dict) else 0
        if isinstance(value, int) and value >= count:
            return time.monotonic() - posted
        if time.monotonic() - posted > 30:
            raise RuntimeError(f"{path} never showed play {count}")
        await asyncio.sleep(0.1)  # gentle: polls share the store with the worker


async def probe(http: httpx.AsyncClient, seconds: float, every: float) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"realtime": [], "analytics": [], "posted_at": [], "post": []}
    began = time.monotonic()
    deadline, count = began + seconds, 0
    while time.monotonic() < deadline:
        # A track of its own per probe: unknown (404, which no cache keeps) until its play is counted,
        # so no cached answer can hide the moment it shows.
        track = PROBE_TRACK + count
        posted = time.monotonic()
        answer = await http.post("/api/v1/events", json={"events": [event(track)]})
        assert answer.status_code == 202, answer.text
        found["post"].append(time.monotonic() - posted)
        count += 1
        realtime, analytics = await asyncio.gather(
            visible(http, f"{INSIGHTS}/tracks/{track}/realtime", ["plays_last_5m"], 1, posted),
            visible(http, f"{INSIGHTS}/tracks/{track}", ["plays", "period"], 1, posted),
        )
        found["realtime"].append(realtime)
        found["analytics"].append(analytics)
        found["posted_at"].append(posted - began)
        await asyncio.sleep(max(0.0, posted + every - time.monotonic()))
    return found


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    at = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000)  # noqa: E731
    return {"n": len(ordered), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": at(1.0)}


async def measure(url: str, rate: int, seconds: float, every: float) -> dict[str, Any]:
    bearer = create_token(SECRET, subject="bench", scopes=["admin"], days=1)
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30, limits=limits
    ) as http:
        stop = asyncio.Event()
        load = asyncio.create_task(background(http, rate, stop))
        await asyncio.sleep(5)  # the load settles
        started = time.monotonic()
        found = await probe(http, seconds, every)
        stop.set()
        sent = await load
    return {
        "background_events_per_s": round(sent / (time.monotonic() - started + 5)),
        "realtime": percentiles(found["realtime"]),
        "analytics": percentiles(found["analytics"]),
        # Every probe: seconds into the run it was posted at, ms until realtime and analytics counted
        # it, and ms its POST took (included in both).
        "probes": [
            [round(at, 2), round(r * 1000), round(a * 1000), round(p * 1000)]
            for at, r, a, p in zip(
                found["posted_at"], found["realtime"], found["analytics"], found["post"], strict=True
            )
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--every", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        # The probe polls up to 20 times a second with one token: above the default read limit of
        # 500 a minute, whose 429s would read as a stalled pipeline. This measures the pipeline.
        env = {
            **os.environ,
            "INSIGHTS_SECRET": SECRET,
            "INSIGHTS_LOG_LEVEL": "WARNING",
            "INSIGHTS_RATE_LIMIT_READ": "1000000",
        }
        env.pop("INSIGHTS_KAFKA_BOOTSTRAP", None)
        env.pop("INSIGHTS_CLICKHOUSE_DSN", None)
        log = Path(tmp) / "up.log"
        command = [
            sys.executable,
            "-m",
            "insights.cli",
            "up",
            "--data-dir",
            f"{tmp}/data",
            "--port",
            str(port),
        ]
        with log.open("wb") as out:
            up = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if up.poll() is not None or time.monotonic() > deadline:
                    print(log.read_text()[-3000:], file=sys.stderr)
                    return 1
                time.sleep(0.5)
            result = asyncio.run(measure(url, args.rate, args.seconds, args.every))
            slow = [p for p in result["probes"] if max(p[1:3]) > 2000]
            if slow:  # keep what the product logged about it
                shape = "(at s, realtime ms, analytics ms, POST ms)"
                print(f"probes slower than 2 s {shape}: {slow}", file=sys.stderr)
                print(log.read_text()[-4000:], file=sys.stderr)
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(timeout=60)
    publish("freshness", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
