"""Memory of the write side at 1 million distinct listeners a day: peak RSS of a process that writes
them through the worker's own sink (`RollupSink.flush`, in batches of the worker's flush size,
`FLUSH_MAX_EVENTS`) into the embedded engine.

The worker keeps no per-listener state in Python (listener sets live in ClickHouse as uniqExact
states): what this measures is mostly the engine's memory for the writes (their statements and the
merges of the parts they write), with the sink beside it in one process. In `insights up` that memory
is the API process's (the engine's owner; the worker's statements cross to it through the store
bridge), and scaled out it is the ClickHouse server's; the worker's own process, its Python alone, is
measured by mixed_load.py (peak RSS per process). Beside it: this process's RSS after start-up and
migrations, before the first flush. Target (issue 6): ≤ 1 GiB.

The tracks are catalogued (10 an album, 3 albums an artist), so the listener blocks of albums and
artists are built as a real catalog makes them; `--rollups before-blocks` writes the rollups of before
them, for the figure before side by side.

Rerun: `.venv/bin/python bench/worker_memory.py [--listeners 1000000] [--tracks 1000]
[--rollups today|before-blocks]`.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from reporting import publish
from throughput import ROLLUP_SETS

from insights.migrate import migrate
from insights.store import Store
from pipeline.sink import RollupSink, SourcedEvent
from pipeline.worker import FLUSH_MAX_EVENTS
from schemas.events import Event

BATCH = FLUSH_MAX_EVENTS
CATALOG_SQL = """
INSERT INTO tracks (track_id, title, album_id, artist_ids, version)
SELECT number + 1, 'Track', intDiv(number, 10) + 1, [intDiv(number, 30) + 1], 1
FROM numbers({tracks:UInt64})"""


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--listeners", type=int, default=1_000_000)
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--rollups", choices=sorted(ROLLUP_SETS), default="today")
    args = parser.parse_args()
    rng = random.Random(11)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"chdb://{tmp}/clickhouse")
        migrate(store)
        store.command(CATALOG_SQL, {"tracks": args.tracks})
        sink = RollupSink(store, ROLLUP_SETS[args.rollups])
        sink.claim(range(64), 10**9)
        baseline = rss_mib()
        started, written = time.monotonic(), 0
        for start in range(0, args.listeners, BATCH):
            batch = [
                SourcedEvent(
                    Event(
                        event_id=uuid.uuid4().hex,
                        type="play",
                        track_id=rng.randint(1, args.tracks),
                        listener_id=f"listener-{n}",  # each one new: 1M distinct listeners in one day
                        occurred_at=day + timedelta(seconds=rng.randint(0, 86_399)),
                    ),
                    n % 6,
                    n // 6,
                )
                for n in range(start, min(args.listeners, start + BATCH))
            ]
            written += sink.flush(batch).written
        elapsed = time.monotonic() - started
        distinct = store.query_rows("SELECT uniqExactMerge(listeners) FROM track_daily")[0][0]
        store.close()
    publish(
        "worker-memory",
        {
            "rollups": args.rollups,
            "events": written,
            "distinct_listeners_in_the_day": int(distinct),
            "seconds": round(elapsed, 1),
            "rss_before_first_flush_mib": round(baseline),
            "peak_rss_mib": round(peak_mib()),
            "target_mib": 1024,
        },
    )


if __name__ == "__main__":
    main()
