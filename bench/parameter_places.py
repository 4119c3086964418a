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

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from clickhouse_connect.driver import binding

from api.read.analytics_routes import Reads
from api.read.changes import AnswerMemo
from api.read.listener_blocks import warm_windows
from bench.listener_merges import cases
from bench.reporting import alternated, on_kept_store, ways_compared
from insights.store import Store

REMEMBERED, FOUND = "remembered", "found each call"
WARM_UP = 4


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    remembered = binding._server_bind_matches
    finders = {REMEMBERED: remembered, FOUND: remembered.original}
    reads = {how: Reads(store, AnswerMemo(None)) for how in finders}

    @contextmanager
    def finding(how: str) -> Iterator[Reads]:
        binding._server_bind_matches = finders[how]
        try:
            yield reads[how]
        finally:
            binding._server_bind_matches = remembered

    try:
        timed = await alternated(
            await cases(store), {how: partial(finding, how) for how in finders}, repeat, WARM_UP
        )
    finally:
        store.close()
    figures = ways_compared(timed, REMEMBERED, (FOUND,))
    return {"store": path, "repeat": repeat, "cases": figures}


if __name__ == "__main__":
    on_kept_store("parameter-places", __doc__, run, 30)
