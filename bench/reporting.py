"""What every benchmark shares: a free local port, a process's CPU time, the command line of those
that read a kept store, and the way a result is stamped, printed and kept
(bench/results/<name>-<UTC time>.json, not committed; BENCHMARKS.md records the figures)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insights.dev.kafka_local import unused_port

RESULTS = Path(__file__).parent / "results"
Timed = dict[tuple[str, str], list[tuple[float, float]]]  # (case, way) -> (wall, CPU) ms per call


def free_port() -> int:
    """A port for a server to bind: below the range the kernel takes outgoing connections' from."""
    return unused_port()


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (/proc/<pid>/stat: utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> int:
    """The most memory a process has held resident so far (/proc/<pid>/status: VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def publish(name: str, figures: dict[str, Any]) -> Path:
    """Stamps `figures` with the time and the machine (its load too: it is shared), prints them as
    JSON and saves them; returns the file."""
    now = datetime.now(UTC)
    result = {
        "when": now.isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}",
        **figures,
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{now:%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    return out


def ways_compared(timed: Timed, first: str, others: tuple[str, ...]) -> dict[str, Any]:
    """Per case, each way's median wall and CPU milliseconds (`timed`: (case, way) -> (wall, cpu) per
    call), and `first`'s ratio to each of `others`."""
    figures: dict[str, Any] = {}
    for (name, how), values in timed.items():
        figures.setdefault(name, {})[how] = {
            "median_ms": statistics.median(w for w, _ in values),
            "cpu_median_ms": statistics.median(c for _, c in values),
        }
    for ways in figures.values():
        for other in others:
            for key in ("median_ms", "cpu_median_ms"):
                ways[f"{first}/{other} {key}"] = ways[first][key] / ways[other][key]
    return figures


async def alternated(
    calls: Mapping[str, Callable[[Any], Awaitable[Any]]],
    ways: Mapping[str, Callable[[], AbstractContextManager[Any]]],
    repeat: int,
    warm_up: int,
    answers: dict[str, Any] | None = None,
    timing: Callable[[], None] | None = None,
) -> Timed:
    """Each case read every way, alternating call by call (each way first in turn) so the machine's
    drift falls on all: `ways` maps a way to what puts it in place for one call (not timed) and gives
    the case its reader. Each call is timed wall and CPU (the process's: the engine's threads are in
    it); the windows it started keeping are built before the next (not timed); the answers of every
    way (and of earlier runs given `answers`) are checked equal. The first `warm_up` rounds are left
    out; `timing` is called as the timed rounds begin."""
    from api.read.listener_blocks import keeping_done

    answers = {} if answers is None else answers
    names = list(ways)
    timed: Timed = {}
    for n in range(repeat + warm_up):
        if n == warm_up and timing is not None:
            timing()
        for name, call in calls.items():
            for how in names[n % len(names) :] + names[: n % len(names)]:
                with ways[how]() as reader:
                    wall, cpu = time.perf_counter(), time.process_time()
                    answer = await call(reader)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                await keeping_done()
                assert answers.setdefault(name, answer) == answer, f"{name}: the answers differ"
                if n >= warm_up:
                    timed.setdefault((name, how), []).append((wall * 1000, cpu * 1000))
    return timed


def on_kept_store(
    name: str, doc: str, run: Callable[[str, int], Awaitable[dict[str, Any]]], repeat: int
) -> None:
    """The command line of a benchmark of reads on a store `bench/read_latency.py --stores` kept:
    `--store DIR [--repeat N]`; its figures published as `name`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store kept by bench/read_latency.py --stores")
    parser.add_argument("--repeat", type=int, default=repeat)
    args = parser.parse_args()
    publish(name, asyncio.run(run(args.store, args.repeat)))
