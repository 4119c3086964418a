"""Window states looked up by key, against the memory table read whole: the hot track's, its album's
and its artist's computed 30-day analytics, with only their own windows kept and then with 200
sketched windows of other entities kept beside them (as a process that has answered for many entities
holds them), both ways in one process, alternating call by call (each way first in turn) so the
machine's drift falls on both.

A merge takes the windows it asks for from `kept_windows`, a `Join` table in memory. Read as a table,
it copies each value of every row it holds before any filter (a dense sketch: about 100 kB and a
millisecond), so each merge paid for every window kept; the merge now reads the table's small values
only and looks the states of the rows it found up by key (`joinGet`, api/read/listener_blocks.py).
The ceiling beside it is the same reads with the states read with the table (`read whole`, the
statement before). Each call is timed wall and CPU (the process's: the engine's threads are in it);
the answers of both ways are checked equal.

Rerun: `PYTHONPATH=. .venv/bin/python bench/kept_windows.py --store DIR/100000000-events-10000-tracks
[--repeat 20]` on a store `bench/read_latency.py --stores DIR` kept (its stored windows are not
touched: the other entities' windows are put in memory only). Prints the medians and the ratios per
number of windows kept; the JSON lands in bench/results/kept-windows-<timestamp>.json.
"""

from __future__ import annotations

import time
from typing import Any

from api.read import listener_blocks
from api.read.analytics_routes import Reads
from api.read.changes import AnswerMemo
from api.read.listener_blocks import keeping_done, warm_windows
from bench.listener_merges import cases
from bench.reporting import on_kept_store, ways_compared
from insights.store import Store

LOOKED_UP, READ_WHOLE = "looked up", "read whole"
WARM_UP = 4
# Fewer than the table is trimmed at (288), with the cases' own: none of theirs is dropped meanwhile.
OTHERS = 200
FIRST_OTHER = 10**12  # entity ids no catalog uses
# The windows part of the merge as before the lookup: the states read with the table, then filtered.
LOOKED_UP_STATES = """joinGet('kept_windows', 'sketch', kind, entity_id, first, last, exact) AS value,
        joinGet('kept_windows', 'state', kind, entity_id, first, last, exact) AS exact_value, exact,"""
READ_STATES = "sketch AS value, state AS exact_value, exact,"
_READ_WHOLE = listener_blocks._WINDOWS.replace(LOOKED_UP_STATES, READ_STATES)
assert _READ_WHOLE != listener_blocks._WINDOWS, "the merge's windows part changed: update this benchmark"
STAGED = "bench_other_windows"


def keep_others(store: Store, count: int) -> None:
    """`count` sketched windows (20,000 listeners each: dense) of entities no read asks for, kept in
    memory only, one insert each, as reads build them."""
    staging = f"CREATE TABLE IF NOT EXISTS {STAGED} ENGINE = Memory AS SELECT * FROM kept_windows LIMIT 0"
    store.command(staging)
    for n in range(count):
        store.command(
            f"INSERT INTO {STAGED} (kind, entity_id, first, last, exact, plays, fingerprint, sketch,"
            " state, listeners) SELECT 2, {entity:UInt64}, today() - 30, today() - 1, 0, 0, 0,"
            " uniqCombined64State(17)(toString(number + {entity:UInt64})), uniqExactState(''), 0"
            " FROM numbers(20000)",
            {"entity": FIRST_OTHER + n},
        )
        store.command(f"INSERT INTO kept_windows SELECT * FROM {STAGED}")
        store.command(f"TRUNCATE TABLE {STAGED}")
    store.command(f"DROP TABLE {STAGED}")


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    looked_up = listener_blocks._MERGE_PARTS["windows"]
    ways = {LOOKED_UP: looked_up, READ_WHOLE: _READ_WHOLE}
    reads = {how: Reads(store, AnswerMemo(None)) for how in ways}
    calls = await cases(store)
    answers: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    try:
        for others in (0, OTHERS):
            if others:
                keep_others(store, others)
            kept = store.query_rows("SELECT count() FROM kept_windows")[0][0]
            timed: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for n in range(repeat + WARM_UP):
                for name, call in calls.items():
                    for how in list(ways)[n % 2 :] + list(ways)[: n % 2]:
                        listener_blocks._MERGE_PARTS["windows"] = ways[how]
                        wall, cpu = time.perf_counter(), time.process_time()
                        answer = await call(reads[how])
                        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                        listener_blocks._MERGE_PARTS["windows"] = looked_up
                        await keeping_done()
                        assert answers.setdefault(name, answer) == answer, f"{name}: the answers differ"
                        if n >= WARM_UP:
                            timed.setdefault((name, how), []).append((wall * 1000, cpu * 1000))
            figures[f"{others} other windows kept"] = {
                "windows_kept": kept,
                "cases": ways_compared(timed, LOOKED_UP, (READ_WHOLE,)),
            }
    finally:
        listener_blocks._MERGE_PARTS["windows"] = looked_up
        store.close()
    return {"store": path, "repeat": repeat, **figures}


if __name__ == "__main__":
    on_kept_store("kept-windows", __doc__, run, 20)
