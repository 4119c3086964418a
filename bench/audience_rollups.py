"""What the audience rollups cost the worker's writes, and a breakdown's read against the analytics read
of the same entity, side by side on one embedded engine.

Writes: the same batches (country, source, platform and listened_ms on most plays) flushed through the
worker's own sink (pipeline/sink.py: dedupe, events, every rollup's catch-up), once with the rollups
of before (no audience rollups, no listening sums: the ceiling) and once with today's, on emptied
tables, alternating, `--rounds` times; the ratio is after / before.
Reads: a 30-day breakdown by country against the 30-day analytics statement, for the most played
track and for the 50 most played together, in UTC and in Asia/Kathmandu (+5:45), median of `--repeat`.
Rerun: `PYTHONPATH=. .venv/bin/python bench/audience_rollups.py [--events 600000] [--days 120]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api.read import analytics_queries, audience_queries, local_day_queries
from bench.reporting import publish
from bench.throughput import ROLLUP_SETS
from insights.migrate import migrate
from insights.store import Store
from pipeline.rollups import ROLLUPS, Rollup
from pipeline.sink import RollupSink, SourcedEvent
from schemas.events import PLATFORMS, SOURCES, Event
from schemas.local_ranges import last_days
from schemas.periods import PeriodBounds

BEFORE = ROLLUP_SETS["before-audience"]
TABLES = ("events", "event_keys", *(r.table for r in ROLLUPS), "partition_owners")
COUNTRIES = ("US", "DE", "GB", "BR", "IN", "JP", "FR", "MX", "CA", "NP", "KE", "AU", "SE", "NG", "ID")


def batches(total: int, size: int, days: int, rng: random.Random, run: int) -> list[list[SourcedEvent]]:
    now = datetime.now(UTC)
    result = []
    for start in range(0, total, size):
        batch = []
        for n in range(start, min(start + size, total)):
            event = Event(
                event_id=f"r{run}-e{n}",
                type=rng.choice(("play", "play", "play", "play", "like", "repost")),
                track_id=int(rng.paretovariate(1.2)) % 5_000 + 1,
                listener_id=f"l{rng.randrange(200_000)}",
                occurred_at=now - timedelta(seconds=rng.randrange(days * 86400)),
                listened_ms=rng.choice((None, 12_000, 45_000, 180_000)),
                country=rng.choice((None, *COUNTRIES)),
                source=rng.choice((None, *SOURCES)),  # type: ignore[arg-type]
                platform=rng.choice((None, *PLATFORMS)),  # type: ignore[arg-type]
            )
            batch.append(SourcedEvent(event, n % 6, n))
        result.append(batch)
    return result


def flush_all(store: Store, rollups: tuple[Rollup, ...], work: list[list[SourcedEvent]]) -> float:
    """Seconds to flush every batch through a sink with `rollups`, on emptied tables."""
    for table in TABLES:
        store.command(f"TRUNCATE TABLE {table}")
    sink = RollupSink(store, rollups)
    sink.claim(range(6), 1)
    started = time.perf_counter()
    for batch in work:
        sink.flush(batch)
    spent = time.perf_counter() - started
    sink.close()
    return spent


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        migrate(store)
        spent: dict[str, list[float]] = {"before": [], "after": []}
        for run in range(args.rounds):
            work = batches(args.events, args.batch, args.days, random.Random(run), run)
            spent["before"].append(flush_all(store, BEFORE, work))
            spent["after"].append(flush_all(store, ROLLUPS, work))  # left in place for the reads
        rates = {name: round(args.events / statistics.median(s)) for name, s in spent.items()}
        most_played = "SELECT track_id FROM track_totals GROUP BY track_id ORDER BY sum(plays) DESC LIMIT 50"
        top = [int(t) for (t,) in store.query_rows(most_played)]
        now = datetime.now(UTC)
        reads: dict[str, Any] = {}
        for zone in ("UTC", "Asia/Kathmandu"):
            chosen = last_days("30-days", 30, zone, now)
            for entity, ids in (("top track", top[:1]), ("50 tracks", top)):

                def analytics(ids: list[int] = ids, chosen: Any = chosen) -> Any:
                    if chosen.utc:
                        bounds = PeriodBounds("30-days", 30, chosen.first, chosen.last)
                        return asyncio.run(analytics_queries.group_figures(store, ids, bounds))
                    return asyncio.run(local_day_queries.figures(store, ids, chosen, group=True))

                def breakdown(ids: list[int] = ids, chosen: Any = chosen) -> Any:
                    return asyncio.run(audience_queries.breakdown(store, ids, "country", chosen, 10))

                figures, by_country = median_ms(analytics, args.repeat), median_ms(breakdown, args.repeat)
                reads[f"{zone}, {entity}"] = {
                    "analytics_ms": figures,
                    "breakdown_ms": by_country,
                    "x_analytics": round(by_country / figures, 2),
                }
        sizes = {
            table: int(
                store.query_rows(
                    "SELECT sum(bytes_on_disk) FROM system.parts"
                    " WHERE active AND table = {t:String} AND database = currentDatabase()",
                    {"t": table},
                )[0][0]
                or 0
            )
            for table in ("track_daily", "track_quarter", "track_audience_daily", "track_audience_quarter")
        }
        store.close()
    publish(
        "audience_rollups",
        {
            "events": args.events,
            "batch": args.batch,
            "days": args.days,
            "sink_events_per_s": rates | {"x_before": round(rates["after"] / rates["before"], 2)},
            "sink_seconds": spent,
            "bytes_per_event (not merged)": {t: round(b / args.events, 1) for t, b in sizes.items()},
            "reads_median_ms (30 days)": reads,
        },
    )


if __name__ == "__main__":
    main()
