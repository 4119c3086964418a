"""What a smaller listener sketch would cost in accuracy and save in merging.

Past 100,000 listeners the reads merge `uniqCombined64(17)` sketches (2^17 registers, about 96 kB dense),
and merging them bounds a popular group's computed answer (BENCHMARKS.md, "Scale"). The accuracy rule
asks for 1 % at p99, which a smaller precision may still meet. This bench measures it on a store that
read_latency.py built (the same catalog and skewed events, whose raw events are still stored):

- it draws up to --limit entity-periods past 100,000 listeners as listener_error.py does (tracks, albums,
  artists; periods to today and before them; weeks) and counts each exactly from the tracks' uniqExact
  day states;
- it builds, in a database of its own that it drops at the end, the drawn tracks' day sketches at every
  precision asked (one state per track and UTC day, as `track_daily` keeps them), from the raw events
  in one pass;
- for each entity-period and precision it merges the day sketches (the estimate the reads would give
  with sketches of that precision: a union of sketches is the sketch of the union), and times the merge
  (the process's CPU, median of --repeat) against the same merge at precision 17.

It reports, per precision, the relative error's median, p95, p99 and max against the exact counts, how
many are within 1 %, the bytes a dense state takes, and the merge CPU as a ratio to precision 17's.
The estimates at 17 are also checked against the reads' own (`listeners`): they must be equal.

Rerun: `PYTHONPATH=. .venv/bin/python bench/sketch_precision.py --store DIR/100000000-events-10000-tracks
[--limit 240] [--precisions 14,15,16] [--repeat 5]` (a store `read_latency.py --stores DIR` kept); the
JSON lands in bench/results/sketch-precision-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from listener_error import ABOVE, EXACT_SQL, candidates, percentile
from reporting import publish

from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Ask
from insights.store import Store

DATABASE = "sketch_precision_bench"
REFERENCE = 17  # the precision the rollups keep


def build(store: Store, precisions: list[int], tracks: list[int]) -> None:
    """The tracks' day sketches at every precision, from the raw events, in one pass."""
    columns = ", ".join(f"s{p} AggregateFunction(uniqCombined64({p}), String)" for p in precisions)
    states = ", ".join(f"uniqCombined64State({p})(listener_id)" for p in precisions)
    store.command(f"DROP DATABASE IF EXISTS {DATABASE}")
    store.command(f"CREATE DATABASE {DATABASE}")
    store.command(
        f"CREATE TABLE {DATABASE}.days (track_id UInt64, day Date, {columns})"
        " ENGINE = AggregatingMergeTree ORDER BY (track_id, day) SETTINGS index_granularity_bytes = 65536"
    )
    store.command(
        f"INSERT INTO {DATABASE}.days SELECT track_id, toDate(occurred_at) AS day, {states}"
        " FROM events WHERE type = 'play' AND track_id IN {tracks:Array(UInt64)} GROUP BY track_id, day",
        {"tracks": tracks},
    )
    store.command(f"OPTIMIZE TABLE {DATABASE}.days FINAL")


def merge_sql(precision: int) -> str:
    return (
        f"SELECT uniqCombined64Merge({precision})(s{precision}) FROM {DATABASE}.days"
        " WHERE track_id IN {tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}"
    )


def timed(store: Store, sql: str, parameters: dict[str, Any], repeat: int) -> tuple[int, float]:
    """The statement's one value, and the process's median CPU-ms over `repeat` runs (after one)."""
    value = int(store.query_rows(sql, parameters)[0][0])
    spent = []
    for _ in range(repeat):
        began = time.process_time()
        store.query_rows(sql, parameters)
        spent.append(time.process_time() - began)
    return value, statistics.median(spent) * 1000


def dense_bytes(store: Store, precision: int) -> int:
    """The bytes of the largest day state at `precision` (a dense one, past a few thousand listeners)."""
    ((size,),) = store.query_rows(f"SELECT max(length(toString(s{precision}))) FROM {DATABASE}.days")
    return int(size)


async def drawn(store: Store, limit: int, seed: int) -> list[tuple[Ask, float]]:
    found = await candidates(store, datetime.now(UTC).date())
    return random.Random(seed).sample(found, min(limit, len(found)))


def measure(
    store: Store, asks: list[tuple[Ask, float]], precisions: list[int], repeat: int
) -> dict[str, Any]:
    rows = []
    for ask, served in asks:
        parameters = {"tracks": list(ask.tracks), "first": ask.first, "last": ask.last}
        ((exact,),) = store.query_rows(EXACT_SQL, parameters)
        row: dict[str, Any] = {
            "kind": {TRACK: "track", ALBUM: "album", ARTIST: "artist"}[ask.entity.kind],
            "entity_id": ask.entity.entity_id,
            "first": str(ask.first),
            "last": str(ask.last),
            "exact": int(exact),
            "served": int(served),
        }
        for precision in precisions:
            estimate, cpu_ms = timed(store, merge_sql(precision), parameters, repeat)
            row[f"p{precision}"] = {"estimate": estimate, "cpu_ms": cpu_ms}
        rows.append(row)
    measured = [r for r in rows if r["exact"] > ABOVE]
    by_precision = {}
    for precision in precisions:
        errors = [abs(r[f"p{precision}"]["estimate"] - r["exact"]) / r["exact"] for r in measured]
        ratios = [r[f"p{precision}"]["cpu_ms"] / r[f"p{REFERENCE}"]["cpu_ms"] for r in measured]
        by_precision[precision] = {
            "median": statistics.median(errors),
            "p95": percentile(errors, 0.95),
            "p99": percentile(errors, 0.99),
            "max": max(errors),
            "within_1_percent": sum(e <= 0.01 for e in errors),
            "merge_cpu_ms_median": statistics.median(r[f"p{precision}"]["cpu_ms"] for r in measured),
            "merge_cpu_over_17": statistics.median(ratios),
            "dense_state_bytes": dense_bytes(store, precision),
        }
    return {
        "measured": len(measured),
        "served_equal_at_17": sum(r[f"p{REFERENCE}"]["estimate"] == r["served"] for r in measured),
        "by_precision": by_precision,
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a store kept by read_latency.py --stores")
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--precisions", default="14,15,16", help="besides 17, always measured")
    parser.add_argument("--repeat", type=int, default=5, help="timed merges of each entity-period")
    args = parser.parse_args()
    precisions = sorted({int(p) for p in args.precisions.split(",")} | {REFERENCE})
    store = Store(f"chdb://{args.store / 'clickhouse'}")
    try:
        asks = asyncio.run(drawn(store, args.limit, args.seed))
        began = time.perf_counter()
        build(store, precisions, sorted({t for ask, _ in asks for t in ask.tracks}))
        built = time.perf_counter() - began
        result = measure(store, asks, precisions, args.repeat)
    finally:
        store.command(f"DROP DATABASE IF EXISTS {DATABASE}")
        store.close()
    result |= {"build_seconds": built, "precisions": precisions}
    print(f"{result['measured']} entity-periods past 100,000 (sketches built in {built:.0f} s)")
    equal = result["served_equal_at_17"]
    print(f"estimates at 17 equal to the reads' own: {equal} of {result['measured']}")
    for precision, figures in result["by_precision"].items():
        print(
            f"  {precision}: |error| median {figures['median']:.3%}, p95 {figures['p95']:.3%},"
            f" p99 {figures['p99']:.3%}, max {figures['max']:.3%}; within 1 %: {figures['within_1_percent']};"
            f" dense state {figures['dense_state_bytes']:,} B;"
            f" merge {figures['merge_cpu_ms_median']:.2f} CPU-ms"
            f" ({figures['merge_cpu_over_17']:.2f} of 17's)"
        )
    publish("sketch-precision", {"parameters": vars(args) | {"store": str(args.store)}} | result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
