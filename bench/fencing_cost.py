"""What fencing costs the worker: the sink as it runs (every write fenced by the partition's claim)
beside the same sink unfenced (no claim condition). Both stage a batch's events in a temporary table,
where the dedupe look-up reads their ids, and copy them from there as one part each.

Both flush the very same kind of batches, alternately, into one embedded engine's tables: the fenced
sink owns partitions 0-5, the unfenced one writes partitions 10-15 with ids of its own, so the tables
grow alike for both. Rerun: `.venv/bin/python bench/fencing_cost.py [--events 400000] [--batch 20000]`.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from exactly_once_cost import batches
from msgspec.structs import replace

from insights.migrate import migrate
from insights.store import Store
from pipeline.sink import RollupSink, SourcedEvent, sole_writer


class UnfencedSink(RollupSink):
    """The sink without fencing: copies and builds unconditioned."""

    FENCE = ""


def shifted(batch: list[SourcedEvent]) -> list[SourcedEvent]:
    """The same batch on partitions 10-15, with ids of its own."""
    return [
        SourcedEvent(
            replace(item.event, event_id="u" + item.event.event_id), item.partition + 10, item.offset
        )
        for item in batch
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        migrate(store)
        fenced = sole_writer(store, range(6))
        unfenced = UnfencedSink(store)
        unfenced.owned = set(range(10, 16))
        work = batches(args.events, args.batch, random.Random(1))
        spent = {"fenced": 0.0, "unfenced": 0.0}
        for batch in work:
            other = shifted(batch)
            started = time.perf_counter()
            fenced.flush(batch)
            spent["fenced"] += time.perf_counter() - started
            started = time.perf_counter()
            unfenced.flush(other)
            spent["unfenced"] += time.perf_counter() - started
        check = "SELECT sum(plays), sum(likes) FROM track_totals WHERE kafka_partition {} 10"
        same = store.query_rows(check.format("<")) == store.query_rows(check.format(">="))
        store.close()
    rates = {name: args.events / seconds for name, seconds in spent.items()}
    for name, rate in rates.items():
        print(f"{name:10} {rate:>10,.0f} events/s")
    print(f"ratio fenced/unfenced: {rates['fenced'] / rates['unfenced']:.2f}; same counts: {same}")
    print(f"{args.events:,} events in batches of {args.batch:,}")


if __name__ == "__main__":
    main()
