"""A statement's parameter places found once per text, against found at every call: the hot track's,
its album's and its artist's computed 30-day analytics, read both ways in one process, alternating
call by call (each way first in turn) so the machine's drift falls on both.

clickhouse-connect finds the `{name:Type}` places of a statement twice at each call, and where a quote
comes before the last one it reads the text character by character in Python
(insights/store.py, `remember_parameter_places`). The ceiling beside it is the same reads with that
memo taken away for the call (`found each call`). Each call is timed wall and CPU (the process's: the
engine's threads are in it); the answers of both ways are checked equal.

Rerun: `PYTHONPATH=. .venv/bin/python bench/parameter_places.py --store DIR/100000000-events-10000-tracks
[--repeat 30]` on a store `bench/read_latency.py --stores DIR` kept. Prints the medians and the ratio;
the JSON lands in bench/results/parameter-places-<timestamp>.json.
"""

from __future__ import annotations

import time
from typing import Any

from clickhouse_connect.driver import binding

from api.read.analytics_routes import Reads
from api.read.changes import AnswerMemo
from api.read.listener_blocks import keeping_done, warm_windows
from bench.listener_merges import cases
from bench.reporting import on_kept_store, ways_compared
from insights.store import Store

REMEMBERED, FOUND = "remembered", "found each call"
WARM_UP = 4


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    remembered = binding._server_bind_matches
    ways = {REMEMBERED: remembered, FOUND: remembered.original}
    reads = {how: Reads(store, AnswerMemo(None)) for how in ways}
    calls = await cases(store)
    timed: dict[tuple[str, str], list[tuple[float, float]]] = {}
    answers: dict[str, Any] = {}
    try:
        for n in range(repeat + WARM_UP):
            for name, call in calls.items():
                for how in list(ways)[n % 2 :] + list(ways)[: n % 2]:
                    binding._server_bind_matches = ways[how]
                    wall, cpu = time.perf_counter(), time.process_time()
                    answer = await call(reads[how])
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    binding._server_bind_matches = remembered
                    await keeping_done()
                    assert answers.setdefault(name, answer) == answer, f"{name}: the answers differ"
                    if n >= WARM_UP:
                        timed.setdefault((name, how), []).append((wall * 1000, cpu * 1000))
    finally:
        binding._server_bind_matches = remembered
        store.close()
    figures = ways_compared(timed, REMEMBERED, (FOUND,))
    return {"store": path, "repeat": repeat, "cases": figures}


if __name__ == "__main__":
    on_kept_store("parameter-places", __doc__, run, 30)
