"""The order of a read's statements, side by side: each read as served against with its statements run
one after the other, as before they were overlapped or joined.

- Charts asked again: the count of the bucket holding now read beside the statement that judges the
  buckets (served), against after it. The hot track's, its album's and its first artist's 30-day,
  90-day and 1-year charts, each through a chart memo of its own way (its closed buckets kept, as a
  chart asked again has them).
- First asks of the hot track's, the album's and the artist's 30-day analytics (a `Reads` that has
  learnt nothing, as in a process just started): the listed tracks' listeners merged with the probe's
  own asks (served), against in a merge of their own after it; the sums of the tracks' own rows and of
  the blocks and windows they judge read in two statements at once (served), against in one; and a
  track's all-time plays and listeners read with the probe's sums (served), against in a statement
  of their own after the probe.

The two ways alternate call by call, each first in turn, so the machine's drift falls on both. Runs
on a store `bench/read_latency.py --stores DIR` built and kept. Each call is timed wall and CPU (the
process's: the engine's threads are in it); the answers of both ways are checked equal. The first 3
rounds are not timed (the memos fill, the windows are kept).

Rerun: `PYTHONPATH=. .venv/bin/python bench/read_order.py --store DIR/100000000-events-10000-tracks
[--repeat 30]`. Prints the JSON, with each read's ratio served/before; it lands in
bench/results/read-order-<timestamp>.json.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from api.read import analytics_queries, chart_queries, listener_blocks
from api.read.analytics_queries import Audiences
from api.read.analytics_routes import TOP_TRACKS, Reads, chart_body
from api.read.changes import AnswerMemo
from api.read.figure_bodies import figure_fields, ranked_tracks
from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Entity, keeping_done, warm_windows
from bench.listener_merges import popular
from bench.reporting import on_kept_store
from insights.store import Store
from schemas.periods import chart_buckets, period_bounds

WAYS = ("served", "before")
TIMEFRAMES = ("30d", "90d", "1y")
WARM_UP = 3
Read = Callable[[Reads], Awaitable[Any]]


class _JudgedFirst:
    """`listener_blocks` as `chart_queries` sees it, but nothing read before the buckets are judged."""

    def __getattr__(self, name: str) -> Any:
        return getattr(listener_blocks, name)

    @staticmethod
    def judged(*_: Any) -> bool:
        return False


class _ProbedAlone:
    """`listener_blocks` as `analytics_queries` sees it, but the probe's sums (the only ones read
    without `light`) read no track's all-time plays and listeners."""

    def __getattr__(self, name: str) -> Any:
        return getattr(listener_blocks, name)

    @staticmethod
    async def block_sums(*args: Any, **options: Any) -> Any:
        if "light" not in options:
            options.pop("listened", None)
        return await listener_blocks.block_sums(*args, **options)


_probe = Audiences.probe


async def _probe_alone(self: Audiences, *args: Any, listing: Any = None) -> Any:
    """The probe merging its own asks only (`listing` is its last argument)."""
    return await _probe(self, *args[:6])


_sums_rows = listener_blocks._sums_rows


async def _sums_in_one(store: Store, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The sums in one statement, whatever they read."""
    sql = listener_blocks.sums_statement(parameters)
    return await store.aquery_rows(sql, parameters) if sql is not None else []


def before(on: bool) -> None:
    """Reads as they were before (on) or as served (off)."""
    chart_queries.listener_blocks = _JudgedFirst() if on else listener_blocks  # type: ignore[assignment]
    Audiences.probe = _probe_alone if on else _probe  # type: ignore[method-assign]
    listener_blocks._sums_rows = _sums_in_one if on else _sums_rows
    analytics_queries.listener_blocks = _ProbedAlone() if on else listener_blocks  # type: ignore[assignment]


async def reads(store: Store) -> dict[str, Read]:
    """Each read, given a `Reads` of its way."""
    entry, album, artist = await popular(store)
    charted = {
        "track": ([entry.track_id], Entity(TRACK, entry.track_id)),
        "album": (list(album.track_ids), Entity(ALBUM, album.album_id)),
        "artist": (list(artist.track_ids), Entity(ARTIST, artist.artist_id)),
    }

    def chart(tracks: list[int], entity: Entity, timeframe: str) -> Read:
        async def read(way: Reads) -> Any:
            buckets = chart_buckets(timeframe, datetime.now(UTC))
            return await chart_body(store, tracks, buckets, way.charts, entity, way.past)

        return read

    def first_ask(listed: Any, entity: Entity, top: int | None) -> Read:
        async def read(_: Reads) -> Any:
            fresh = Reads(store, AnswerMemo(None))  # nothing learnt
            bounds = period_bounds("30-days", datetime.now(UTC))
            figures, per_track = await fresh.group_figures(listed.track_ids, bounds, entity, top)
            return figure_fields(figures), ranked_tracks(listed.tracks, per_track, top)

        return read

    async def hot_first_ask(_: Reads) -> Any:
        fresh = Reads(store, AnswerMemo(None))
        return figure_fields(await fresh.figures(entry.track_id, period_bounds("30-days", datetime.now(UTC))))

    return {
        **{
            f"{kind} chart {timeframe}": chart(tracks, entity, timeframe)
            for kind, (tracks, entity) in charted.items()
            for timeframe in TIMEFRAMES
        },
        "first ask: track analytics (hot)": hot_first_ask,
        "first ask: album analytics": first_ask(album, Entity(ALBUM, album.album_id), None),
        "first ask: artist analytics": first_ask(artist, Entity(ARTIST, artist.artist_id), TOP_TRACKS),
    }


async def run(path: str, repeat: int) -> dict[str, Any]:
    store = Store(f"chdb://{path}/clickhouse")
    await warm_windows(store)
    ways = {way: Reads(store, AnswerMemo(None)) for way in WAYS}
    timed: dict[tuple[str, str], list[tuple[float, float]]] = {}
    answers: dict[str, Any] = {}
    for n in range(repeat + WARM_UP):
        for name, read in (await reads(store)).items():
            for way in WAYS if n % 2 == 0 else WAYS[::-1]:
                before(way == "before")
                wall, cpu = time.perf_counter(), time.process_time()
                answer = await read(ways[way])
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                await keeping_done()
                assert answers.setdefault(name, answer) == answer, f"{name}: the answers differ"
                if n >= WARM_UP:
                    timed.setdefault((name, way), []).append((wall * 1000, cpu * 1000))
    before(False)
    store.close()
    figures: dict[str, Any] = {}
    for (name, way), values in timed.items():
        figures.setdefault(name, {})[way] = {
            "median_ms": round(statistics.median(w for w, _ in values), 2),
            "cpu_median_ms": round(statistics.median(c for _, c in values), 2),
        }
    for found in figures.values():
        for key in ("median_ms", "cpu_median_ms"):
            found[f"served/before {key}"] = round(found["served"][key] / found["before"][key], 3)
    return {"store": path, "repeat": repeat, "reads": figures}


if __name__ == "__main__":
    on_kept_store("read-order", __doc__, run, 30)
