"""The worker's sink alone, without Kafka: what its flushes cost, beside the bare insert of the same events.

- sink: `RollupSink.flush` as the worker calls it, in flushes of `--flush` events: the dedupe look-up,
  the fenced copies into `event_keys` and `events`, and the seven rollups built side by side.
- ceiling: the same events inserted into one plain MergeTree table of the same engine, in the same
  flushes (`throughput.py`'s bare insert): what writing them anywhere costs.

The events are `throughput.py`'s (Zipf-popular tracks, 100,000 listeners, audience fields), over the
last minute (live traffic) or with `--spread 2592000`, 30 days. Besides events/s, the CPU the process
used for each event (every thread, the engine's included), which moves less than the rate on a
shared machine. With `--bridge`, the sink writes through the store bridge, as `insights up`'s worker
process does (insights/store_bridge.py), served by this same process: the CPU figure then holds both
ends (pickling, the socket, unpickling): run it beside a run without for the bridge's cost. Rerun:
`.venv/bin/python bench/sink.py [--events 1000000] [--flush 100000] [--spread 60] [--bridge]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from throughput import COUNTED_SQL, decoded_events, generate, insert_ceiling

from insights.migrate import migrate
from insights.store import Store
from insights.store_bridge import BridgeServer
from pipeline.sink import sole_writer
from pipeline.worker import FLUSH_MAX_EVENTS

PARTITIONS = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--flush", type=int, default=FLUSH_MAX_EVENTS)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--bridge", action="store_true", help="write through the store bridge")
    args = parser.parse_args()
    work = generate(args.events, 500, spread=args.spread)
    events = decoded_events(work.messages, PARTITIONS)
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        store = Store(f"chdb://{Path(tmp) / 'clickhouse'}")
        try:
            migrate(store)
            ceiling = insert_ceiling(store, work.messages, PARTITIONS)
            bridge = BridgeServer(store, lambda metrics: metrics.close()) if args.bridge else None
            writes = Store(bridge.dsn, bridge_token=bridge.token) if bridge else store
            sink = sole_writer(writes, range(PARTITIONS))
            began, cpu = time.perf_counter(), time.process_time()
            for start in range(0, len(events), args.flush):
                sink.flush(events[start : start + args.flush])
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
            sink.close()
            if bridge:
                writes.close()
                bridge.close()
            ((counted,),) = store.query_rows(COUNTED_SQL)
        finally:
            store.close()
    if counted != work.unique:
        raise SystemExit(f"the rollups hold {counted} events, expected {work.unique}")
    n = len(events)
    through = ", through the store bridge" if args.bridge else ""
    print(f"{n:,} events in flushes of {args.flush:,}, occurred_at over {args.spread:,.0f} s{through}")
    print(
        f"sink: {n / seconds:,.0f} events/s, {cpu / seconds:.2f} cores,"
        f" {cpu / n * 1e6:.1f} CPU-µs an event; every event counted once"
    )
    print(f"bare insert ceiling: {n / ceiling:,.0f} events/s; ratio {ceiling / seconds:.2f}")


if __name__ == "__main__":
    main()
