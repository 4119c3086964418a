"""What counting a previous period's window as it is built saves: the hot track's, its album's and its
artist's computed 30-day analytics, their previous period's listeners taken from the count kept with
its window (as served) against merged from its window and last day (as before), in one process, the
two alternating call by call so the machine's drift falls on both.

Runs on a store `bench/read_latency.py --stores DIR` built and kept (the windows both ways need are
built during the warm-up). Each call is timed wall and CPU (the process's: the engine's threads are
in it); the answers of both ways are checked equal.

Rerun: `PYTHONPATH=. .venv/bin/python bench/previous_counted.py --store DIR/100000000-events-10000-tracks
[--repeat 40]`. Prints the medians and the counted/merged ratios; the JSON lands in
bench/results/previous-counted-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from api.read import analytics_queries
from api.read.analytics_routes import TOP_TRACKS, Reads
from api.read.catalog_snapshot import Catalog
from api.read.changes import AnswerMemo
from api.read.figure_bodies import figure_fields, ranked_tracks
from api.read.listener_blocks import ALBUM, ARTIST, Ask, Entity, keeping_done, warm_windows
from bench.reporting import publish
from insights.store import Store
from schemas.periods import period_bounds

WAYS = ("merged", "counted")
counting = {"on": True}


def ask(*args: Any, closed: bool = False, **others: Any) -> Ask:
    """Ask as the handlers build it, closed only while counting is on."""
    return Ask(*args, closed=closed and counting["on"], **others)


async def cases(store: Store) -> dict[str, Callable[[Reads], Awaitable[Any]]]:
    """The hottest track, its album and its first artist, each read through a given `Reads`."""
    rows = store.query_rows(
        "SELECT track_id FROM track_totals GROUP BY track_id ORDER BY sum(plays) DESC LIMIT 1"
    )
    catalog = Catalog(store)
    entry = await catalog.track(int(rows[0][0]))
    assert entry is not None and entry.album_id is not None
    album, artist = await catalog.album(entry.album_id), await catalog.artist(entry.artist_ids[0])
    assert album is not None and artist is not None
    bounds = period_bounds("30-days", datetime.now(UTC))

    async def track(reads: Reads) -> Any:
        return figure_fields(await reads.figures(entry.track_id, bounds))

    def group(kind: int, entity_id: int, listed: Any, top: int | None) -> Callable[[Reads], Awaitable[Any]]:
        async def read(reads: Reads) -> Any:
            figures, per = await reads.group_figures(listed.track_ids, bounds, Entity(kind, entity_id), top)
            return figure_fields(figures), ranked_tracks(listed.tracks, per, top)

        return read

    return {
        "hot track": track,
        "album": group(ALBUM, album.album_id, album, None),
        "artist": group(ARTIST, artist.artist_id, artist, TOP_TRACKS),
    }


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    analytics_queries.Ask = ask  # type: ignore[misc]  # the handlers' asks, closed or not
    reads = {way: Reads(store, AnswerMemo(None)) for way in WAYS}
    calls = await cases(store)
    timed: dict[tuple[str, str], list[tuple[float, float]]] = {}
    answers: dict[str, Any] = {}
    for n in range(repeat + 5):  # 5 warm-up rounds: both ways' windows built and their plans known
        for name, call in calls.items():
            for way in WAYS:
                counting["on"] = way == "counted"
                wall, cpu = time.perf_counter(), time.process_time()
                answer = await call(reads[way])
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                await keeping_done()
                assert answers.setdefault(name, answer) == answer, f"{name}: the answers differ"
                if n >= 5:
                    timed.setdefault((name, way), []).append((wall * 1000, cpu * 1000))
    store.close()
    figures: dict[str, Any] = {}
    for (name, way), values in timed.items():
        figures.setdefault(name, {})[way] = {
            "median_ms": statistics.median(w for w, _ in values),
            "cpu_median_ms": statistics.median(c for _, c in values),
        }
    for ways in figures.values():
        for key in ("median_ms", "cpu_median_ms"):
            ways[f"counted/merged {key}"] = ways["counted"][key] / ways["merged"][key]
    return {"store": path, "repeat": repeat, "cases": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store kept by bench/read_latency.py --stores")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    publish("previous-counted", asyncio.run(run(args.store, args.repeat)))


if __name__ == "__main__":
    main()
