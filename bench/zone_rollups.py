"""Which rollup makes local days of any time zone exact, and what each candidate costs, side by side.

Every candidate is built by the worker's own kind of statement (one INSERT ... SELECT from `events`
per batch, pipeline/rollups.py) from the same batches on one embedded engine, and read for the most
played track and for a group of the 50 most played (an artist), in Asia/Kolkata (+5:30):
- `track_daily` (UTC days, as today): the ceiling; exact only in UTC.
- `track_quarter` (UTC quarter-hours, chosen): exact in every zone; reads take whole UTC days from
  track_daily and only the ragged ends (at most 2 x 95 quarters) from here; day and hour charts
  group quarters by the zone's local day or hour.
- `track_hour_all` (UTC hours, all history): exact only in zones with whole-hour offsets.
- `track_day_0530` (days at one fixed +5:30 offset): exact for one offset and no DST day; a zone
  set needs one per offset in use (38 since 2000), so its write and storage figures count 38 times.
Rerun: `.venv/bin/python bench/zone_rollups.py [--events 600000] [--days 120]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.reporting import publish
from insights.migrate import migrate
from insights.store import Store
from pipeline.rollups import TRACK_DAILY, TRACK_QUARTER, Rollup, counter_rollup, range_parameters
from pipeline.sink import EVENT_COLUMNS, SourcedEvent, event_columns
from schemas.events import Event

ZONE = ZoneInfo("Asia/Kolkata")
OFFSETS_IN_USE = 38  # distinct UTC offsets of IANA zones since 2000, all whole quarter-hours
HOUR_ALL = counter_rollup("track_hour_all", ("hour", "toStartOfHour(occurred_at)"))
DAY_0530 = counter_rollup("track_day_0530", ("day", "toDate(occurred_at, 'Asia/Kolkata')"))
CANDIDATES: dict[str, Rollup] = {
    "daily (UTC)": TRACK_DAILY,
    "quarter-hour": TRACK_QUARTER,
    "hour, all history": HOUR_ALL,
    "day at +5:30": DAY_0530,
}


def candidate_tables(store: Store) -> None:
    for rollup, key in ((HOUR_ALL, "hour DateTime('UTC')"), (DAY_0530, "day Date")):
        store.command(
            f"CREATE TABLE {rollup.table} (track_id UInt64, {key}, kafka_partition UInt16,"
            " plays SimpleAggregateFunction(sum, UInt64), likes SimpleAggregateFunction(sum, UInt64),"
            " reposts SimpleAggregateFunction(sum, UInt64), listeners AggregateFunction(uniqExact, String),"
            " max_offset SimpleAggregateFunction(max, UInt64)) ENGINE = AggregatingMergeTree"
            f" ORDER BY (track_id, {key.split()[0]}, kafka_partition)"
            " SETTINGS index_granularity_bytes = 65536"
        )


def batches(total: int, size: int, days: int, rng: random.Random) -> list[list[SourcedEvent]]:
    now = datetime.now(UTC)
    offsets = [0] * 6
    result = []
    for b in range(0, total, size):
        batch = []
        for n in range(b, min(b + size, total)):
            partition = rng.randrange(6)
            event = Event(
                event_id=f"e{n}",
                type=rng.choice(("play", "play", "play", "play", "like", "repost")),
                track_id=int(rng.paretovariate(1.2)) % 5_000 + 1,
                listener_id=f"l{rng.randrange(200_000)}",
                occurred_at=now - timedelta(seconds=rng.randrange(days * 86400)),
            )
            batch.append(SourcedEvent(event, partition, offsets[partition]))
            offsets[partition] += 1
        result.append(batch)
    return result


def build(store: Store, work: list[list[SourcedEvent]]) -> dict[str, float]:
    """Insert each batch into `events`, then run each candidate's catch-up statement over it, timed."""
    spent = dict.fromkeys(CANDIDATES, 0.0)
    for batch in work:
        store.insert_columns("events", event_columns(batch, int(time.time())), EVENT_COLUMNS)
        ranges: dict[int, tuple[int, int]] = {}
        for item in batch:
            low, high = ranges.get(item.partition, (item.offset - 1, item.offset))
            ranges[item.partition] = (min(low, item.offset - 1), max(high, item.offset))
        for name, rollup in CANDIDATES.items():
            started = time.perf_counter()
            store.command(rollup.catch_up_sql(len(ranges)), range_parameters(ranges))
            spent[name] += time.perf_counter() - started
    return spent


def disk_bytes(store: Store, table: str) -> int:
    store.command(f"OPTIMIZE TABLE {table} FINAL")
    rows = store.query_rows(
        "SELECT sum(bytes_on_disk) FROM system.parts"
        " WHERE active AND table = {t:String} AND database = currentDatabase()",
        {"t": table},
    )
    return int(rows[0][0])


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def local_midnight(day: datetime) -> int:
    return int(datetime.combine(day.date(), datetime.min.time(), ZONE).timestamp())


READS = {
    "30-day figures": {
        "daily (UTC)": """SELECT sum(plays), uniqExactMerge(listeners) FROM track_daily
            WHERE track_id IN {ids:Array(UInt64)} AND day >= toDate({a:Int64}) AND day < toDate({b:Int64})""",
        "quarter-hour": """SELECT sum(p), uniqExactMerge(l) FROM (
            SELECT plays AS p, listeners AS l FROM track_daily WHERE track_id IN {ids:Array(UInt64)}
              AND day >= toDate({a:Int64}) + 1 AND day < toDate({b:Int64})
            UNION ALL
            SELECT plays, listeners FROM track_quarter WHERE track_id IN {ids:Array(UInt64)}
              AND ((quarter >= toDateTime({a:Int64}) AND quarter < toDateTime(toDate({a:Int64}) + 1))
                OR (quarter >= toDateTime(toDate({b:Int64})) AND quarter < toDateTime({b:Int64}))))""",
        "hour, all history": """SELECT sum(p), uniqExactMerge(l) FROM (
            SELECT plays AS p, listeners AS l FROM track_daily WHERE track_id IN {ids:Array(UInt64)}
              AND day >= toDate({a:Int64}) + 1 AND day < toDate({b:Int64})
            UNION ALL
            SELECT plays, listeners FROM track_hour_all WHERE track_id IN {ids:Array(UInt64)}
              AND ((hour >= toDateTime({a:Int64}) AND hour < toDateTime(toDate({a:Int64}) + 1))
                OR (hour >= toDateTime(toDate({b:Int64})) AND hour < toDateTime({b:Int64}))))""",
        "day at +5:30": """SELECT sum(plays), uniqExactMerge(listeners) FROM track_day_0530
            WHERE track_id IN {ids:Array(UInt64)} AND day >= toDate({a:Int64}, 'Asia/Kolkata')
              AND day < toDate({b:Int64}, 'Asia/Kolkata')""",
    },
    "30-day chart by day": {
        "daily (UTC)": """SELECT day, sum(plays), uniqExactMerge(listeners) FROM track_daily
            WHERE track_id IN {ids:Array(UInt64)} AND day >= toDate({a:Int64}) AND day < toDate({b:Int64})
            GROUP BY day""",
        "quarter-hour": """SELECT toStartOfDay(quarter, 'Asia/Kolkata') AS d, sum(plays),
              uniqExactMerge(listeners)
            FROM track_quarter WHERE track_id IN {ids:Array(UInt64)}
              AND quarter >= toDateTime({a:Int64}) AND quarter < toDateTime({b:Int64}) GROUP BY d""",
        "hour, all history": """SELECT toStartOfDay(hour, 'Asia/Kolkata') AS d, sum(plays),
              uniqExactMerge(listeners)
            FROM track_hour_all WHERE track_id IN {ids:Array(UInt64)}
              AND hour >= toDateTime({a:Int64}) AND hour < toDateTime({b:Int64}) GROUP BY d""",
        "day at +5:30": """SELECT day, sum(plays), uniqExactMerge(listeners) FROM track_day_0530
            WHERE track_id IN {ids:Array(UInt64)} AND day >= toDate({a:Int64}, 'Asia/Kolkata')
              AND day < toDate({b:Int64}, 'Asia/Kolkata') GROUP BY day""",
    },
    "7-day chart by hour": {
        "daily (UTC)": """SELECT hour, sum(plays), uniqExactMerge(listeners) FROM track_hourly
            WHERE track_id IN {ids:Array(UInt64)}
              AND hour >= toDateTime({a7:Int64}) AND hour < toDateTime({b:Int64})
            GROUP BY hour""",
        "quarter-hour": """SELECT toStartOfHour(quarter, 'Asia/Kolkata') AS h, sum(plays),
              uniqExactMerge(listeners)
            FROM track_quarter WHERE track_id IN {ids:Array(UInt64)}
              AND quarter >= toDateTime({a7:Int64}) AND quarter < toDateTime({b:Int64}) GROUP BY h""",
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        migrate(store)
        candidate_tables(store)
        # The UTC 7-day hour chart's ceiling reads the hourly rollup the product keeps for it.
        store.command("TRUNCATE TABLE track_quarter")
        spent = build(store, batches(args.events, args.batch, args.days, random.Random(7)))
        store.command(
            "INSERT INTO track_hourly SELECT track_id, toStartOfHour(quarter), kafka_partition, plays,"
            " likes, reposts, listeners, max_offset FROM track_quarter"
            " WHERE quarter >= now() - INTERVAL 8 DAY"
        )
        per_offset = {"day at +5:30": OFFSETS_IN_USE}
        writes = {
            name: {
                "seconds": round(seconds, 2),
                "per_event_us": round(seconds / args.events * 1e6, 2),
                "x_daily": round(seconds * per_offset.get(name, 1) / spent["daily (UTC)"], 2),
            }
            for name, seconds in spent.items()
        }
        storage = {
            name: {
                "bytes_per_event": round(disk_bytes(store, r.table) / args.events, 1),
                "x_daily": None,
            }
            for name, r in CANDIDATES.items()
        }
        daily_bytes = storage["daily (UTC)"]["bytes_per_event"]
        for name, figures in storage.items():
            figures["x_daily"] = round(figures["bytes_per_event"] * per_offset.get(name, 1) / daily_bytes, 2)
        most_played = "SELECT track_id FROM track_totals GROUP BY track_id ORDER BY sum(plays) DESC LIMIT 50"
        top = [int(t) for (t,) in store.query_rows(most_played)]
        now = datetime.now(UTC)
        b = local_midnight(now.astimezone(ZONE) + timedelta(days=1))
        bounds = {
            "a": local_midnight(now.astimezone(ZONE) - timedelta(days=29)),
            "a7": local_midnight(now.astimezone(ZONE) - timedelta(days=6)),
            "b": b,
        }
        reads: dict[str, Any] = {}
        for entity, ids in (("top track", top[:1]), ("50 tracks", top)):
            for read, sources in READS.items():
                timings = {
                    name: median_ms(
                        lambda sql=sql, ids=ids: store.query_rows(sql, {"ids": ids} | bounds), args.repeat
                    )
                    for name, sql in sources.items()
                }
                reads[f"{entity}, {read}"] = timings | {
                    "x_ceiling (quarter-hour)": round(timings["quarter-hour"] / timings["daily (UTC)"], 2)
                }
        # The chosen layout must agree with the events themselves: a Kolkata day's plays and listeners.
        check = (
            "SELECT count(), uniqExact(listener_id) FROM events"
            " WHERE type = 'play' AND track_id IN {ids:Array(UInt64)}"
            " AND occurred_at >= toDateTime({a:Int64}) AND occurred_at < toDateTime({b:Int64})"
        )
        exact = store.query_rows(check, {"ids": top} | bounds) == store.query_rows(
            READS["30-day figures"]["quarter-hour"], {"ids": top} | bounds
        )
        store.close()
    publish(
        "zone_rollups",
        {
            "events": args.events,
            "days": args.days,
            "write_cost (catch-up statements, one after another)": writes,
            "storage (after OPTIMIZE FINAL)": storage,
            "reads_median_ms": reads,
            "quarter-hour answer equals the raw events": exact,
        },
    )


if __name__ == "__main__":
    main()
