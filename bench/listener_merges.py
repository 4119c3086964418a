"""The shape of a popular entity's listener merge, against the shapes it replaced: the hot track's, its
album's and its artist's computed 30-day analytics, read five ways in one process, alternating call by
call so the machine's drift falls on each:

- `served`: as the API reads them (the previous period's listeners from the count kept with its
  window; a merge of few rows besides its windows made in the process, the windows held parsed);
- `by the engine`: every merge made by the engine, the sketched and the exact asks in one statement, as
  before merges were made in the process;
- `previous merged`: the previous period merged from its window and its last day, as before windows
  were counted;
- `two merges`: by the engine, the exact asks merged in a statement of their own, beside the sketched
  ones', as before they were one (each the statement as written now, with only its own parts);
- `blocks after windows`: a group's all time read from its all-time block and its today from its day
  block, as before all time was kept as a window and today read from the tracks' rows (so its merge
  reads the blocks' table).

Runs on a store `bench/read_latency.py --stores DIR` built and kept (the windows every way needs are
built during the warm-up; how many each way built while timed is reported, `built_while_timed`). Each
call is timed wall and CPU (the process's: the engine's threads are in it); the answers of every way
are checked equal.

Rerun: `PYTHONPATH=. .venv/bin/python bench/listener_merges.py --store DIR/100000000-events-10000-tracks
[--repeat 40]`. Prints the medians and each way's ratio to `served`; the JSON lands in
bench/results/listener-merges-<timestamp>.json.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from api.read import analytics_queries, listener_blocks
from api.read.analytics_routes import TOP_TRACKS, Reads
from api.read.catalog_snapshot import Catalog
from api.read.changes import AnswerMemo
from api.read.figure_bodies import figure_fields, ranked_tracks
from api.read.listener_blocks import (
    ALBUM,
    ARTIST,
    Ask,
    Entity,
    Merged,
    Plan,
    warm_windows,
)
from bench.reporting import alternated, on_kept_store, ways_compared
from insights.store import Store
from schemas.periods import period_bounds

BLOCKS = "blocks after windows"
ENGINE = "by the engine"
WAYS = ("served", ENGINE, "previous merged", "two merges", BLOCKS)
way = {"now": "served"}
served_run = listener_blocks._run


built: Counter[str] = Counter()  # windows built while timed, by way
served_build = listener_blocks._build_one


async def counted_build(store: Store, ask: Ask, sums: Any) -> bool:
    """A window built, counted against the way that asked for it (its build runs before the next call)."""
    built[way["now"]] += 1
    return await served_build(store, ask, sums)


def ask(*args: Any, closed: bool = False, **others: Any) -> Ask:
    """Ask as the handlers build it, closed but when the previous period is merged, and all time
    without its window (no last day named) when read from its block."""
    made = Ask(*args, closed=closed and way["now"] != "previous merged", **others)
    return replace(made, last=None) if made.first is None and way["now"] == BLOCKS else made


def _apart(parameters: dict[str, Any], exact: bool) -> tuple[dict[str, Any], list[int]]:
    """The parameters of the merge of the exact asks or of the others alone, and the place in the
    whole plan's windows of each of their windows."""
    places = [n for n, key in enumerate(parameters["windows"], 1) if key[4] == int(exact)]
    windows = {
        "windows": [parameters["windows"][n - 1] for n in places],
        "window_asks": [parameters["window_asks"][n - 1] for n in places],
    }
    windows["window_entities"] = sorted({key[1] for key in windows["windows"]})
    emptied = ("own", "keys", "key_asks", "total_tracks") if exact else ("exact_own",)
    return parameters | windows | {key: [] for key in emptied}, places


async def two_merges(store: Store, plan: Plan) -> Merged:
    """The plan merged as before: the exact asks in a statement of their own, beside the others'."""
    if way["now"] != "two merges":
        return await served_run(store, plan)
    parts = [_apart(plan.parameters, exact) for exact in (False, True)]
    found = await asyncio.gather(*(served_run(store, plan._replace(parameters=p)) for p, _ in parts))
    rows = []
    for (_, places), part in zip(parts, found, strict=True):
        for ask_id, listeners, windows, read in part:  # a window named by its place in the whole plan
            read = [(-places[-place - 1] if place < 0 else place, *sums) for place, *sums in read]
            rows.append((ask_id, listeners, windows, read))
    return rows


async def popular(store: Store) -> tuple[Any, Any, Any]:
    """The catalog's entries of the hottest track, its album and its first artist."""
    rows = store.query_rows(
        "SELECT track_id FROM track_totals GROUP BY track_id ORDER BY sum(plays) DESC LIMIT 1"
    )
    catalog = Catalog(store)
    entry = await catalog.track(int(rows[0][0]))
    assert entry is not None and entry.album_id is not None
    album, artist = await catalog.album(entry.album_id), await catalog.artist(entry.artist_ids[0])
    assert album is not None and artist is not None
    return entry, album, artist


async def cases(store: Store) -> dict[str, Callable[[Reads], Awaitable[Any]]]:
    """The hottest track, its album and its first artist, each read through a given `Reads`."""
    entry, album, artist = await popular(store)
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
    listener_blocks._run = two_merges
    listener_blocks._build_one = counted_build
    reads = {how: Reads(store, AnswerMemo(None)) for how in WAYS}
    today_from_tracks, process_rows = listener_blocks.TODAY_FROM_TRACKS, listener_blocks.PROCESS_ROWS
    kept = {"windows": 0}

    @contextmanager
    def reading(how: str) -> Iterator[Reads]:
        way["now"] = how
        listener_blocks.TODAY_FROM_TRACKS = 0 if how == BLOCKS else today_from_tracks
        listener_blocks.PROCESS_ROWS = -1 if how in (ENGINE, "two merges") else process_rows
        yield reads[how]

    def timing() -> None:
        kept["windows"] = int(store.query_rows("SELECT count() FROM kept_windows")[0][0])
        built.clear()

    # 5 warm-up rounds: every way's windows built and their plans known
    ways = {how: partial(reading, how) for how in WAYS}
    timed = await alternated(await cases(store), ways, repeat, 5, timing=timing)
    store.close()
    figures = ways_compared(timed, "served", WAYS[1:])
    return {
        "store": path,
        "repeat": repeat,
        "kept_windows": kept["windows"],
        "built_while_timed": dict(built),
        "cases": figures,
    }


if __name__ == "__main__":
    on_kept_store("listener-merges", __doc__, run, 40)
