"""Listeners of a popular entity from a few large sketches rather than one per track and day.

The worker keeps, beside the per-track rollups, one listener sketch per entity (a track, an album, an
artist) and calendar block: a UTC day, an ISO week, a calendar month, and all time
(`listener_blocks`, schemas/clickhouse/016_listener_blocks.sql). A range of days is read as the fewest
whole blocks that tile it, so an artist's year merges about thirty sketches, not one per track and day.

A block is used only if it still holds exactly the plays of the entity's tracks now: its sum of plays
and its fingerprint (the sum over its plays of a hash of the track played) must equal those of the
tracks' own rows over the same days. That is true of every block the worker built while the entity
had the tracks the catalog gives it now, and false, bar a 64-bit hash collision, of a block built
under other tracks (a track moved to another album or artist), or not yet caught up with them (a
flush's rollups land one by one). The days of a block that fails are read from the tracks' own day
sketches instead, so an answer is the same either way, only slower.

Blocks are sketches: they serve only figures the rule allows to be estimates (Audiences: past
100,000). A reader also keeps windows (`kept_windows`, in memory): the days of a range but its last,
as one sketch, or as one exact state for a figure counted exactly, checked the same way; a period asked
again that day merges its window with today only (a group's all time too: its all-time block, kept with
the sums of the days before today), and a range that is over (a previous period) is one window whose
listeners were counted as it was built, so it merges nothing. Under live ingest, the sums
of the days before today are kept while no change notice names an earlier day of their tracks
(api/read/past_rows.py).
"""

from __future__ import annotations

import asyncio
import bisect
import calendar
import functools
import logging
import weakref
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from api.http.recent import Recent
from api.read.past_rows import PastRows
from api.read.process_merges import Merged, ProcessMerges
from insights.metrics import FORESEEN
from insights.store import Store

log = logging.getLogger(__name__)

# The `kind` and `grain` columns of listener_blocks (UInt8).
TRACK, ALBUM, ARTIST = 1, 2, 3
DAY, WEEK, MONTH, ALL = 1, 2, 3, 4
ALL_TIME = date(1970, 1, 1)  # the start of every all-time block


class Entity(NamedTuple):
    """Whose listeners: a kind (TRACK, ALBUM, ARTIST) and its id."""

    kind: int
    entity_id: int


class Block(NamedTuple):
    grain: int
    start: date
    last: date  # inclusive


def _month_last(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _weeks_and_days(first: date, last: date) -> list[Block]:
    """[first, last] as its whole ISO weeks (Monday to Sunday), and the days outside them."""
    blocks = []
    day = first
    while day <= last:
        sunday = day + timedelta(days=6)
        if day.weekday() == 0 and sunday <= last:
            blocks.append(Block(WEEK, day, sunday))
            day = sunday + timedelta(days=1)
        else:
            blocks.append(Block(DAY, day, day))
            day += timedelta(days=1)
    return blocks


def _with_months(first: date, last: date) -> list[Block]:
    """[first, last] as its whole calendar months, and the weeks and days of the rest."""
    blocks: list[Block] = []
    day = first
    while day <= last:
        month_last = _month_last(day)
        if day.day == 1 and month_last <= last:
            blocks.append(Block(MONTH, day, month_last))
        else:
            blocks.extend(_weeks_and_days(day, min(month_last, last)))
        day = month_last + timedelta(days=1)
    return blocks


def tiling(first: date, last: date) -> list[Block]:
    """The fewest blocks found that tile [first, last] exactly: whole weeks and days, or whole months
    with the weeks and days of the rest, whichever is fewer."""
    return list(_tiling(first, last))


@functools.lru_cache(maxsize=4096)  # an answer tiles its ranges several times, and pollers ask the same
def _tiling(first: date, last: date) -> tuple[Block, ...]:
    if last < first:
        return ()
    fewest = min(_weeks_and_days(first, last), _with_months(first, last), key=len)
    return tuple(fewest)


@dataclass(frozen=True)
class Ask:
    """An entity's listeners over [first, last] (UTC days), or all time if `first` is None (to now;
    `last` then names today, if known: the day its window leaves to the tracks' rows); `tracks` are
    the entity's tracks in the catalog now. `exact`: counted exactly (a track of a group not known to
    be past the mark), from its days' exact states or an exact window. `closed`: the range is over (a
    previous period: none of its days is today's), so it is kept whole as one window."""

    entity: Entity
    tracks: tuple[int, ...]
    first: date | None = None
    last: date | None = None
    exact: bool = False
    closed: bool = False

    @property
    def window(self) -> tuple[date, date] | None:
        """The days worth keeping as one window, when that is 2 days or more: the range less its last
        day (today's, in a period to today), or the whole range if closed. All time's is all but
        `last` (ALL_TIME to the day before), if `last` is known."""
        if self.last is None:
            return None
        if self.first is None:
            return ALL_TIME, self.last - timedelta(days=1)
        last = self.last if self.closed else self.last - timedelta(days=1)
        return (self.first, last) if (last - self.first).days >= 1 else None

    def tiles(self) -> tuple[list[Block], list[Block], list[date]]:
        """The blocks of the window (the whole range without one), the blocks after it, and the days
        left to the tracks' own day rows: a track's days are its day rows, so its blocks are the
        weeks and months only; an exact ask reads days only. All time is one block, which holds
        `last` too: its day block serves only after its window (_plan)."""
        if self.first is None or self.last is None:
            tail = [] if self.last is None else [Block(DAY, self.last, self.last)]
            return [Block(ALL, ALL_TIME, ALL_TIME)], tail, []
        window = self.window
        head = tiling(*window) if window else tiling(self.first, self.last)
        tail = [Block(DAY, self.last, self.last)] if window and window[1] < self.last else []
        if self.exact:
            return [], [], [day for b in head + tail for day in _days(b)]
        if self.entity.kind != TRACK:
            return head, tail, []
        days = [b.start for b in head + tail if b.grain == DAY]
        return [b for b in head if b.grain != DAY], [b for b in tail if b.grain != DAY], days

    def blocks(self) -> tuple[list[Block], list[date]]:
        """Every stored block of the range, and the days left to the tracks' own day rows."""
        head, tail, days = self.tiles()
        return head + tail, days


@functools.lru_cache(maxsize=4096)
def _days(block: Block) -> tuple[date, ...]:
    return tuple(block.start + timedelta(days=n) for n in range((block.last - block.start).days + 1))


# The sums every ask's blocks and windows are judged by, in one statement: each track's plays and
# fingerprint per block of the asked days (source 0; a day outside every week and month block is its
# own block; with its other counters, which make the figures of a set whose listeners all come from
# blocks) and all time (2), each asked block's own (1), and each asked window's own (3). Each part
# is keyed by the parameter that lists what it reads: a statement has only the parts with something to
# read (a part reading nothing still costs about 3 ms of index analysis on chDB).
_SUMS_PARTS = {
    "day_tracks": """
SELECT 0, track_id, 0, 0,
    multiIf(has({months:Array(Date)}, toStartOfMonth(day)), toStartOfMonth(day),
            has({weeks:Array(Date)}, toMonday(day)), toMonday(day), day) AS block,
    toDate(0), sum(plays), sum(cityHash64(track_id) * plays), toInt64(0),
    sum(likes) AS likes, sum(reposts) AS reposts, sum(qualified_plays) AS qualified,
    sum(listened_total_ms) AS listened, sum(timed_plays) AS timed
FROM track_daily
WHERE track_id IN {day_tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}
GROUP BY track_id, block""",
    "keys": """
SELECT 1, entity_id, kind, grain, start, toDate(0), sum(plays), sum(fingerprint), 0, NO_COUNTERS
FROM listener_blocks
WHERE entity_id IN {entities:Array(UInt64)}
  AND (kind, entity_id, grain, start) IN {keys:Array(Tuple(UInt8, UInt64, UInt8, Date))}
GROUP BY kind, entity_id, grain, start""",
    "total_tracks": """
SELECT 2, track_id, 0, 0, toDate(0), toDate(0), sum(plays), sum(cityHash64(track_id) * plays), 0,
    NO_COUNTERS
FROM track_totals
WHERE track_id IN {total_tracks:Array(UInt64)}
GROUP BY track_id""",
    "windows": """
SELECT 3, entity_id, kind, exact, first, last, argMax(plays, built_at), argMax(fingerprint, built_at),
    max(toUnixTimestamp64Micro(built_at)), NO_COUNTERS
FROM kept_windows
WHERE entity_id IN {window_entities:Array(UInt64)}
  AND (kind, entity_id, first, last, exact) IN {windows:Array(Tuple(UInt8, UInt64, Date, Date, UInt8))}
GROUP BY kind, entity_id, first, last, exact""",
    # A track's all-time plays and listeners (its all-time sketch's estimate, in the fingerprint's place),
    # for an answer that would otherwise read them in a statement of its own (source 4).
    "listened_tracks": """
SELECT 4, track_id, 0, 0, toDate(0), toDate(0), sum(plays), uniqCombined64Merge(17)(listeners_sketch), 0,
    NO_COUNTERS
FROM track_totals
WHERE track_id IN {listened_tracks:Array(UInt64)}
GROUP BY track_id""",
}
# Parts other than the tracks' rows have no counters (named: a statement's columns need distinct names).
_NO_COUNTERS = "0 AS likes, 0 AS reposts, 0 AS qualified, 0 AS listened, 0 AS timed"
_SUMS_PARTS = {key: sql.replace("NO_COUNTERS", _NO_COUNTERS) for key, sql in _SUMS_PARTS.items()}
# The parts of the merge below: each row read as (ask, value), `value` a sketch and `exact_value` an
# exact state, of which an ask merges one (`exact`: an exact ask's rows only are exact); the other is
# empty. A row read for several asks (a track's day in its own ask and its album's) is merged into
# each. Keyed, like the sums', by the parameter that lists what each reads.
# A window rebuilt is a new row (BUILD_SQL below): the one read is the one its sums were read of (the
# newest then), by its key and build time (`built`, microseconds), rather than the newest found by a
# second read of the table; if it is gone since, the merge says so (it counts the windows it read).
# The window of a closed ask (`counted_asks`) is the ask's whole range: its listeners are the count
# kept with it (`count_kept`), and its state is not merged. A count of 0 is merged instead: a window
# built before windows were counted (whose merge gives its listeners), or one with no listener (0 too).
# The states are looked up by key (`joinGet`) for the rows found only: a read of the `Join` table
# copies each value of every row it holds before any filter, and a state is costly to copy (a dense
# sketch about 100 kB and a millisecond), so a merge read with 200 other windows kept took 2.5 to 5
# times as long (BENCHMARKS.md, `kept_windows.py`). A window rebuilt between the read of its row and the
# lookup is merged as rebuilt: the same days, with what the rebuild found late.
_WINDOWS = """
    SELECT arrayJoin({window_asks:Array(Array(UInt32))}[(indexOf(
        {windows:Array(Tuple(UInt8, UInt64, Date, Date, UInt8, Int64))},
        (kind, entity_id, first, last, exact, toUnixTimestamp64Micro(built_at))) AS window_index)])
        AS ask, joinGet('kept_windows', 'sketch', kind, entity_id, first, last, exact) AS value,
        joinGet('kept_windows', 'state', kind, entity_id, first, last, exact) AS exact_value, exact,
        1 AS windows,
        -toInt64(window_index) AS place, plays AS place_plays, fingerprint AS place_fingerprint,
        if(has({counted_asks:Array(UInt32)}, ask), listeners, 0) AS count_kept
    FROM kept_windows
    WHERE entity_id IN {window_entities:Array(UInt64)}
        AND (kind, entity_id, first, last, exact, toUnixTimestamp64Micro(built_at))
            IN {windows:Array(Tuple(UInt8, UInt64, Date, Date, UInt8, Int64))}"""
# The tracks' own days: of the sketched asks (`own`), and of the exact ones (`exact_own`).
_OWN_DAYS = """
    SELECT arrayJoin({OWN_asks:Array(Array(UInt32))}[
        indexOf({OWN:Array(Tuple(UInt64, Date))}, (track_id, day))]) AS ask, VALUES, 0 AS windows,
        NO_PLACE
    FROM track_daily
    PREWHERE track_id IN {OWN_tracks:Array(UInt64)} AND day >= {OWN_first:Date} AND day <= {OWN_last:Date}
        AND (track_id, day) IN {OWN:Array(Tuple(UInt64, Date))}"""
_BLOCKS = """
    SELECT arrayJoin({key_asks:Array(Array(UInt32))}[(indexOf(
        {keys:Array(Tuple(UInt8, UInt64, UInt8, Date))}, (kind, entity_id, grain, start)) AS key_index)])
        AS ask, listeners AS value, NO_SET, 0 AS exact, 0 AS windows,
        toInt64(key_index) AS place, plays AS place_plays, fingerprint AS place_fingerprint, NOT_COUNTED
    FROM listener_blocks
    PREWHERE entity_id IN {entities:Array(UInt64)}
        AND (kind, entity_id, grain, start) IN {keys:Array(Tuple(UInt8, UInt64, UInt8, Date))}"""
_TOTALS = """
    SELECT arrayJoin({total_asks:Array(Array(UInt32))}[indexOf({total_tracks:Array(UInt64)}, track_id)])
        AS ask, listeners_sketch AS value, NO_SET, 0 AS exact, 0 AS windows, NO_PLACE
    FROM track_totals
    WHERE track_id IN {total_tracks:Array(UInt64)}"""
# Each row read from a block or a window also names it (a block by its place in `keys`, a window by
# minus its place in `windows`: the index that finds its asks), with its sums: a merge run ahead is
# judged by the very rows it merged (Ahead.checked). The tracks' own rows name none: they are what
# blocks and windows are judged by. Only a window may be counted already.
_NOT_COUNTED = "toUInt64(0) AS count_kept"
_NO_PLACE = (
    "toInt64(0) AS place, toUInt64(0) AS place_plays, toUInt64(0) AS place_fingerprint, " + _NOT_COUNTED
)
_NO_SET = "arrayReduce('uniqExactState', emptyArrayString()) AS exact_value"  # a constant, empty
_NO_SKETCH = "arrayReduce('uniqCombined64State(17)', emptyArrayString()) AS value"
_OWN_DAYS, _TOTALS = (part.replace("NO_PLACE", _NO_PLACE) for part in (_OWN_DAYS, _TOTALS))
_BLOCKS = _BLOCKS.replace("NO_SET", _NO_SET).replace("NOT_COUNTED", _NOT_COUNTED)
_TOTALS = _TOTALS.replace("NO_SET", _NO_SET)

# Each ask's listeners, in one statement: an exact ask's from its sound exact window and its tracks'
# other days' exact states; another's from the sketches of its sound window or else its sound blocks,
# of its tracks' days that neither holds, and (all time, without a sound block) of its tracks'
# all-time rows.
_MERGE_PARTS = {
    "windows": _WINDOWS,
    "keys": _BLOCKS,
    "own": _OWN_DAYS.replace("OWN", "own").replace(
        "VALUES", f"listeners_sketch AS value, {_NO_SET}, 0 AS exact"
    ),
    "exact_own": _OWN_DAYS.replace("OWN", "exact_own").replace(
        "VALUES", f"{_NO_SKETCH}, listeners AS exact_value, 1 AS exact"
    ),
    "total_tracks": _TOTALS,
}
_MERGE = """SELECT ask,
    if(max(exact) = 1, uniqExactMergeIf(exact_value, count_kept = 0),
        uniqCombined64MergeIf(17)(value, count_kept = 0)) + sum(count_kept),
    sum(windows), groupArrayIf((place, place_plays, place_fingerprint), place != 0)
FROM (PARTS
)
GROUP BY ask"""


def _present(parts: dict[str, str], parameters: dict[str, Any]) -> tuple[str, ...]:
    """The parts whose parameter lists something to read."""
    return tuple(sql for key, sql in parts.items() if parameters[key])


@functools.cache
def _union(parts: tuple[str, ...]) -> str:
    return "\nUNION ALL".join(parts)


def merge_statement(parameters: dict[str, Any]) -> str | None:
    """The statement merging what `parameters` list (None if they list nothing)."""
    parts = _present(_MERGE_PARTS, parameters)
    return _MERGE.replace("PARTS", _union(parts)) if parts else None


def sums_statement(parameters: dict[str, Any]) -> str | None:
    """The sums statement reading what `parameters` list (None if they list nothing)."""
    parts = _present(_SUMS_PARTS, parameters)
    return _union(parts) if parts else None


# A window kept: its days' sketch (from the sound blocks and the tracks' other days) or exact state
# (from the tracks' day states), with the sums of the very rows it was built from, and its listeners
# (the same aggregation finalised: what merging the window alone gives).
# All time's window is the all-time block (which holds the last day so far too) with the sums of the
# days before the last: the block's less the tracks' rows of the last day (modulo 2^64, as the engine
# adds UInt64). Merged with those rows again at each read, it gives the all-time block of then as long
# as no play has come for an earlier day since it was built (which makes its sums differ).
_BUILD = """
INSERT INTO listener_windows
    (kind, entity_id, first, last, exact, plays, fingerprint, sketch, state, listeners)
SELECT {kind:UInt8}, {entity:UInt64}, {first:Date}, {last:Date}, {exact:UInt8}, sum(p), sum(f), SKETCH, STATE,
    LISTENERS
FROM (
    SELECT plays AS p, fingerprint AS f, listeners AS s,
        arrayReduce('uniqExactState', emptyArrayString()) AS e
    FROM listener_blocks
    PREWHERE kind = {kind:UInt8} AND entity_id = {entity:UInt64}
        AND (grain, start) IN {keys:Array(Tuple(UInt8, Date))}
    UNION ALL
    SELECT DAY_SUMS, listeners_sketch, listeners
    FROM track_daily
    PREWHERE track_id IN {tracks:Array(UInt64)} AND DAYS
)"""
_SKETCHED = (
    _BUILD.replace("SKETCH", "uniqCombined64MergeState(17)(s)")
    .replace("STATE", "uniqExactStateIf('', 0)")
    .replace("LISTENERS", "uniqCombined64Merge(17)(s)")
)
_EXACT = (
    _BUILD.replace("SKETCH", "uniqCombined64StateIf(17)('', 0)")
    .replace("STATE", "uniqExactMergeState(e)")
    .replace("LISTENERS", "uniqExactMerge(e)")
)


def _of_days(build: str) -> str:
    """A window's build over its days: the tracks' rows of the days no sound block holds, added."""
    return build.replace("DAY_SUMS", "plays, cityHash64(track_id) * plays").replace(
        "DAYS", "day >= {first:Date} AND day <= {last:Date} AND has({days:Array(Date)}, day)"
    )


BUILD_SQL = {False: _of_days(_SKETCHED), True: _of_days(_EXACT)}
BUILD_ALL_TIME_SQL = _SKETCHED.replace(
    "DAY_SUMS", "bitNot(plays) + 1, bitNot(cityHash64(track_id) * plays) + 1"
).replace("DAYS", "day = {day:Date}")
# Reads take windows from memory (`kept_windows`, schemas/clickhouse/020_kept_windows_by_key.sql, a
# table that keeps the last row written for each window's key): a window built into `listener_windows`,
# which outlives the engine, reaches it through a materialized view, and a process that starts copies
# the newest of each window built in the last day (`warm_windows`).
_WINDOW_COLUMNS = "kind, entity_id, first, last, exact, plays, fingerprint, sketch, state, listeners"
# The memory table is kept to its newest 256 windows (at most about 4 MB each, an exact set), one row
# each: the builds of a read are followed by a rewrite of it (`_rewrite_soon`).
KEPT_WINDOWS = 256
_KEY = "(kind, entity_id, first, last, exact)"
WARM_SQL = f"""
INSERT INTO kept_windows ({_WINDOW_COLUMNS})
SELECT {_WINDOW_COLUMNS} FROM listener_windows FINAL
WHERE built_at >= now() - INTERVAL 1 DAY
ORDER BY built_at DESC
LIMIT {KEPT_WINDOWS}"""
REWRITE_SQL = f"""
ALTER TABLE kept_windows DELETE WHERE {_KEY} NOT IN (
    SELECT {_KEY} FROM kept_windows ORDER BY built_at DESC LIMIT {KEPT_WINDOWS}
)"""

_MODULUS = 1 << 64  # the fingerprints are sums of UInt64, as the engine adds them
Sums = tuple[int, int]
# A track's plays, likes, reposts, qualified plays, listened milliseconds and timed plays: the range
# figures that are sums (Figures).
Counters = tuple[int, int, int, int, int, int]
Key = tuple[int, int, int, date]
WindowKey = tuple[int, int, date, date, int]


def _plus(left: Sums, right: Sums) -> Sums:
    return left[0] + right[0], (left[1] + right[1]) % _MODULUS


def _added(left: Counters, right: Counters) -> Counters:
    return (
        left[0] + right[0],
        left[1] + right[1],
        left[2] + right[2],
        left[3] + right[3],
        left[4] + right[4],
        left[5] + right[5],
    )


def _summed(found: Iterable[Sums | None]) -> Sums | None:
    """The sum of the sums found, None if none is (run for every block and window of every ask: one
    loop, no call per row)."""
    plays = fingerprint = 0
    any_found = False
    for sums in found:
        if sums is not None:
            plays, fingerprint, any_found = plays + sums[0], fingerprint + sums[1], True
    return (plays, fingerprint % _MODULUS) if any_found else None


def _key(entity: Entity, block: Block) -> Key:
    return entity.kind, entity.entity_id, block.grain, block.start


def _window_key(ask: Ask) -> WindowKey | None:
    window = ask.window
    if window is None:
        return None
    return ask.entity.kind, ask.entity.entity_id, *window, int(ask.exact)


class BlockSums:
    """The rows of one sums statement, as the asks look them up; with `base`, added to sums parsed
    before (the kept days' of the same asks). `light`: the statement read only the tracks' own rows,
    not the sums of the blocks and windows they judge (a read whose merges ran ahead takes those from
    its merges' rows, Ahead.checked)."""

    def __init__(
        self, rows: Sequence[Sequence[Any]], base: BlockSums | None = None, light: bool = False
    ) -> None:
        self.light = light
        self.tracks: dict[tuple[int, date], Sums] = {}
        self.counters: dict[tuple[int, date], Counters] = {}  # of the same rows as `tracks`
        self.blocks: dict[Key, Sums] = {}
        self.totals: dict[int, Sums] = {}
        self.windows: dict[WindowKey, Sums] = {}
        self.built: dict[WindowKey, int] = {}  # when each window read was built (microseconds)
        self.listened: dict[int, tuple[int, int]] = {}  # a track's all-time plays and listeners
        self._starts: list[date] | None = None  # the distinct days and block starts of `tracks`, sorted
        if base is not None:
            self.absorb(base)
        for source, entity_id, kind, grain, start, last, plays, fingerprint, built, *others in rows:
            sums = (int(plays), int(fingerprint))
            if source == 0:  # a block's days may come in two statements (api/read/past_rows.py)
                row = int(entity_id), start
                known = self.tracks.get(row)
                self.tracks[row] = sums if known is None else _plus(known, sums)
                likes, reposts, qualified, listened, timed = (int(n) for n in others)
                counters = (int(plays), likes, reposts, qualified, listened, timed)
                self.counters[row] = counters if known is None else _added(self.counters[row], counters)
            elif source == 1:
                self.blocks[int(kind), int(entity_id), int(grain), start] = sums
            elif source == 2:
                self.totals[int(entity_id)] = sums
            elif source == 4:
                self.listened[int(entity_id)] = sums
            else:
                key = int(kind), int(entity_id), start, last, int(grain)
                self.windows[key], self.built[key] = sums, int(built)

    def _truth(self, ask: Ask, starts: Sequence[date]) -> Sums | None:
        rows = self.tracks
        return _summed(rows.get((track, start)) for track in ask.tracks for start in starts)

    def block_truth(self, ask: Ask, grain: int, start: date) -> Sums | None:
        """The sums of the ask's tracks' own rows over the block's days (None if they have none)."""
        if grain == ALL:
            return _summed(self.totals.get(track) for track in ask.tracks)
        return self._truth(ask, [start])

    def sound(self, ask: Ask, block: Block) -> bool:
        """Whether the block holds exactly the plays of the ask's tracks (or neither has any)."""
        return self.block_truth(ask, block.grain, block.start) == self.blocks.get(_key(ask.entity, block))

    def __len__(self) -> int:
        """Its rows: what PastRows weighs it by when keeping it."""
        return len(self.tracks) + len(self.blocks) + len(self.totals) + len(self.windows) + len(self.listened)

    def absorb(self, other: BlockSums) -> None:
        """Add the rows of another statement's sums, of other asks over the same tiling."""
        self.tracks |= other.tracks
        self.counters |= other.counters
        self.blocks |= other.blocks
        self.totals |= other.totals
        self.windows |= other.windows
        self.built |= other.built
        self.listened |= other.listened
        self._starts = None

    def plays(self, ask: Ask) -> int:
        """The plays of the ask's tracks over its days, or all time, from their own rows; of asks whose
        ranges do not overlap (a day of one is then never grouped into a block of another)."""
        if ask.first is None or ask.last is None:
            return self.total_plays(ask.tracks)
        return sum(counters[0] for counters in self.ranged(ask.tracks, ask.first, ask.last).values())

    def total_plays(self, tracks: Iterable[int]) -> int:
        """The tracks' all-time plays (read for the all-time asks)."""
        return sum(self.totals.get(track, (0, 0))[0] for track in tracks)

    def ranged(self, tracks: Iterable[int], first: date, last: date) -> dict[int, Counters]:
        """Each track's counters over [first, last], of the tracks with rows there; as `plays`, of
        ranges that no other ask's overlaps."""
        wanted, found = set(tracks), dict[int, Counters]()
        for (track, start), counters in self.counters.items():
            if track in wanted and first <= start <= last:
                known = found.get(track)
                found[track] = counters if known is None else _added(known, counters)
        return found

    def window_truth(self, ask: Ask) -> Sums | None:
        """The sums of the ask's tracks' own rows over its window's days (None if they have none): for
        all time, their all-time sums less those of its last day."""
        window = ask.window
        if window is None:
            return None
        if ask.first is None:
            total = self.block_truth(ask, ALL, ALL_TIME)
            today = self._truth(ask, [window[1] + timedelta(days=1)])
            if total is None or today is None:
                return total
            return total[0] - today[0], (total[1] - today[1]) % _MODULUS
        # The tracks' rows of the window's days, however they were grouped into blocks: a row whose
        # block reaches past the window makes the sums differ, never agree by mistake.
        if self._starts is None:
            self._starts = sorted({start for _, start in self.tracks})
        every, (first, last) = self._starts, window
        return self._truth(ask, every[bisect.bisect_left(every, first) : bisect.bisect_right(every, last)])

    def window_sound(self, ask: Ask) -> bool:
        """Whether the ask's window is kept and holds exactly the plays of its tracks' days."""
        key = _window_key(ask)
        return key is not None and key in self.windows and self.window_truth(ask) == self.windows[key]

    def window_found(self, ask: Ask) -> bool:
        """Whether the ask's window is kept: all time's is judged by the sums of now (all time's and
        today's), which the sums of the days before today kept (block_sums) do not hold."""
        return self.window_sound(ask) if ask.first is not None else _window_key(ask) in self.windows


def _dated_span(asks: Sequence[Ask]) -> tuple[date, date]:
    """The days the asks read their tracks' rows of: their ranges, and all time's last day."""
    dated = [(ask.first or ask.last, ask.last) for ask in asks if ask.last is not None]
    return min((f for f, _ in dated), default=ALL_TIME), max((last for _, last in dated), default=ALL_TIME)


def _reaches(key: Key, day: date) -> bool:
    """Whether the block of `key` holds `day` or a later one."""
    _, _, grain, start = key
    return grain == ALL or _block_last(grain, start) >= day


@functools.lru_cache(maxsize=4096)
def _block_last(grain: int, start: date) -> date:
    return {DAY: start, WEEK: start + timedelta(days=6), MONTH: _month_last(start)}[grain]


async def block_sums(
    store: Store,
    asks: Sequence[Ask],
    past: PastRows | None = None,
    light: bool = False,
    listened: Sequence[int] = (),
) -> BlockSums:
    """The sums that tell which of the asks' windows and blocks are sound, in one statement (none for
    no ask); with `past`, those of the days before the last asked are kept while unchanged, and only
    that day's and the all-time sums read at every ask. `light`: of what is read at every ask, only
    the tracks' own rows (for merges run ahead, which give the sums of what they read). `listened`:
    tracks whose all-time plays and listeners to read with them (`BlockSums.listened`)."""
    if not asks:
        return BlockSums([])
    parameters = _sums_parameters(asks) | {"listened_tracks": list(listened)}
    last = parameters["last"]
    version = past.version({t for ask in asks for t in ask.tracks}, last) if past is not None else None
    if past is None or version is None or parameters["first"] >= last:
        if light:
            parameters |= _NO_JUDGED
        return BlockSums(await _sums_rows(store, parameters), light=light)

    def reading(keys: list[Key], **changed: Any) -> dict[str, Any]:
        return parameters | changed | {"keys": keys, "entities": sorted({key[1] for key in keys})}

    keys = parameters["keys"]
    yesterday = last - timedelta(days=1)
    before = reading(
        [k for k in keys if not _reaches(k, last)], last=yesterday, total_tracks=[], listened_tracks=[]
    )
    now_keys = [] if light else [k for k in keys if _reaches(k, last)]
    now = reading(now_keys, first=last, windows=[], window_entities=[])

    async def read_kept() -> BlockSums:  # kept parsed: an ask adds today's rows to a copy
        return BlockSums(await _sums_rows(store, before))

    def sound(kept: BlockSums) -> bool:  # kept only once every window is: none is built then
        return all(kept.window_found(ask) for ask in asks if ask.window is not None)

    kept, read_now = await asyncio.gather(
        past.rows(("sums", tuple(asks)), version, read_kept, sound), _sums_rows(store, now)
    )
    return BlockSums(read_now, base=kept, light=light)


# The sums' parts of the blocks and windows an ask judges, and those of the tracks' own rows, emptied.
_NO_JUDGED: dict[str, list[Any]] = {"keys": [], "entities": [], "windows": [], "window_entities": []}
_NO_OWN: dict[str, list[Any]] = {"day_tracks": [], "total_tracks": [], "listened_tracks": []}


async def _sums_rows(store: Store, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of the sums `parameters` list: in one statement, or in two at once when they list both
    the tracks' own rows and blocks or windows to judge (a first ask's, mostly). The engine plans a
    statement on one thread, part after part, and planning is most of a first ask's sums (about 0.1 ms
    an expression, 15 to 40 µs a tuple of an array parameter): two halves are planned side by side."""
    own, judged = parameters | _NO_JUDGED, parameters | _NO_OWN
    halves = [(sql, half) for half in (own, judged) if (sql := sums_statement(half)) is not None]
    read = await asyncio.gather(*(store.aquery_rows(sql, half) for sql, half in halves))
    return [row for rows in read for row in rows]


async def _judging(store: Store, asks: Sequence[Ask], light: BlockSums) -> BlockSums:
    """Light sums with those of the asks' blocks and windows: what judges them."""
    parameters = _sums_parameters(asks) | _NO_OWN
    sql = sums_statement(parameters)
    return BlockSums(await store.aquery_rows(sql, parameters) if sql is not None else [], base=light)


def _sums_parameters(asks: Sequence[Ask]) -> dict[str, Any]:
    every = [(ask.entity, b) for ask in asks for b in ask.blocks()[0]]
    windows = [key for ask in asks if (key := _window_key(ask)) is not None]
    first, last = _dated_span(asks)
    return {
        "months": sorted({b.start for _, b in every if b.grain == MONTH}),
        "weeks": sorted({b.start for _, b in every if b.grain == WEEK}),
        "day_tracks": sorted({t for ask in asks if ask.last is not None for t in ask.tracks}),
        "first": first,
        "last": last,
        "keys": [_key(entity, b) for entity, b in every],
        "entities": sorted({entity.entity_id for entity, _ in every}),
        "total_tracks": sorted({t for ask in asks if ask.first is None for t in ask.tracks}),
        "windows": windows,
        "window_entities": sorted({key[1] for key in windows}),
        "listened_tracks": [],
    }


class _Reading:
    """What one read of several asks takes from where, as the parameters of its merge."""

    def __init__(self) -> None:
        # Each place read once, for every ask it serves (a block, a window or a day may serve several).
        self.keys: dict[Key, list[int]] = {}
        self.windows: dict[tuple[int, int, date, date, int, int], list[int]] = {}  # and built
        self.own: dict[bool, dict[tuple[int, date], list[int]]] = {False: {}, True: {}}  # by exactness
        self.totals: dict[int, list[int]] = {}
        self.counted: list[int] = []  # the asks whose listeners are their window's count
        self.whole = True  # every block read sound

    def days(self, i: int, ask: Ask, days: Sequence[date]) -> None:
        own = self.own[ask.exact]
        for track in ask.tracks:
            for day in days:
                own.setdefault((track, day), []).append(i)

    def blocks(self, i: int, ask: Ask, blocks: Sequence[Block], sums: BlockSums) -> None:
        for block in blocks:
            if sums.sound(ask, block):
                self.keys.setdefault(_key(ask.entity, block), []).append(i)
            elif block.grain == ALL:
                self.whole = False
                for track in ask.tracks:
                    self.totals.setdefault(track, []).append(i)
            else:
                self.whole = False
                self.days(i, ask, _days(block))

    def parameters(self, span: tuple[date, date]) -> dict[str, Any]:
        parameters = {
            "keys": list(self.keys),
            "key_asks": list(self.keys.values()),
            "entities": sorted({key[1] for key in self.keys}),
            "windows": list(self.windows),
            "window_asks": list(self.windows.values()),
            "window_entities": sorted({key[1] for key in self.windows}),
            "total_tracks": list(self.totals),
            "total_asks": list(self.totals.values()),
            "counted_asks": self.counted,
        }
        for exact, name in ((False, "own"), (True, "exact_own")):
            own = self.own[exact]
            parameters |= {
                name: list(own),
                f"{name}_asks": list(own.values()),
                f"{name}_tracks": sorted({track for track, _ in own}),
                f"{name}_first": min((day for _, day in own), default=span[0]),
                f"{name}_last": max((day for _, day in own), default=span[1]),
            }
        return parameters


# After its window, a group of up to this many tracks reads its last day from its tracks' own rows,
# which the merge reads anyway for the tracks its answer lists (an album's all, an artist's ten most
# played), rather than its day block: then a popular album's merge reads no block at all once its
# windows (the period's, all time's) are kept, and a statement that reads a table pays for it (about
# 8 ms of a merge at 100M events). A larger group reads the block: its other tracks' rows would be
# read for the day alone and merged into its period and all time, each a dense sketch once the day
# has a few thousand listeners (an artist of 34 tracks, 10 listed, at 100M events late in the UTC
# day: 0.82 of the CPU with the block; BENCHMARKS.md).
TODAY_FROM_TRACKS = 16


def _plan(asks: Sequence[Ask], sums: BlockSums) -> tuple[Plan, list[Ask]]:
    """What the merge reads for the asks, and the asks whose window is not kept (or no longer sound)."""
    reading = _Reading()
    unkept: list[Ask] = []
    for i, ask in enumerate(asks):
        head, tail, days = ask.tiles()
        key = _window_key(ask)
        if key is not None and sums.window_sound(ask):
            reading.windows.setdefault((*key, sums.built[key]), []).append(i)
            if ask.closed:
                reading.counted.append(i)
            if ask.first is not None and ask.window is not None:
                window_days = set(_days(Block(DAY, *ask.window)))
                days = [day for day in days if day not in window_days]
            if ask.entity.kind != TRACK and len(ask.tracks) <= TODAY_FROM_TRACKS:
                days, tail = days + [day for b in tail for day in _days(b)], []
        else:
            reading.blocks(i, ask, head, sums)
            if key is not None:
                unkept.append(ask)
            if ask.first is None:
                tail = []  # the all-time block holds the last day too
        reading.blocks(i, ask, tail, sums)
        reading.days(i, ask, days)
    whole = reading.whole and not unkept
    return Plan(tuple(asks), reading.parameters(_dated_span(asks)), whole), unkept


class Plan(NamedTuple):
    """The asks of one read of listeners, in order, and its merge's parameters. `whole`: every block
    it reads was sound and every window kept, so while they stay so it is the plan the sums would make
    again (Ahead.checked)."""

    asks: tuple[Ask, ...]
    parameters: dict[str, Any]
    whole: bool = False

    @property
    def weight(self) -> int:
        """What it holds: itself, its asks and the places its merge reads (about 100 bytes each)."""
        places = [v for v in self.parameters.values() if isinstance(v, list)]
        return 1 + len(self.asks) + sum(len(v) for v in places)


# A merge of at most this many rows besides its windows (its tracks' days, its blocks, its tracks'
# all-time rows) is made in the process (api/read/process_merges.py): a popular entity asked again
# reads its windows, held there, and today's rows. A larger one (a first ask, or a range whose blocks
# fail, reading its tracks' days) is made by the engine, which merges the states where they are rather
# than copying each out (a dense sketch is about 100 kB).
PROCESS_ROWS = 64


def _rows_besides_windows(parameters: dict[str, Any]) -> int:
    return sum(len(parameters[name]) for name in ("own", "exact_own", "keys", "total_tracks"))


async def _run(store: Store, plan: Plan) -> Merged:
    if _rows_besides_windows(plan.parameters) <= PROCESS_ROWS:
        merges = _process_merges.get(store)
        if merges is None:
            merges = _process_merges[store] = ProcessMerges()
        return await merges.run(store, plan.parameters)
    sql = merge_statement(plan.parameters)
    return await store.aquery_rows(sql, plan.parameters) if sql is not None else []


_process_merges: weakref.WeakKeyDictionary[Store, ProcessMerges] = weakref.WeakKeyDictionary()


class Foresight:
    """How each read of listeners (by a key of the caller's) was last merged, to merge it again ahead
    of the sums that judge its blocks and windows, beside them rather than after.

    A popular entity's answer asked again reads the same asks, and while its windows stay kept and its
    blocks sound, its sums judge the same: the merges read the very places they read last time. So the
    read starts them at once (`ahead`), and takes their rows if the sums read meanwhile give the same
    statements (`Ahead.rows`); else the merges run as usual, after the sums, and the rows read ahead are
    dropped. An answer is the same either way: only the statements' order differs."""

    def __init__(self, places: int = 200_000) -> None:
        """`places`: how many asks and places read the plans kept may hold in all (about 100 bytes
        each: 20 MB at most; a popular artist's year is a few dozen, one whose blocks all fail many
        thousands), the least recently used dropped first."""
        self._places = places
        self._plans: Recent[Hashable, Plan] = Recent(places, lambda key, plan: plan.weight)

    def ahead(self, store: Store, key: Hashable) -> Ahead:
        """Start the merges `key`'s read ran last time, if any (`Ahead.light`: of a whole plan)."""
        return Ahead(self, key, self._plans.get(key), store)

    def remember(self, key: Hashable, plan: Plan | None) -> None:
        """Keep `key`'s plan for its next read; none, or one past the bound alone, is forgotten."""
        if plan is None or plan.weight > self._places:
            self._plans.pop(key)
        else:
            self._plans.put(key, plan)


class Ahead:
    """The merges of one read started ahead, and where to remember the read's own."""

    def __init__(self, foresight: Foresight, key: Hashable, plan: Plan | None, store: Store) -> None:
        self._foresight, self._key, self._plan = foresight, key, plan
        self._task: asyncio.Task[Merged] | None = None
        if plan is not None:
            self._task = asyncio.get_running_loop().create_task(_run(store, plan))
            self._task.add_done_callback(_retrieved)

    @property
    def light(self) -> bool:
        """Whether the merges started are of a whole plan: then they are judged by the sums of the
        blocks and windows they read (`checked`), and the sums read beside need only the tracks' own
        rows (block_sums, light)."""
        return self._task is not None and self._plan is not None and self._plan.whole

    async def checked(self, asks: Sequence[Ask], sums: BlockSums) -> tuple[Plan, Merged] | None:
        """The plan and rows read ahead, if light, of these asks, and every block and window they
        merged still holds exactly the plays `sums` give its ask's tracks: the plan the sums would
        make (but for a newer copy of a window, as sound). Otherwise None, and the rows are dropped
        (`rows` then counts them merged again)."""
        plan, task = self._plan, self._task
        if not self.light or plan is None or task is None:
            return None
        if tuple(asks) == plan.asks:
            found = await task
            if _agrees(plan, found, sums):
                self._task = None
                self._foresight.remember(self._key, plan)
                FORESEEN.labels(merged="ahead").inc()
                return plan, found
        self._plan = None
        return None

    async def rows(self, plan: Plan | None) -> Merged | None:
        """The rows read ahead if they are those of `plan` (the read's own, None if it merges nothing),
        which is remembered for the next read."""
        self._foresight.remember(self._key, plan)
        task, self._task = self._task, None
        if task is None or plan != self._plan:
            FORESEEN.labels(merged="again" if task is not None else "after").inc()
            return None
        FORESEEN.labels(merged="ahead").inc()
        return await task


def _agrees(plan: Plan, found: Merged, sums: BlockSums) -> bool:
    """Whether each block and window the merges read (by the sums of the rows they merged) holds
    exactly the plays `sums` give the tracks of each ask it was read for."""
    parameters = plan.parameters
    read = {int(row[0]): _place_sums(row[3]) for row in found}
    for n, (key, ask_ids) in enumerate(zip(parameters["keys"], parameters["key_asks"], strict=True), 1):
        _, _, grain, start = key
        if any(read.get(i, {}).get(n) != sums.block_truth(plan.asks[i], grain, start) for i in ask_ids):
            return False
    for n, ask_ids in enumerate(parameters["window_asks"], 1):
        if any(read.get(i, {}).get(-n) != sums.window_truth(plan.asks[i]) for i in ask_ids):
            return False
    return True


def _place_sums(rows: Iterable[Sequence[Any]]) -> dict[int, Sums]:
    """The sums of each place's rows merged for an ask (a block may be several rows)."""
    found: dict[int, Sums] = {}
    for place, plays, fingerprint in rows:
        sums = (int(plays), int(fingerprint))
        known = found.get(int(place))
        found[int(place)] = sums if known is None else _plus(known, sums)
    return found


def _retrieved(task: asyncio.Task[Merged]) -> None:
    """Rows read ahead and dropped: a failure there is the read's own to meet again, not logged here."""
    if not task.cancelled():
        task.exception()


async def merged(store: Store, asks: Sequence[Ask], sums: BlockSums, ahead: Ahead | None = None) -> list[int]:
    """Each ask's listeners, in order (estimates, but for the exact asks): `sums` must cover the asks.
    An ask whose window is not kept (or no longer sound) is read from its blocks and days, and its
    window is built in the background for the next read. `ahead`: the merges this read ran last time,
    started before `sums` were read, taken if `sums` make the same statements (Foresight)."""
    if not asks:
        if ahead is not None:
            await ahead.rows(None)
        return []
    checked = await ahead.checked(asks, sums) if ahead is not None else None
    if checked is not None:
        plan, rows = checked
    else:
        if sums.light:  # the sums of the blocks and windows are read now, to judge them
            sums = await _judging(store, asks, sums)
        plan, unkept = _plan(asks, sums)
        found = await ahead.rows(plan) if ahead is not None else None
        rows = found if found is not None else await _run(store, plan)
        if unkept:
            _keep(store, unkept, sums)
    counts = {int(i): int(n) for i, n, *_ in rows}
    windows = {int(i): int(w) for i, _, w, *_ in rows}
    # A window judged sound by sums kept from before (api/read/past_rows.py) may have left memory
    # since (the newest 256 stay): those asks are read again with sums read now.
    gone = [i for ask_ids in plan.parameters["window_asks"] for i in ask_ids]
    gone = [i for i in gone if not windows.get(i)]
    if gone:
        again = [asks[i] for i in gone]
        counts |= dict(zip(gone, await merged(store, again, await block_sums(store, again)), strict=True))
    return [counts.get(i, 0) for i in range(len(asks))]


_building: set[asyncio.Task[None]] = set()
_in_flight: set[WindowKey] = set()  # windows being built: a read meanwhile does not build them again


def _keep(store: Store, asks: Sequence[Ask], sums: BlockSums) -> None:
    """Build the asks' windows in the background (one statement each, at most one build at a time per
    window); a failed build is only logged: the next read builds it again."""
    wanted = {key: ask for ask in asks if (key := _window_key(ask)) is not None and key not in _in_flight}
    if not wanted:
        return
    _in_flight.update(wanted)
    task = asyncio.get_running_loop().create_task(_build(store, wanted, sums))
    _building.add(task)
    task.add_done_callback(_building.discard)


async def _build(store: Store, asks: dict[WindowKey, Ask], sums: BlockSums) -> None:
    built = False
    try:
        for ask in asks.values():
            built = await _build_one(store, ask, sums) or built
    finally:
        _in_flight.difference_update(asks)
    if built:
        _rewrite_soon(store)


# A window built reaches memory as a block of its own (one row an insert), and a read takes the states
# of rows of several blocks by copying each (a dense sketch: about a millisecond), where the rows of
# one block are shared: a popular album's merge at 100M events took 42 rather than 30 ms with its 13
# windows built one by one. So the builds of a read are followed by a rewrite of the table into one
# block, which also keeps its newest KEPT_WINDOWS windows only, one row each (a rebuilt window's row
# replaced is held until then). One rewrite at a time per store: builds done meanwhile are rewritten
# once after it. A rewrite copies the states of the rows of other blocks (at most about 0.2 s for 256
# windows, on the writers' threads).
_rewriting: dict[int, asyncio.Task[None]] = {}  # by store: its rewrite, running or last run
_rewrite_wanted: set[int] = set()  # the stores whose builds are not rewritten yet


def _rewrite_soon(store: Store) -> None:
    _rewrite_wanted.add(id(store))
    running = _rewriting.get(id(store))
    loop = asyncio.get_running_loop()
    if running is not None and not running.done() and running.get_loop() is loop:
        return  # it rewrites again after
    task = _rewriting[id(store)] = loop.create_task(_rewrite(store))
    _building.add(task)
    task.add_done_callback(_building.discard)


async def _rewrite(store: Store) -> None:
    while id(store) in _rewrite_wanted:
        _rewrite_wanted.discard(id(store))
        try:
            await store.write(store.command, REWRITE_SQL)
        except Exception:  # a later build rewrites it
            log.warning("could not rewrite the kept listener windows", exc_info=True)


async def _build_one(store: Store, ask: Ask, sums: BlockSums) -> bool:
    """Whether the ask's window was written."""
    window = ask.window
    if window is None:
        return False
    parameters = {
        "kind": ask.entity.kind,
        "entity": ask.entity.entity_id,
        "first": window[0],
        "last": window[1],
        "exact": int(ask.exact),
        "tracks": list(ask.tracks),
    }
    if ask.first is None:
        whole = Block(ALL, ALL_TIME, ALL_TIME)
        if not sums.sound(ask, whole):  # behind its tracks: the next read tries again
            return False
        sql = BUILD_ALL_TIME_SQL
        parameters |= {"keys": [(ALL, ALL_TIME)], "day": window[1] + timedelta(days=1)}
    else:
        head = tiling(*window)
        sound = [] if ask.exact else [b for b in head if ask.entity.kind != TRACK or b.grain != DAY]
        sound = [b for b in sound if sums.sound(ask, b)]
        held = {day for b in sound for day in _days(b)}
        days = [day for b in head for day in _days(b) if day not in held]
        sql = BUILD_SQL[ask.exact]
        parameters |= {"keys": [(b.grain, b.start) for b in sound], "days": days}
    try:
        await store.write(store.command, sql, parameters)
    except Exception:  # a window only saves time: the next read builds it again
        log.warning("could not keep the listener window of %s", ask.entity, exc_info=True)
        return False
    return True


async def warm_windows(store: Store) -> None:
    """Copy the windows built in the last day into memory (at start: the memory table is empty then)."""
    try:
        await store.write(store.command, WARM_SQL)
    except Exception:  # windows only save time: the next reads build them again
        log.warning("could not copy the kept listener windows into memory", exc_info=True)


async def keeping_done() -> None:
    """Wait for the windows being built and the bucket counts being kept (tests, benchmarks)."""
    while _building:
        await asyncio.gather(*list(_building), return_exceptions=True)


async def listeners(store: Store, asks: Sequence[Ask]) -> list[int]:
    """Each ask's listeners (estimates), in order: two statements, whatever the number of asks."""
    if not asks:
        return []
    return await merged(store, asks, await block_sums(store, asks))


# A chart's UTC day or week buckets (unix starts), each with its plays and fingerprint from the tracks'
# own rows (source 0), from its block if it is one (UTC days of albums and artists, ISO weeks of any
# entity: source 1, with the block's estimate) and the bucket has no kept row, and from its kept rows
# (source 2, each with its listeners and whether they are an estimate).
_BUCKETS = """
SELECT 0 AS source, toUnixTimestamp(toDateTime(BUCKET, 'UTC')) AS bucket, sum(plays),
    sum(cityHash64(track_id) * plays), toUInt64(0) AS listeners, toUInt8(0) AS estimate,
    sum(likes) AS likes, sum(reposts) AS reposts
FROM track_daily
WHERE track_id IN {tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}
  AND bucket IN {buckets:Array(Int64)}
GROUP BY bucket
UNION ALL
SELECT 1, toUnixTimestamp(toDateTime(start, 'UTC')) AS bucket, sum(plays), sum(fingerprint),
    uniqCombined64Merge(17)(listeners), 1, 0, 0
FROM listener_blocks
WHERE kind = {kind:UInt8} AND entity_id = {entity:UInt64} AND grain = {grain:UInt8}
  AND start >= {first:Date} AND start <= {last:Date} AND bucket IN {buckets:Array(Int64)}
  AND start NOT IN (KEPT)
GROUP BY start
UNION ALL
SELECT 2, toUnixTimestamp(toDateTime(start, 'UTC')) AS bucket, plays, fingerprint, listeners, estimate,
    0, 0
FROM bucket_counts
WHERE KEPT_ROWS"""
_KEPT_ROWS = """kind = {kind:UInt8} AND entity_id = {entity:UInt64} AND grain = {grain:UInt8}
  AND start >= {first:Date} AND start <= {last:Date}"""
_BUCKETS = _BUCKETS.replace("KEPT_ROWS", _KEPT_ROWS).replace(
    "KEPT", f"SELECT start FROM bucket_counts WHERE {_KEPT_ROWS}"
)
_NO_BLOCKS = _BUCKETS[: _BUCKETS.index("UNION ALL")] + _BUCKETS[_BUCKETS.index("UNION ALL\nSELECT 2") :]
# Without the kept rows: for the bucket holding now alone, which none keeps (it is not closed).
_UNKEPT = _BUCKETS[: _BUCKETS.index("\n  AND start NOT IN")] + "\nGROUP BY start"
_SOURCES = {(True, True): _BUCKETS, (False, True): _NO_BLOCKS, (True, False): _UNKEPT}
# By grain, whether the entity has blocks of that grain (a track has no day blocks: its days are its
# day rows) and whether kept rows may be read (a part reading nothing still costs about 3 ms).
BUCKETS_SQL = {
    (grain, blocks, kept): _SOURCES[blocks, kept].replace("BUCKET", bucket)
    for grain, bucket in ((DAY, "day"), (WEEK, "toMonday(day)"))
    for blocks, kept in _SOURCES
}
GRAINS = {"day": DAY, "week": WEEK}
_COUNT_COLUMNS = ("kind", "entity_id", "grain", "start", "plays", "fingerprint", "listeners", "estimate")


@dataclass
class BucketListeners:
    """What a chart's UTC buckets (unix starts) need not count: `counts`, exact and kept; `estimates`
    past the mark of the others, from sound blocks (`fresh`) or kept; every bucket's sums from the
    tracks' rows (`sums`), which what is counted or estimated now is kept with; and its plays, likes
    and reposts (`stamps`: the chart's own sums, so they need not be read again); `asked`: the
    buckets read."""

    entity: Entity
    grain: int
    estimates: dict[int, int]
    counts: dict[int, int]
    sums: dict[int, Sums]
    fresh: set[int]
    stamps: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    asked: frozenset[int] = frozenset()

    def keep(self, store: Store, counted: dict[int, int], current: int) -> None:
        """Keep in the background the listeners of the closed buckets (all but `current`, the bucket
        holding now) counted now (`counted`) or estimated from blocks now, each with the sums read
        before: a play that landed in between makes them differ from the tracks' next time, so nothing
        is ever taken for newer rows than it holds. A failed write is only logged: the next first ask
        counts the bucket again."""
        kind, entity_id = self.entity
        found = [(b, n, 0) for b, n in counted.items()] + [(b, self.estimates[b], 1) for b in self.fresh]
        rows = [
            (kind, entity_id, self.grain, datetime.fromtimestamp(b, UTC).date(), *sums, n, estimate)
            for b, n, estimate in found
            if b != current and (sums := self.sums.get(b)) is not None
        ]
        if rows:
            task = asyncio.get_running_loop().create_task(_keep_counts(store, rows))
            _building.add(task)
            task.add_done_callback(_building.discard)


async def _keep_counts(store: Store, rows: list[tuple[Any, ...]]) -> None:
    try:
        await store.write(store.insert, "bucket_counts", rows, _COUNT_COLUMNS)
    except Exception:  # kept listeners only save time: the next first ask counts again
        log.warning("could not keep the listeners of %d chart buckets", len(rows), exc_info=True)


def judged(entity: Entity, interval: str, buckets: Sequence[int], now: int | None) -> bool:
    """Whether `bucket_listeners` reads anything to judge these buckets: kept rows or blocks."""
    grain = GRAINS.get(interval)
    if grain is None or not buckets:
        return False
    # The bucket holding now alone has no kept row: none is kept until it is closed (`now`).
    return list(buckets) != [now] or grain != DAY or entity.kind != TRACK


async def bucket_listeners(
    store: Store,
    entity: Entity,
    tracks: Sequence[int],
    interval: str,
    buckets: Sequence[int],
    above: int,
    now: int | None = None,
) -> BucketListeners | None:
    """What the chart buckets (unix starts of UTC days or weeks; `now`: the one holding now) need not
    count: None for other intervals. Kept listeners are taken while sound; a block's estimate only if
    sound and past `above`, and only for a bucket with no kept row (one whose row is unsound is counted
    exactly); the others are left to be counted exactly."""
    grain = GRAINS.get(interval)
    if grain is None:
        return None
    known = BucketListeners(entity, grain, {}, {}, {}, set())
    if not judged(entity, interval, buckets, now):
        return known  # nothing to take: it is counted
    first = datetime.fromtimestamp(min(buckets), UTC).date()
    last = datetime.fromtimestamp(max(buckets), UTC).date() + timedelta(days=6 if grain == WEEK else 0)
    parameters = {
        "tracks": list(tracks),
        "first": first,
        "last": last,
        "buckets": list(buckets),
        "kind": entity.kind,
        "entity": entity.entity_id,
        "grain": grain,
    }
    kept, blocks = list(buckets) != [now], grain != DAY or entity.kind != TRACK
    rows = await store.aquery_rows(BUCKETS_SQL[grain, blocks, kept], parameters)
    known.asked = frozenset(buckets)
    for source, bucket, plays, fingerprint, _, _, likes, reposts in rows:
        if source == 0:
            known.sums[int(bucket)] = (int(plays), int(fingerprint))
            known.stamps[int(bucket)] = (int(plays), int(likes), int(reposts))
    for source, bucket, plays, fingerprint, listeners, estimate, _, _ in rows:
        if source == 0 or known.sums.get(int(bucket)) != (int(plays), int(fingerprint)):
            continue
        bucket, listeners = int(bucket), int(listeners)
        if not estimate:
            known.counts[bucket] = listeners
        elif source == 2:
            known.estimates[bucket] = listeners
        elif listeners > above:
            known.estimates[bucket] = listeners
            known.fresh.add(bucket)
    for bucket in known.counts:  # an exact count kept beside an estimate kept: the count
        known.estimates.pop(bucket, None)
        known.fresh.discard(bucket)
    return known
