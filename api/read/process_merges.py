"""A read's listener merges made in the API's process, from the states' bytes, rather than in the engine.

A popular entity asked again merges its kept windows (a dense sketch each, or an exact set) with its
tracks' rows of today. In the engine that is one statement whose planning alone is a dozen
milliseconds, and which copies every window from memory and merges each state again at every ask. Here
a window is read once (by its key and build, which no later build changes) and held parsed; the rows a
merge needs besides (its tracks' days, its blocks, its tracks' all-time rows) are read as they are, each
once for all the asks it serves, by one statement with no aggregation; and the unions are made and
counted as the engine would (api/read/sketches.py), to the listener. The few unions whose estimate the
engine corrects by a table of its own are counted by the engine, from their registers' ranks.

A merge here gives the rows the engine's merge gives (api/read/listener_blocks.py, `_MERGE`): each ask
with a row read, its listeners, how many windows it read, and the places (blocks and windows) it read
with their sums, so a merge run ahead is judged the same way and a window gone is found the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from api.http.recent import Recent
from api.read import sketches
from insights.store import Store

Merged = list[tuple[Any, ...]]  # (ask, listeners, windows read, [(place, plays, fingerprint), ...])
WindowBuild = tuple[int, int, date, date, int, int]  # kind, entity, first, last, exact, built (µs)

# The windows of a read not held yet: their rows' small values, and their states looked up by key (a
# read of the `Join` table would copy every state it holds); with the build of the state looked up, as
# a window rebuilt between the two reads is merged as rebuilt but not held for the build read.
WINDOWS_SQL = """
SELECT kind, entity_id, first, last, exact, toUnixTimestamp64Micro(built_at), plays, fingerprint, listeners,
    CAST(joinGet('kept_windows', 'sketch', kind, entity_id, first, last, exact) AS String),
    CAST(joinGet('kept_windows', 'state', kind, entity_id, first, last, exact) AS String),
    toUnixTimestamp64Micro(joinGet('kept_windows', 'built_at', kind, entity_id, first, last, exact))
FROM kept_windows
WHERE entity_id IN {window_entities:Array(UInt64)}
    AND (kind, entity_id, first, last, exact, toUnixTimestamp64Micro(built_at))
        IN {windows:Array(Tuple(UInt8, UInt64, Date, Date, UInt8, Int64))}"""
# The other places' rows, as they are: (part, id, kind, grain, day, plays, fingerprint, state). Keyed,
# like the engine's merge, by the parameter that lists what each part reads. The tracks' days are read
# by track and range, and by pair only where the pairs are not every track's every day of the range
# (today's rows of a group's tracks are: the pairs' filter costs a millisecond).
_OWN = """
SELECT PART AS rows_part, track_id AS id, 0 AS kind, 0 AS grain, day, toUInt64(0) AS plays,
    toUInt64(0) AS fingerprint, CAST(COLUMN AS String) AS state
FROM track_daily
PREWHERE track_id IN {OWN_tracks:Array(UInt64)} AND day >= {OWN_first:Date} AND day <= {OWN_last:Date}"""
_PAIRS = "\n    AND (track_id, day) IN {OWN:Array(Tuple(UInt64, Date))}"
OWN, EXACT_OWN, BLOCKS, TOTALS = 1, 2, 3, 4
_DAYS = {
    name: {
        pairs: (_OWN + (_PAIRS if pairs else ""))
        .replace("OWN", name)
        .replace("PART", str(part))
        .replace("COLUMN", column)
        for pairs in (False, True)
    }
    for name, part, column in (("own", OWN, "listeners_sketch"), ("exact_own", EXACT_OWN, "listeners"))
}
_PARTS = {
    "keys": f"""
SELECT {BLOCKS}, entity_id, kind, grain, start, plays, fingerprint, CAST(listeners AS String)
FROM listener_blocks
PREWHERE entity_id IN {{entities:Array(UInt64)}}
    AND (kind, entity_id, grain, start) IN {{keys:Array(Tuple(UInt8, UInt64, UInt8, Date))}}""",
    "total_tracks": f"""
SELECT {TOTALS}, track_id, 0, 0, toDate(0), 0, 0, CAST(listeners_sketch AS String)
FROM track_totals
WHERE track_id IN {{total_tracks:Array(UInt64)}}""",
}


def _every_pair(parameters: dict[str, Any], name: str) -> bool:
    """Whether the pairs `name` lists are every one of its tracks' every day of its range."""
    days = (parameters[f"{name}_last"] - parameters[f"{name}_first"]).days + 1
    return len(parameters[name]) == len(parameters[f"{name}_tracks"]) * days


def rows_statement(parameters: dict[str, Any]) -> str | None:
    """The statement reading the rows the parameters list besides windows (None if they list none)."""
    parts = [days[not _every_pair(parameters, name)] for name, days in _DAYS.items() if parameters[name]]
    parts += [sql for key, sql in _PARTS.items() if parameters[key]]
    return "\nUNION ALL".join(parts) if parts else None


@dataclass(frozen=True, slots=True)
class Window:
    """A window's row, parsed: its sums, its count kept, and its state (a sketch, or an exact set)."""

    plays: int
    fingerprint: int
    listeners: int
    sketch: sketches.Sketch | None
    exact: sketches.ExactSet | None

    @property
    def nbytes(self) -> int:
        held = self.exact if self.exact is not None else self.sketch
        return 64 + (0 if held is None else held.nbytes)


@dataclass
class _Union:
    """What an ask merges: its states (sketches, or an exact ask's sets) and what it read."""

    exact: bool = False
    windows: int = 0
    kept: int = 0  # listeners counted already (a closed ask's window)
    places: list[tuple[int, int, int]] = field(default_factory=list)
    states: list[sketches.Sketch] = field(default_factory=list)
    held: sketches.ExactSet | None = None  # an exact window's set
    keys: list[sketches.Keys] = field(default_factory=list)

    def count(self) -> int | sketches.Ranks:
        """The listeners of the union (but those counted already, `kept`), or the ranks of registers
        whose estimate the engine must give."""
        if self.exact:
            if self.held is not None:
                return self.held.union_count(self.keys)
            return len(sketches.distinct(np.concatenate(self.keys))) if self.keys else 0
        return sketches.count(self.union())

    def union(self) -> sketches.Sketch:
        return sketches.union(self.states)


# The windows held parsed: 128 MB at most (a dense sketch 128 kB unpacked, an exact set 16 bytes a
# listener), the least recently used dropped first.
HELD_BYTES = 128 << 20
ESTIMATES_KEPT = 4096


class ProcessMerges:
    """Merges of plans (listener_blocks.Plan's parameters) made in the process, windows held parsed."""

    def __init__(self, held_bytes: int = HELD_BYTES) -> None:
        self._windows: Recent[WindowBuild, Window] = Recent(held_bytes, lambda key, window: window.nbytes)
        self._estimates: Recent[sketches.Ranks, int] = Recent(ESTIMATES_KEPT)

    async def run(self, store: Store, parameters: dict[str, Any]) -> Merged:
        """The merge's rows, from what `parameters` list."""
        builds = [tuple(build) for build in parameters["windows"]]
        missing = [build for build in builds if self._windows.get(build) is None]
        rows_sql = rows_statement(parameters)
        fetched, rows = await asyncio.gather(
            self._fetch(store, missing),
            store.aquery_rows(rows_sql, parameters, binary=True) if rows_sql else _none(),
        )
        windows = {build: self._windows.peek(build) or fetched.get(build) for build in builds}
        unions, counted = await asyncio.to_thread(_counted, parameters, windows, rows)
        counts = await self._estimated(store, counted)
        return [(i, union.kept + counts[i], union.windows, union.places) for i, union in unions.items()]

    async def _estimated(self, store: Store, counts: dict[int, int | sketches.Ranks]) -> dict[int, int]:
        """The counts, the ranks among them counted by the engine; its estimates are kept for the next
        unions (while a group's tracks have no new play, most of its unions are the same)."""
        known = {n: self._estimates.get(n) for n in counts.values() if isinstance(n, tuple)}
        unknown = [ranks for ranks, n in known.items() if n is None]
        if unknown:
            ((estimates,),) = await store.aquery_rows(
                sketches.ESTIMATES_SQL, sketches.estimates_parameters(unknown)
            )
            for ranks, n in zip(unknown, estimates, strict=True):
                known[ranks] = int(n)
                self._estimates.put(ranks, int(n))
        return {i: n if isinstance(n, int) else known[n] or 0 for i, n in counts.items()}

    async def _fetch(self, store: Store, missing: Sequence[WindowBuild]) -> dict[WindowBuild, Window]:
        """The missing windows still kept, held for the next reads (those found as built)."""
        if not missing:
            return {}
        parameters = {"windows": list(missing), "window_entities": sorted({build[1] for build in missing})}
        rows = await store.aquery_rows(WINDOWS_SQL, parameters, binary=True)
        found = await asyncio.to_thread(_parsed, rows)  # an exact set is sorted: milliseconds
        for build, (window, as_built) in found.items():
            if as_built:
                self._windows.put(build, window)
        return {build: window for build, (window, _) in found.items()}


def _parsed(rows: Sequence[Sequence[Any]]) -> dict[WindowBuild, tuple[Window, bool]]:
    """Each window's row parsed, and whether its state is of the build its row was read as."""
    found: dict[WindowBuild, tuple[Window, bool]] = {}
    for *key, built, plays, fingerprint, listeners, sketch, state, state_built in rows:
        exact = bool(key[4])
        window = Window(
            int(plays),
            int(fingerprint),
            int(listeners),
            None if exact else sketches.parse(sketch),
            sketches.ExactSet.of(sketches.parse_exact(state)) if exact else None,
        )
        found[(*key, int(built))] = window, int(state_built) == int(built)
    return found


async def _none() -> list[tuple[Any, ...]]:
    return []


def _counted(
    parameters: dict[str, Any], windows: dict[Any, Window | None], rows: Sequence[Sequence[Any]]
) -> tuple[dict[int, _Union], dict[int, int | sketches.Ranks]]:
    unions = _unions(parameters, windows, rows)
    return unions, {i: union.count() for i, union in unions.items()}


def _unions(
    parameters: dict[str, Any], windows: dict[Any, Window | None], rows: Sequence[Sequence[Any]]
) -> dict[int, _Union]:
    """Each ask's union, of the asks with something read (as the engine's merge gives a row only for
    an ask with a row read)."""
    unions: dict[int, _Union] = {}
    counted = set(parameters["counted_asks"])
    for n, (build, ask_ids) in enumerate(
        zip(parameters["windows"], parameters["window_asks"], strict=True), 1
    ):
        window = windows.get(tuple(build))
        if window is None:  # gone from memory since its sums were read
            continue
        for i in ask_ids:
            union = unions.setdefault(i, _Union())
            union.windows += 1
            union.places.append((-n, window.plays, window.fingerprint))
            union.exact = union.exact or window.exact is not None
            if i in counted and window.listeners:
                union.kept += window.listeners
            elif window.exact is not None:
                union.held = window.exact
            elif window.sketch is not None:
                union.states.append(window.sketch)
    own = {
        OWN: dict(zip(map(tuple, parameters["own"]), parameters["own_asks"], strict=True)),
        EXACT_OWN: dict(zip(map(tuple, parameters["exact_own"]), parameters["exact_own_asks"], strict=True)),
    }
    blocks = {
        tuple(key): (n, ask_ids)
        for n, (key, ask_ids) in enumerate(zip(parameters["keys"], parameters["key_asks"], strict=True), 1)
    }
    totals = dict(zip(parameters["total_tracks"], parameters["total_asks"], strict=True))
    for part, entity, kind, grain, day, plays, fingerprint, state in rows:
        if part == EXACT_OWN:
            keys = sketches.parse_exact(state)
            for i in own[EXACT_OWN].get((int(entity), day), ()):
                union = unions.setdefault(i, _Union())
                union.exact = True
                union.keys.append(keys)
            continue
        sketch = sketches.parse(state)
        if part == OWN:
            ask_ids = own[OWN].get((int(entity), day), ())
        elif part == BLOCKS:
            n, ask_ids = blocks[int(kind), int(entity), int(grain), day]
            for i in ask_ids:
                unions.setdefault(i, _Union()).places.append((n, int(plays), int(fingerprint)))
        else:
            ask_ids = totals.get(int(entity), ())
        for i in ask_ids:
            unions.setdefault(i, _Union()).states.append(sketch)
    return unions
