"""A popular entity's day and week charts asked again: the count of the bucket holding now read beside
the statement that judges the buckets (as served), against after it (as before). The hot track's, its
album's and its first artist's 30-day, 90-day and 1-year charts, each asked through a chart memo of its
own way (its closed buckets kept, as a chart asked again has them), the two ways alternating call by
call, each first in turn, so the machine's drift falls on both.

Runs on a store `bench/read_latency.py --stores DIR` built and kept. Each call is timed wall and CPU
(the process's: the engine's threads are in it); the charts of both ways are checked equal. The first
3 rounds are not timed (the memos fill).

Rerun: `PYTHONPATH=. .venv/bin/python bench/chart_reads.py --store DIR/100000000-events-10000-tracks
[--repeat 30]`. Prints the JSON, with each chart's ratio served/after; it lands in
bench/results/chart-reads-<timestamp>.json.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

from api.read import analytics_queries, listener_blocks
from api.read.analytics_routes import Reads, chart_body
from api.read.changes import AnswerMemo
from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Entity, keeping_done, warm_windows
from bench.listener_merges import popular
from bench.reporting import on_kept_store
from insights.store import Store
from schemas.periods import chart_buckets

WAYS = ("served", "after")
TIMEFRAMES = ("30d", "90d", "1y")


class _JudgedFirst:
    """`listener_blocks` as `analytics_queries` sees it, but nothing read before the buckets are judged."""

    def __getattr__(self, name: str) -> Any:
        return getattr(listener_blocks, name)

    @staticmethod
    def judged(*_: Any) -> bool:
        return False


async def entities(store: Store) -> dict[str, tuple[list[int], Entity]]:
    """The hottest track, its album and its first artist: their tracks and entity."""
    entry, album, artist = await popular(store)
    return {
        "track": ([entry.track_id], Entity(TRACK, entry.track_id)),
        "album": (list(album.track_ids), Entity(ALBUM, album.album_id)),
        "artist": (list(artist.track_ids), Entity(ARTIST, artist.artist_id)),
    }


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    reads = {way: Reads(store, AnswerMemo(None)) for way in WAYS}
    charted = await entities(store)
    timed: dict[tuple[str, str], list[tuple[float, float]]] = {}
    answers: dict[str, Any] = {}
    for n in range(repeat + 3):
        for kind, (tracks, entity) in charted.items():
            for timeframe in TIMEFRAMES:
                name = f"{kind} chart {timeframe}"
                for way in WAYS if n % 2 == 0 else WAYS[::-1]:
                    analytics_queries.listener_blocks = (  # type: ignore[assignment]
                        listener_blocks if way == "served" else _JudgedFirst()
                    )
                    buckets = chart_buckets(timeframe, datetime.now(UTC))
                    memo, past = reads[way].charts, reads[way].past
                    wall, cpu = time.perf_counter(), time.process_time()
                    body = await chart_body(store, tracks, buckets, memo, entity, past)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    await keeping_done()
                    assert answers.setdefault(name, body) == body, f"{name}: the charts differ"
                    if n >= 3:
                        timed.setdefault((name, way), []).append((wall * 1000, cpu * 1000))
    analytics_queries.listener_blocks = listener_blocks
    store.close()
    figures: dict[str, Any] = {}
    for (name, way), values in timed.items():
        figures.setdefault(name, {})[way] = {
            "median_ms": round(statistics.median(w for w, _ in values), 2),
            "cpu_median_ms": round(statistics.median(c for _, c in values), 2),
        }
    for ways in figures.values():
        for key in ("median_ms", "cpu_median_ms"):
            ways[f"served/after {key}"] = round(ways["served"][key] / ways["after"][key], 3)
    return {"store": path, "repeat": repeat, "charts": figures}


if __name__ == "__main__":
    on_kept_store("chart-reads", __doc__, run, 30)
