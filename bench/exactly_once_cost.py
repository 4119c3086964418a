"""What exactly-once costs the worker: `RollupSink.flush` beside the plain pattern without it.

- with: the sink as the worker runs it: event_id dedupe query, one `events` insert, then each rollup
  caught up from `events` by Kafka offset range (docs/pipeline.md).
- without (the ceiling): the classic ClickHouse pattern with no dedupe and no progress markers: one
  insert into a Null-engine copy of `events` whose materialized views build the same rollups into
  copies of the rollup tables. It counts a redelivered event twice.

Both get the very same batches, alternately, on one embedded engine; the rollups of both are checked to
agree. Rerun: `.venv/bin/python bench/exactly_once_cost.py [--events 400000] [--batch 20000]`.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from insights.migrate import migrate
from insights.store import Store
from pipeline.rollups import ROLLUPS, Rollup
from pipeline.sink import EVENT_COLUMNS, SourcedEvent, event_columns, sole_writer
from schemas.events import Event


def plain_pipeline(store: Store) -> None:
    """events_plain (Null) -> one materialized view per rollup -> <rollup>_plain tables."""
    store.command("CREATE TABLE events_plain AS events ENGINE = Null")
    for rollup in ROLLUPS:
        store.command(f"CREATE TABLE {rollup.table}_plain AS {rollup.table}")
        select = rollup.select.replace("FROM events", "FROM events_plain").replace("({ranges})", "1")
        columns = ", ".join(rollup.columns)
        view, target = f"{rollup.table}_plain_mv", f"{rollup.table}_plain"
        store.command(f"CREATE MATERIALIZED VIEW {view} TO {target} ({columns}) AS {select}")


def batches(total: int, size: int, rng: random.Random) -> list[list[SourcedEvent]]:
    now = datetime.now(UTC)
    offsets = [0] * 6
    result = []
    for b in range(0, total, size):
        batch = []
        for n in range(b, min(b + size, total)):
            partition = rng.randrange(6)
            event = Event(
                event_id=f"e{n}",
                type=rng.choice(("play", "play", "play", "like", "heartbeat")),
                track_id=int(rng.paretovariate(1.2)) % 10_000 + 1,
                listener_id=f"l{rng.randrange(50_000)}",
                occurred_at=now - timedelta(seconds=rng.randrange(30 * 86400)),
            )
            batch.append(SourcedEvent(event, partition, offsets[partition]))
            offsets[partition] += 1
        result.append(batch)
    return result


def counters_sql(rollup: Rollup, table: str) -> str:
    """The totals of the counters `rollup` has, read from `table` (the audience rollups count plays only)."""
    likes = "sum(likes), " if "likes" in rollup.columns else ""
    return f"SELECT sum(plays), {likes}uniqExactMerge(listeners) FROM {table}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        migrate(store)
        plain_pipeline(store)
        sink = sole_writer(store)
        work = batches(args.events, args.batch, random.Random(1))
        spent = {"with exactly-once": 0.0, "without (Null + MVs)": 0.0}
        for batch in work:
            started = time.perf_counter()
            sink.flush(batch)
            spent["with exactly-once"] += time.perf_counter() - started
            started = time.perf_counter()
            store.insert_columns("events_plain", event_columns(batch, int(time.time())), EVENT_COLUMNS)
            spent["without (Null + MVs)"] += time.perf_counter() - started
        same = all(
            store.query_rows(counters_sql(r, r.table))
            == store.query_rows(counters_sql(r, r.table + "_plain"))
            for r in ROLLUPS
            if r.table != "track_realtime"
        )
        store.close()
    rates = {name: args.events / seconds for name, seconds in spent.items()}
    for name, rate in rates.items():
        print(f"{name:22} {rate:>10,.0f} events/s")
    ratio = rates["with exactly-once"] / rates["without (Null + MVs)"]
    print(f"ratio with/without: {ratio:.2f}; rollups agree: {same}")
    print(f"{args.events:,} events in batches of {args.batch:,}; machine: see BENCHMARKS.md")


if __name__ == "__main__":
    main()
