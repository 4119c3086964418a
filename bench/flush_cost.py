"""What one flush of the worker costs, statement by statement, and how much of it is fixed.

The sink (`RollupSink.flush`, as the worker calls it) writes `throughput.py`'s events (live traffic,
audience fields) in flushes of `--flush` events into a fresh embedded store, its rollups built one
after the other. The first `--warmup` flushes are left out of the sink's figures: the engine's first
statement of each kind pays once for what it loads. For every statement, its median CPU per flush,
twice: on the thread that runs it, and the whole process's while it runs (the engine runs part of a
statement on threads of its own, and the merges its parts set off run meanwhile). The flush's total is
the whole process's, merges included. Then each rollup statement is run again as the sink runs it,
over the last flush's offsets and over no rows at all (the process's CPU): what it costs over no rows
is the engine planning it, paid by every flush whatever its size; and over no rows without its fence
(the claim look-up every write of the worker carries). Beside them, the ceiling: the same events
inserted into one plain MergeTree table in the same flushes, one statement a flush.

Rerun: `.venv/bin/python bench/flush_cost.py [--events 20000] [--flush 500] [--repeat 20] [--warmup 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from reporting import publish
from throughput import decoded_events, generate, insert_ceiling

from insights.migrate import migrate
from insights.store import Store
from pipeline.rollups import ROLLUPS, range_parameters
from pipeline.sink import FENCE_TAG, sole_writer

PARTITIONS = 6


def counted(store: Store, costs: dict[str, list[tuple[float, float]]]) -> None:
    """Wraps the store's statements so that each adds its CPU to `costs`: (the calling thread's, the
    whole process's while it ran)."""
    for name in ("command", "query_rows", "insert_columns", "insert"):
        run: Callable[..., Any] = getattr(store, name)

        def timed(*args: Any, _run: Callable[..., Any] = run, _name: str = name, **kwargs: Any) -> Any:
            thread, process = time.thread_time(), time.process_time()
            try:
                return _run(*args, **kwargs)
            finally:
                statement = " ".join(str(args[0]).replace(FENCE_TAG, "").split())[:60]
                spent = (time.thread_time() - thread, time.process_time() - process)
                costs[f"{_name}: {statement}"].append(spent)

        setattr(store, name, timed)


def cpu_ms(store: Store, sql: str, parameters: dict[str, Any], repeat: int) -> float:
    """The process's CPU per run of `sql`, merges of the parts it writes included."""
    store.command(sql, parameters)  # the first run warms what the engine caches
    began = time.process_time()
    for _ in range(repeat):
        store.command(sql, parameters)
    return (time.process_time() - began) / repeat * 1000


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--flush", type=int, default=500, help="events a flush (a message holds 500)")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each rollup statement alone")
    parser.add_argument("--warmup", type=int, default=3, help="first flushes left out of the figures")
    args = parser.parse_args()
    work = generate(args.events, 500, spread=60.0)
    events = decoded_events(work.messages, PARTITIONS)
    flushes = [events[start : start + args.flush] for start in range(0, len(events), args.flush)]
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        try:
            migrate(store)
            spent = insert_ceiling(store, work.messages, PARTITIONS, args.flush, time.process_time)
            ceiling = spent / len(flushes) * 1000
            store.writer_pool = lambda workers, name: ThreadPoolExecutor(1)  # type: ignore[method-assign]
            sink = sole_writer(store, range(PARTITIONS))
            for batch in flushes[: args.warmup]:
                sink.flush(batch)
            measured = flushes[args.warmup :]
            costs: dict[str, list[tuple[float, float]]] = defaultdict(list)
            counted(store, costs)
            began = time.process_time()
            for batch in measured:
                sink.flush(batch)
            flush = (time.process_time() - began) / len(measured) * 1000
            sink.close()
            last = flushes[-1]
            ranges = {
                p: (
                    min(e.offset for e in last if e.partition == p) - 1,
                    max(e.offset for e in last if e.partition == p),
                )
                for p in {e.partition for e in last}
            }
            owned = {"owned": sorted(ranges), "owner": sink.owner}
            parameters = range_parameters(ranges) | owned
            # The same ranges, emptied: each partition from its last offset to the same offset.
            empty = range_parameters({p: (up_to, up_to) for p, (_, up_to) in ranges.items()}) | owned
            rollups = {}
            for rollup in ROLLUPS:
                sql = FENCE_TAG + rollup.catch_up_sql(len(ranges), fenced_by=sink.FENCE)
                bare = rollup.catch_up_sql(len(ranges))
                rollups[rollup.table] = {
                    "flush_ms": round(cpu_ms(store, sql, parameters, args.repeat), 1),
                    "no_rows_ms": round(cpu_ms(store, sql, empty, args.repeat), 1),
                    "no_rows_unfenced_ms": round(cpu_ms(store, bare, empty, args.repeat), 1),
                }
        finally:
            store.close()
    # The statements of every flush, each its median over the flushes (the markers' look-ups run only
    # for a partition new to the sink, not in every flush: left out).
    statements = {
        name: {
            "thread_ms": median_ms([thread for thread, _ in spent]),
            "process_ms": median_ms([process for _, process in spent]),
        }
        for name, spent in sorted(costs.items(), key=lambda item: -sum(p for _, p in item[1]))
        if len(spent) >= len(measured)
    }
    print(f"{len(measured)} flushes of {args.flush:,} events: {flush:.1f} CPU-ms a flush", end="")
    print(f" (after {args.warmup} left out)")
    print(f"ceiling, the bare insert of the same flushes: {ceiling:.1f} CPU-ms a flush", end="")
    print(f"; ratio {ceiling / flush:.2f}")
    print("CPU-ms a flush, by statement (median): on its thread / the process's while it ran")
    for name, ms in statements.items():
        print(f"  {ms['thread_ms']:7.1f} / {ms['process_ms']:7.1f}  {name}")
    print("each rollup alone (the process's CPU), over the last flush / over no rows / the same unfenced:")
    for table, f in rollups.items():
        figures = f"{f['flush_ms']:6.1f} / {f['no_rows_ms']:5.1f} / {f['no_rows_unfenced_ms']:5.1f}"
        print(f"  {table:<24} {figures} ms")
    publish(
        "flush-cost",
        {
            "parameters": vars(args),
            "flush_cpu_ms": round(flush, 1),
            "ceiling_cpu_ms": round(ceiling, 1),
            "statements_cpu_ms": statements,
            "rollups": rollups,
        },
    )


if __name__ == "__main__":
    main()
