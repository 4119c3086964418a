"""How the memory table of windows is read: the hot track's, its album's and its artist's computed
30-day analytics, each comparison's two ways in one process, alternating call by call (each way first
in turn) so the machine's drift falls on both; the answers of both ways checked equal. Each call is
timed wall and CPU (the process's: the engine's threads are in it).

A merge takes the windows it asks for from `kept_windows`, a `Join` table in memory. A read of it
copies each value of every row it holds before any filter, and a state is costly to copy (a dense
sketch: about 100 kB and a millisecond), while the rows of one block are shared rather than copied.
So the merge reads the table's small values and looks the states of the rows it found up by key
(`joinGet`, api/read/listener_blocks.py), and the table is rewritten into one block after each read's
builds. Three comparisons:
- the states looked up, against read with the table (`read whole`, the statement before), with only
  the cases' windows kept (one block, as a process that starts copies them);
- the cases' windows in one block (rewritten before the call), against a block each (each written
  again on its own before the call, as a process that built them one by one held them);
- the states looked up against read whole again, with 200 sketched windows of other entities kept
  beside them, a block each (as a process that has answered for many entities holds them).

Rerun: `PYTHONPATH=. .venv/bin/python bench/kept_windows.py --store DIR/100000000-events-10000-tracks
[--repeat 20]` on a store `bench/read_latency.py --stores DIR` kept (its stored windows are not
touched: the other entities' windows are put in memory only). Prints the medians and the ratios per
comparison; the JSON lands in bench/results/kept-windows-<timestamp>.json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import Any

from api.read import listener_blocks
from api.read.analytics_routes import Reads
from api.read.changes import AnswerMemo
from api.read.listener_blocks import warm_windows
from bench.listener_merges import cases
from bench.reporting import alternated, on_kept_store, ways_compared
from insights.store import Store

LOOKED_UP, READ_WHOLE = "looked up", "read whole"
ONE_BLOCK, A_BLOCK_EACH = "one block", "a block each"
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


def a_block_each(store: Store) -> None:
    """Every kept window written again on its own (as a process that built them one by one holds them)."""
    keys = store.query_rows("SELECT kind, entity_id, first, last, exact FROM kept_windows")
    store.command(f"CREATE TABLE {STAGED} ENGINE = Memory AS SELECT * FROM kept_windows")
    for key in keys:
        store.command(
            f"INSERT INTO kept_windows SELECT * FROM {STAGED}"
            " WHERE (kind, entity_id, first, last, exact) = {key:Tuple(UInt8, UInt64, Date, Date, UInt8)}",
            {"key": key},
        )
    store.command(f"DROP TABLE {STAGED}")


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    reads = Reads(store, AnswerMemo(None))
    calls = await cases(store)
    answers: dict[str, Any] = {}
    looked_up = listener_blocks._MERGE_PARTS["windows"]

    @contextmanager
    def windows_part(part: str) -> Iterator[Reads]:
        listener_blocks._MERGE_PARTS["windows"] = part
        try:
            yield reads
        finally:
            listener_blocks._MERGE_PARTS["windows"] = looked_up

    @contextmanager
    def table_made(make: Callable[[], None]) -> Iterator[Reads]:
        make()
        yield reads

    states = {LOOKED_UP: partial(windows_part, looked_up), READ_WHOLE: partial(windows_part, _READ_WHOLE)}
    blocks = {
        ONE_BLOCK: partial(table_made, lambda: store.command(listener_blocks.REWRITE_SQL)),
        A_BLOCK_EACH: partial(table_made, lambda: a_block_each(store)),
    }

    async def compared(ways: dict[str, Callable[[], AbstractContextManager[Reads]]]) -> dict[str, Any]:
        timed = await alternated(calls, ways, repeat, WARM_UP, answers)
        first, *others = ways
        return ways_compared(timed, first, tuple(others))

    figures: dict[str, Any] = {}
    try:
        figures["states, only the cases' windows kept"] = await compared(states)
        figures["the cases' windows in one block or a block each"] = await compared(blocks)
        keep_others(store, OTHERS)
        figures[f"states, {OTHERS} other windows kept"] = await compared(states)
    finally:
        store.close()
    return {"store": path, "repeat": repeat, **figures}


if __name__ == "__main__":
    on_kept_store("kept-windows", __doc__, run, 20)
