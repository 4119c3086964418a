"""How far the listener estimates of large audiences are from the exact counts.

Past 100,000 listeners an entity's period listeners (and a chart bucket's) are read from sketches: the
union of its listener blocks (api/read/listener_blocks.py), the same registers as the union of its
tracks' day sketches. This bench takes entity-periods whose estimate is past 100,000 (tracks, albums and
artists; the 7, 30, 90 and 365 days to today and the periods before them; weeks), draws up to --limit
of them at random, counts each exactly from the tracks' uniqExact states, and reports the relative
error's distribution (median, p95, p99, max) against the rule (within 1 %).

The store is one read_latency.py builds (the same catalog and skewed events), at --events, or an
existing store directory (--store, a chDB path with the catalog and rollups). Rerun:
`.venv/bin/python bench/listener_error.py [--events 100000000 | --store DIR] [--limit 240]`; the JSON
lands in bench/results/listener-error-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from read_latency import load

from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Ask, Entity, listeners
from insights.migrate import migrate
from insights.store import Store

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ABOVE = 100_000
MEMBERS_SQL = {
    ALBUM: "SELECT album_id, groupArray(track_id) FROM tracks FINAL"
    " WHERE album_id IS NOT NULL GROUP BY album_id",
    ARTIST: "SELECT artist, groupArray(track_id) FROM tracks FINAL"
    " ARRAY JOIN artist_ids AS artist GROUP BY artist",
    TRACK: "SELECT track_id, [track_id] FROM track_totals"
    " GROUP BY track_id ORDER BY sum(plays) DESC LIMIT 300",
}
EXACT_SQL = """
SELECT uniqExactMerge(listeners) FROM track_daily
WHERE track_id IN {tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}"""


def ranges(today: date) -> list[tuple[date, date]]:
    """The periods to today and the ones before them, and the last 8 whole weeks."""
    found = []
    for n in (7, 30, 90, 365):
        found.append((today - timedelta(days=n - 1), today))
        found.append((today - timedelta(days=2 * n - 1), today - timedelta(days=n)))
    monday = today - timedelta(days=today.weekday())
    found += [
        (monday - timedelta(weeks=w), monday - timedelta(weeks=w) + timedelta(days=6)) for w in range(1, 9)
    ]
    return found


async def candidates(store: Store, today: date) -> list[tuple[Ask, float]]:
    """Every entity-period whose estimate is past 100,000, with the estimate (about 0.3 ms a sketch)."""
    asks = []
    for kind, sql in MEMBERS_SQL.items():
        for entity_id, tracks in store.query_rows(sql):
            entity = Entity(kind, int(entity_id))
            asks += [
                Ask(entity, tuple(sorted(int(t) for t in tracks)), first, last)
                for first, last in ranges(today)
            ]
    found: list[tuple[Ask, float]] = []
    for start in range(0, len(asks), 64):
        batch = asks[start : start + 64]
        found += [(a, n) for a, n in zip(batch, await listeners(store, batch), strict=True) if n > ABOVE]
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(store: Store, limit: int, seed: int) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    began = time.perf_counter()
    found = await candidates(store, today)
    drawn = random.Random(seed).sample(found, min(limit, len(found)))
    rows = []
    for ask, estimate in drawn:
        exact = int(
            store.query_rows(EXACT_SQL, {"tracks": list(ask.tracks), "first": ask.first, "last": ask.last})[
                0
            ][0]
        )
        rows.append(
            {
                "kind": {TRACK: "track", ALBUM: "album", ARTIST: "artist"}[ask.entity.kind],
                "entity_id": ask.entity.entity_id,
                "first": str(ask.first),
                "last": str(ask.last),
                "exact": exact,
                "estimate": estimate,
                "error": (estimate - exact) / exact if exact else 0.0,
            }
        )
    errors = [abs(r["error"]) for r in rows if r["exact"] > ABOVE]
    return {
        "candidates": len(found),
        "measured": len(errors),
        "median": statistics.median(errors) if errors else None,
        "p95": percentile(errors, 0.95) if errors else None,
        "p99": percentile(errors, 0.99) if errors else None,
        "max": max(errors, default=None),
        "within_1_percent": sum(e <= 0.01 for e in errors),
        "seconds": time.perf_counter() - began,
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--store", type=Path, help="an existing store directory (skips the build)")
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="insights-error-") as tmp:
        store = Store(f"chdb://{args.store or Path(tmp) / 'clickhouse'}")
        migrate(store, group_members=lambda: 0)
        built = None if args.store else load(store, args.events, args.tracks)
        result = {"events": args.events if built else None, "store": str(args.store or ""), "built": built}
        result |= asyncio.run(measure(store, args.limit, args.seed))
    print(
        f"{result['measured']} entity-periods past 100,000 (of {result['candidates']} candidates):"
        f" |error| median {result['median']:.4%}, p95 {result['p95']:.4%}, p99 {result['p99']:.4%},"
        f" max {result['max']:.4%}; {result['within_1_percent']} within 1 %"
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"listener-error-{stamp}.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
