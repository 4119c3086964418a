"""Read queries over any set of tracks (one track, an album, an artist), from the rollups only.

Every value is a ClickHouse query parameter; listeners are merged uniqExact states, so a set of
tracks counts each listener once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from string import Template
from typing import Any, NamedTuple

from api.http.recent import Recent
from api.read import listener_blocks
from api.read.changes import Version
from api.read.figures_sql import (
    ALL_TIME,
    EXACT_LISTENERS,
    PERIOD,
    PREVIOUS,
    SKETCHED_LISTENERS,
    TRACKS,
    Figures,
    Part,
    figures_of_parts,
    figures_statement,
    utc_days,
)
from api.read.listener_blocks import TRACK, Ask, Entity
from api.read.past_rows import PastRows
from api.read.unflushed import Kept
from insights.store import Store
from schemas.periods import PeriodBounds

# A period's listeners from the days' exact states, or from their sketches (Audiences); each kind of
# merge reads its own range of days ({kind}_from, {kind}_to in the statement's parameters).
_DAY_MERGES = {
    False: (EXACT_LISTENERS, "exact"),
    True: (SKETCHED_LISTENERS, "sketch"),
}

# When a group's period listeners come from the day sketches, its own figures are read like a single
# track's (a union of every row's sketch, without a state per track), and its tracks' period plays
# and listeners apart: exactly for the tracks not known to be past SKETCH_ABOVE, from their sketches
# for the others.
_TRACKS_PART = """
UNION ALL
SELECT 3 AS part, 0, 0, 0, 0, 0, 0, 0, groupArray((track_id, plays, listeners))
FROM
(PARTS
)
"""
_EXACT_TRACKS = """
    SELECT track_id, sum(plays) AS plays, uniqExactMerge(listeners) AS listeners
    FROM track_daily
    WHERE track_id IN {exact_tracks:Array(UInt64)} AND day >= {start:Date} AND day <= {today:Date}
    GROUP BY track_id"""
_SKETCHED_TRACKS = """
    SELECT track_id, sum(plays) AS plays, $sketched AS listeners
    FROM track_daily
    WHERE track_id IN {sketched_tracks:Array(UInt64)} AND day >= {start:Date} AND day <= {today:Date}
    GROUP BY track_id"""


class Mode(NamedTuple):
    """Which listener figures of a statement come from sketches."""

    all_time: bool = False
    previous: bool = False
    period: bool = False


EXACT = Mode()
SKETCHED_ONLY = Mode(True, True, True)
MODES = tuple(Mode(*flags) for flags in itertools.product((False, True), repeat=3))


def _figures_statement(
    mode: Mode, group: bool, blocks: bool = False, exact: bool = True, sketches: bool = True
) -> str:
    """The UTC days of the previous period and the period, one part per kind of listener merge;
    a group's tracks' figures come with its exact part, or apart when its period is sketched (`exact`,
    `sketches`: whether tracks are counted each way; a part reading nothing still costs about 2 ms).
    With `blocks`, the sketched listeners are left at 0, to be read from listener blocks beside it (a
    track's all-time sketch is one already, and stays)."""
    sketched_listeners = "0" if blocks else SKETCHED_LISTENERS
    parts = []
    for sketched in (False, True):
        if sketched in (mode.previous, mode.period):
            listeners = sketched_listeners if sketched else EXACT_LISTENERS
            per_track = group and not sketched and not mode.period
            parts.append(Part(utc_days(_DAY_MERGES[sketched][1]), listeners, per_track))
    all_time = EXACT_LISTENERS
    if mode.all_time:
        all_time = sketched_listeners if group else SKETCHED_LISTENERS
    sql = figures_statement(parts, all_time=all_time, group=group)
    by_sketch = Template(_SKETCHED_TRACKS).substitute(sketched="0" if blocks else SKETCHED_LISTENERS)
    counted = [part for part, present in ((_EXACT_TRACKS, exact), (by_sketch, sketches)) if present]
    tracks = _TRACKS_PART.replace("PARTS", "\n    UNION ALL".join(counted))
    return sql + tracks if group and mode.period else sql


# Keyed by mode, and whether listener blocks give the sketched listeners; built once.
_KEYS = tuple(itertools.product(MODES, (False, True)))
FIGURES_SQL = {(mode, blocks): _figures_statement(mode, False, blocks) for mode, blocks in _KEYS}
GROUP_FIGURES_SQL = {(mode, blocks): _figures_statement(mode, True, blocks) for mode, blocks in _KEYS}
# A group's tracks counted one way only: only exactly, or only from sketches.
GROUP_FIGURES_ONE_WAY = {
    (mode, blocks, exact): _figures_statement(mode, True, blocks, exact, not exact)
    for mode, blocks in _KEYS
    for exact in (False, True)
}

# A track's all-time plays and listeners (its all-time sketch), when the sums give its other figures.
TRACK_TOTALS_SQL = figures_statement([], all_time=SKETCHED_LISTENERS)

UNSKETCHED_SQL = "SELECT count() FROM unsketched_tracks WHERE track_id IN {track_ids:Array(UInt64)}"

PLAYS_TOTAL_SQL = """
SELECT track_id, sum(plays) AS plays_total
FROM track_totals
WHERE track_id IN {track_ids:Array(UInt64)}
GROUP BY track_id
"""

REALTIME_SQL = """
SELECT
    uniqExactMergeIf(active, second > toDateTime({now:Int64}, 'UTC') - 300) AS active_listeners,
    sumIf(plays, second > toDateTime({now:Int64}, 'UTC') - 300) AS plays_5m,
    sum(plays) AS plays_60m,
    sumMapIf([toUInt32(toStartOfMinute(second))], [toUInt64(plays)],
             second >= toDateTime({first_minute:Int64}, 'UTC')) AS per_minute
FROM track_realtime
WHERE track_id = {track_id:UInt64}
  AND second > toDateTime({now:Int64}, 'UTC') - 3600 AND second <= toDateTime({now:Int64}, 'UTC')
"""

# The same with the events this process accepted that may not be stored yet (api/read/unflushed.py),
# given as parallel arrays. One read of the track's rows gives their figures and, per partition, the
# highest offset they hold (`tops`); a kept event is taken when it lies above its partition's top (the
# rows do not hold it yet) and no copy of its id is stored at another offset (a repeat, which the worker
# drops; `event_keys` holds the first copy of each id only). The rows of the hour and of the 5 minutes
# an event may be early give the tops: a stored kept event's own row is among them. `event_keys` is read
# first (a scalar subquery, a moment before the rows), and a flush writes it two statements before the
# rollups (pipeline/sink.py): a first copy could be in the rows read and not in the keys read only if
# those statements all ran within that moment (docs/read-path.md). Taken
# events' listeners join the rows' in the merge; their plays are added by the caller from `taken`.
REALTIME_UNFLUSHED_SQL = """
WITH (
    SELECT groupArray((key, kafka_offset)) FROM event_keys
    WHERE key IN (SELECT sipHash128(arrayJoin({ids:Array(String)})))
) AS stored
SELECT
    arrayMap((p, o, id) -> (NOT has(arrayMap(s -> s.1, stored), sipHash128(id))
            OR has(stored, (sipHash128(id), o)))
        AND (NOT has(tops.1, p) OR o > tops.2[indexOf(tops.1, p)]),
        {partitions:Array(UInt16)}, {offsets:Array(UInt64)}, {ids:Array(String)}) AS taken,
    arrayReduce('uniqExactMerge', [active_5m, arrayReduce('uniqExactState', arrayFilter(
        (listener, take, second) -> take AND second > {now:Int64} - 300 AND second <= {now:Int64},
        {listeners:Array(String)}, taken, {seconds:Array(Int64)}))]) AS active_listeners,
    plays_5m, plays_60m, per_minute
FROM (
    SELECT maxMap([kafka_partition], [max_offset]) AS tops,
        uniqExactMergeStateIf(active, second > toDateTime({now:Int64}, 'UTC') - 300
            AND second <= toDateTime({now:Int64}, 'UTC')) AS active_5m,
        sumIf(plays, second > toDateTime({now:Int64}, 'UTC') - 300
            AND second <= toDateTime({now:Int64}, 'UTC')) AS plays_5m,
        sumIf(plays, second <= toDateTime({now:Int64}, 'UTC')) AS plays_60m,
        sumMapIf([toUInt32(toStartOfMinute(second))], [toUInt64(plays)],
            second >= toDateTime({first_minute:Int64}, 'UTC')
            AND second <= toDateTime({now:Int64}, 'UTC')) AS per_minute
    FROM track_realtime
    WHERE track_id = {track_id:UInt64}
        AND second > toDateTime({now:Int64}, 'UTC') - 3600
        AND second <= toDateTime({now:Int64}, 'UTC') + 300
)
"""


@dataclass(frozen=True)
class TrackPeriod:
    track_id: int
    plays: int
    listeners: int


@dataclass(frozen=True)
class Realtime:
    active_listeners: int
    plays_last_5m: int
    plays_last_60m: int
    plays_per_minute: dict[int, int]  # unix minute start -> plays


DayRange = tuple[date, date]  # first and last day, inclusive


def _previous_days(bounds: PeriodBounds) -> DayRange:
    return bounds.previous_start, bounds.start - timedelta(days=1)


def _period_days(bounds: PeriodBounds) -> DayRange:
    return bounds.start, bounds.today


def _all_time(entity: Entity, tracks: tuple[int, ...], bounds: PeriodBounds) -> Ask:
    """All time's ask, named its last day when the period ends today: its window then leaves today to
    the tracks' rows, which the period reads too (a range that ended before reads its all-time block)."""
    today = bounds.today if bounds.today == datetime.now(UTC).date() else None
    return Ask(entity, tracks, None, today)


def _period_parameters(track_ids: Sequence[int], bounds: PeriodBounds, mode: Mode) -> dict[str, Any]:
    """The statement's parameters: each kind of merge (exact, sketch) reads the days of the periods
    it counts, which are adjacent (the previous period, then the period)."""
    parameters: dict[str, Any] = {"track_ids": list(track_ids), "start": bounds.start, "today": bounds.today}
    ranges = ((_previous_days(bounds), mode.previous), (_period_days(bounds), mode.period))
    for sketched in (False, True):
        days = [r for r, s in ranges if s == sketched]
        if days:
            kind = _DAY_MERGES[sketched][1]
            parameters[f"{kind}_from"], parameters[f"{kind}_to"] = days[0][0], days[-1][1]
    return parameters


# Past this many exactly counted listeners a set of tracks reads them from sketches: a fixed set's
# listeners over a fixed range of days (or all time) never decrease, as events are only ever added,
# so they stay above 100,000 (where an approximation within 1 % is allowed, docs/api.md) with room
# for the sketch's error (about 0.3 % standard error).
SKETCH_ABOVE = 102_000

SKETCHES_FROM_SQL = "SELECT max(day) FROM daily_sketches_from"


# What Audiences knows of a set's listeners over a range of days (or all time): past SKETCH_ABOVE, read
# from sketches; below it when last estimated or counted, so counted exactly; or, for all time, never to
# be sketched (a track has history from before the sketches).
SKETCHED, BELOW, UNSKETCHED = "sketched", "below", "unsketched"


class Probed(NamedTuple):
    """What `Audiences.probe` found: the estimates past the mark by Figures field, the sums it read and
    the asks they judge, and the listeners of the asks it merged for its caller."""

    estimates: dict[str, int]
    sums: listener_blocks.BlockSums | None
    covered: frozenset[Ask]
    merged: dict[Ask, int]


class Audiences:
    """The listener counts known to be past SKETCH_ABOVE, read from sketches from then on:
    - a set's all-time listeners, once its tracks all have complete all-time sketches
      (schemas/clickhouse/008_all_time_sketches.sql; asked once per set);
    - a set's listeners over a range of days (a period, the previous one), once the range starts on
      or after the first day with complete day sketches (009_daily_sketches.sql; asked once).
    A set learns it from an exact count past the mark, or, at its first ask for an entity with listener
    blocks, from their estimate (`probe`): one past SKETCH_ABOVE is past 100,000 whatever the sketch's
    error, so it is the answer, and a popular entity is never counted exactly, not even once. A count
    under the mark is exact: below it, only a count can say it passed. Bounded by the track ids their
    keys hold, the least recently asked dropped first."""

    def __init__(self, track_ids: int = 500_000) -> None:
        """`track_ids`: how many the keys of each may hold in all (about 40 bytes each: 20 MB)."""
        self._all_time: Recent[tuple[int, ...], str] = Recent(track_ids, lambda key, _: 1 + len(key))
        self._ranges: Recent[tuple[tuple[int, ...], date, date], str] = Recent(
            track_ids, lambda key, _: 1 + len(key[0])
        )
        self._listed: Recent[tuple[tuple[int, ...], date, date], tuple[int, ...]] = Recent(
            track_ids, lambda key, listed: 1 + len(key[0]) + len(listed)
        )
        self._sketches_from: date | None = None
        # How each read's listeners were last merged: merged again ahead of its sums (Foresight).
        self.merges = listener_blocks.Foresight()

    def sketched(self, tracks: tuple[int, ...]) -> bool:
        """Whether the set's all-time listeners come from sketches."""
        return self._all_time.get(tracks) == SKETCHED

    def large(self, tracks: tuple[int, ...], days: DayRange) -> bool:
        """Whether the set's listeners over `days` are known to be past SKETCH_ABOVE."""
        return self._ranges.get((tracks, *days)) == SKETCHED

    def listed(self, tracks: tuple[int, ...], days: DayRange) -> tuple[int, ...] | None:
        """The tracks of the set an answer over `days` listed last (its most played), if any."""
        return self._listed.get((tracks, *days))

    def keep_listed(self, tracks: tuple[int, ...], days: DayRange, listed: Sequence[int]) -> None:
        self._listed.put((tracks, *days), tuple(listed))

    def unknown(self, tracks: tuple[int, ...], days: DayRange) -> bool:
        """Whether the set's listeners over `days` were never counted or estimated."""
        return self._ranges.peek((tracks, *days)) is None

    def mode(self, tracks: tuple[int, ...], bounds: PeriodBounds) -> Mode:
        return Mode(
            self.sketched(tracks),
            self.large(tracks, _previous_days(bounds)),
            self.large(tracks, _period_days(bounds)),
        )

    async def _all_time_sketchable(self, store: Store, tracks: tuple[int, ...]) -> bool:
        """Whether every track of the set has a complete all-time sketch (asked once it matters)."""
        known = self._all_time.peek(tracks)
        if known in (SKETCHED, UNSKETCHED):
            return known == SKETCHED
        rows = await store.aquery_rows(UNSKETCHED_SQL, {"track_ids": list(tracks)})
        if int(rows[0][0]) > 0:
            self._all_time.put(tracks, UNSKETCHED)
            return False
        return True

    async def _days_sketchable(self, store: Store, days: DayRange) -> bool:
        """Whether every day of the range has complete day sketches."""
        if self._sketches_from is None:
            rows = await store.aquery_rows(SKETCHES_FROM_SQL)
            self._sketches_from = rows[0][0]
        return days[0] >= self._sketches_from

    async def learn(self, store: Store, tracks: tuple[int, ...], listeners_total: int) -> None:
        """After an exact all-time count: a set past SKETCH_ABOVE reads its sketches from now on,
        unless one of its tracks has history from before the sketches."""
        if self._all_time.peek(tracks) in (SKETCHED, UNSKETCHED):
            return
        if listeners_total <= SKETCH_ABOVE:
            self._all_time.put(tracks, BELOW)
        elif await self._all_time_sketchable(store, tracks):
            self._all_time.put(tracks, SKETCHED)

    async def learn_days(self, store: Store, tracks: tuple[int, ...], days: DayRange, listeners: int) -> None:
        """After an exact count over `days`: past SKETCH_ABOVE, and with every day sketched, the set's
        listeners over `days` come from the day sketches from now on."""
        if self.large(tracks, days):
            return
        if listeners > SKETCH_ABOVE and await self._days_sketchable(store, days):
            self._ranges.put((tracks, *days), SKETCHED)
        else:
            self._ranges.put((tracks, *days), BELOW)

    async def probe(
        self,
        store: Store,
        entity: Entity,
        tracks: tuple[int, ...],
        bounds: PeriodBounds,
        group: bool,
        beside: Sequence[Ask] = (),
        listing: Callable[[listener_blocks.BlockSums], Sequence[Ask]] | None = None,
    ) -> Probed:
        """At a set's first ask, its listener figures that might be sketched and were never estimated
        or counted, from the listener blocks of its `entity`: the estimates past SKETCH_ABOVE, by
        Figures field, learnt as such; the others are left to be counted exactly. A figure whose plays
        are under the mark is under it too, without an estimate. A single track's all-time listeners
        are its all-time sketch, which its statement reads itself. With them, the sums that judge the
        blocks of its asks and of the asks `beside` (read in the same statement, for the caller), and
        which asks they judge; none when there is nothing to probe. The asks `listing` names from the
        sums (those of `beside` the caller will merge next) are merged with the probe's own. A single
        track's sums also hold its all-time plays and sketch estimate (`BlockSums.listened`): if every
        figure of the track proves sketched, its caller needs no statement of its own for them."""
        asks: dict[str, Ask] = {}
        ranges = {"previous_listeners": _previous_days(bounds), "listeners": _period_days(bounds)}
        for field, days in ranges.items():
            if self.unknown(tracks, days) and await self._days_sketchable(store, days):
                asks[field] = Ask(entity, tracks, *days, closed=field == "previous_listeners")
        if self._all_time.peek(tracks) is None:
            asks["listeners_total"] = _all_time(entity, tracks, bounds)
        if not asks:
            return Probed({}, None, frozenset(), {})
        covered = frozenset([*asks.values(), *beside])
        sums = await listener_blocks.block_sums(store, list(covered), listened=() if group else tracks)
        for field, ask in list(asks.items()):
            played = sums.plays(ask) > SKETCH_ABOVE
            if field == "listeners_total" and played and not await self._all_time_sketchable(store, tracks):
                del asks[field]  # never sketched: counted exactly
            elif not played:
                self._remember(field, ask, BELOW)
                del asks[field]
        more = [ask for ask in listing(sums) if ask in covered] if listing is not None and asks else []
        merged = await listener_blocks.merged(store, [*asks.values(), *more], sums)
        estimates = dict(zip(asks, merged, strict=False))
        for field, estimate in estimates.items():
            self._remember(field, asks[field], SKETCHED if estimate > SKETCH_ABOVE else BELOW)
        probed = {field: estimate for field, estimate in estimates.items() if estimate > SKETCH_ABOVE}
        if not group:
            probed.pop("listeners_total", None)
        return Probed(probed, sums, covered, dict(zip(more, merged[len(asks) :], strict=True)))

    def _remember(self, field: str, ask: Ask, state: str) -> None:
        if field == "listeners_total":
            self._all_time.put(ask.tracks, state)
        elif ask.first is not None and ask.last is not None:
            self._ranges.put((ask.tracks, ask.first, ask.last), state)


def track_set(track_ids: Sequence[int]) -> tuple[int, ...]:
    """The key of a set of tracks in the memos below: the same however its ids are listed."""
    return tuple(sorted(set(track_ids)))


def _block_asks(
    entity: Entity, tracks: tuple[int, ...], bounds: PeriodBounds, mode: Mode, group: bool
) -> dict[Any, Ask]:
    """What listener blocks read for a statement in `mode`: its sketched listeners by Figures field
    (a track's all-time sketch is one already), and a group's sketched tracks' period listeners by
    track id."""
    asks: dict[Any, Ask] = {}
    if mode.period:
        asks["listeners"] = Ask(entity, tracks, *_period_days(bounds))
    if mode.previous:
        asks["previous_listeners"] = Ask(entity, tracks, *_previous_days(bounds), closed=True)
    if mode.all_time and group:
        asks["listeners_total"] = _all_time(entity, tracks, bounds)
    return asks


def _rows_of_sums(
    sums: listener_blocks.BlockSums,
    tracks: tuple[int, ...],
    bounds: PeriodBounds,
    group: bool,
    totals: tuple[Any, ...] | None = None,
) -> list[tuple[Any, ...]]:
    """The figures statement's rows, listeners left at 0, for a set whose every listener figure comes
    from blocks: the sums that judge the blocks hold every other figure (the tracks' counters per block
    of the previous period and the period; a group's all-time plays), so no statement reads them again.
    A track's all-time row is `totals` (TRACK_TOTALS_SQL: its all-time sketch is one already)."""
    empty: tuple[Any, ...] = ([],) if group else ()
    if totals is None:
        totals = (ALL_TIME, sums.total_plays(tracks), 0, 0, 0, 0, 0, 0, *empty)
    rows: list[tuple[Any, ...]] = [totals]
    for part, days in ((PREVIOUS, _previous_days(bounds)), (PERIOD, _period_days(bounds))):
        ranged = sums.ranged(tracks, *days)
        if ranged:
            plays, likes, reposts, qualified, listened, timed = (
                sum(n) for n in zip(*ranged.values(), strict=True)
            )
            rows.append((part, plays, 0, likes, reposts, qualified, listened, timed, *empty))
        if group and part == PERIOD:
            rows.append((TRACKS, 0, 0, 0, 0, 0, 0, 0, [(t, n[0], 0) for t, n in ranged.items()]))
    return rows


async def _split_rows(
    store: Store, past: PastRows, version: Version, key: Hashable, sql: str, parameters: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """A figures statement's rows, every range figure a sum, read as those of the days before the
    period's last (kept while unchanged, api/read/past_rows.py) and that day's with the all-time
    totals: both parts' sums added, the totals from the second."""
    today = parameters["today"]
    before = parameters | {"sketch_to": today - timedelta(days=1), "today": today - timedelta(days=1)}
    last = parameters | {"sketch_from": today, "start": today}
    kept, now = await asyncio.gather(
        past.rows(("figures", key), version, lambda: store.aquery_rows(sql, before)),
        store.aquery_rows(sql, last),
    )
    parts = {row[0]: list(row) for row in kept if row[0] != ALL_TIME}
    for row in now:
        into = parts.get(row[0])
        if into is None or row[0] == ALL_TIME:
            parts[row[0]] = list(row)
            continue
        for i in range(1, 8):
            into[i] += row[i]
        if len(row) > 8:  # a group's tracks: (track, plays, listeners), the listeners from blocks
            plays = {t: p for t, p, _ in into[8]}
            for t, p, _ in row[8]:
                plays[t] = plays.get(t, 0) + p
            into[8] = [(t, p, 0) for t, p in plays.items()]
    return [tuple(row) for row in parts.values()]


async def _estimates(
    store: Store,
    asks: dict[str, Ask],
    more: Sequence[Ask],
    sums: listener_blocks.BlockSums,
    past: PastRows | None,
    version: Version | None,
    ahead: listener_blocks.Ahead | None = None,
) -> tuple[dict[str, int], list[int]]:
    """The listeners of `asks` by Figures field, and of `more` in order, in one merge (`ahead`: started
    before `sums` were read, listener_blocks.Foresight); the previous period's (every day of it before
    today) kept while its tracks' earlier days are unchanged (`version`: their past version, read
    before `sums` were)."""
    previous = asks.get("previous_listeners")
    if previous is None:
        version = None
    key = ("listeners", previous)
    known = past.kept(key, version) if past is not None and version is not None else None
    todo = {field: ask for field, ask in asks.items() if known is None or field != "previous_listeners"}
    found = await listener_blocks.merged(store, [*todo.values(), *more], sums, ahead)
    by_field = dict(zip(todo, found, strict=False))
    if known is not None:
        by_field["previous_listeners"] = int(known[0][0])
    elif past is not None and version is not None:
        past.keep(key, version, [(by_field["previous_listeners"],)])
    return by_field, found[len(todo) :]


async def _figure_rows(
    store: Store,
    track_ids: Sequence[int],
    bounds: PeriodBounds,
    audiences: Audiences | None,
    group: bool = False,
    entity: Entity | None = None,
    listed: int | None = None,
    sketched: frozenset[int] = frozenset(),
    past: PastRows | None = None,
) -> tuple[Mode, list[tuple[Any, ...]], Figures, dict[int, int]]:
    """The statement's rows for the mode `audiences` knows, the figures in them, and for a group whose
    period listeners come from sketches, its tracks' period listeners; what an exact count says about
    the marks is learnt.

    With an `entity`, its sketched listeners are read from listener blocks beside the statement
    (api/read/listener_blocks.py), and a sketched group's tracks in two steps: their plays first, then
    the listeners of only the `listed` most played (all if None), each exactly or from its blocks
    (those in `sketched`: known past SKETCH_ABOVE over the period)."""
    tracks = track_set(track_ids)
    days = _period_days(bounds)

    # The period of each track likely listed (those listed last time, else all), read as it will be:
    # from sketches past the mark, exactly under it, either way while not known. Which tracks are
    # listed is known only with their plays; a track listed now and not foreseen has its sums read then.
    def track_asks_of(listed_tracks: Sequence[int]) -> dict[tuple[int, bool], Ask]:
        return {
            (t, e): Ask(Entity(TRACK, t), (t,), *days, exact=e)
            for t in listed_tracks
            for e in (False, True)
            if audiences is None or audiences.unknown((t,), days) or e == (t not in sketched)
        }

    def ranked(plays: Iterable[tuple[int, int]]) -> tuple[list[int], set[int]]:
        """The `listed` most played tracks, and those of them with plays past the mark never counted
        or estimated over the period: estimated first, and counted exactly only if that estimate is
        not past the mark."""
        ranking = sorted((-int(p), int(t)) for t, p in plays if int(p) > 0)[:listed]
        unsure = {
            t
            for p, t in ranking
            if -p > SKETCH_ABOVE
            and t not in sketched
            and audiences is not None
            and audiences.unknown((t,), days)
        }
        return [t for _, t in ranking], unsure

    def listed_keys(chosen: list[int], unsure: set[int]) -> list[tuple[int, bool]]:
        """The listed tracks' asks (`track_asks_of`'s keys): exactly unless sketched or unsure."""
        return [(t, t not in sketched and t not in unsure) for t in chosen]

    likely = audiences.listed(tracks, days) if audiences is not None else None
    foreseen = track_asks_of(tracks if likely is None else likely) if group and entity is not None else {}
    probed = Probed({}, None, frozenset(), {})
    if audiences is not None and entity is not None:
        # The tracks' sums read with the probe's, in one statement: wasted only if the period is not
        # sketched after all. So are the listed tracks' listeners merged with its own, as the sums
        # rank them (which the figures taken from those sums then do).
        def listing(sums: listener_blocks.BlockSums) -> list[Ask]:
            keys = listed_keys(*ranked((t, n[0]) for t, n in sums.ranged(tracks, *days).items()))
            return [foreseen[key] for key in keys if key in foreseen]

        probed = await audiences.probe(
            store, entity, tracks, bounds, group, list(foreseen.values()), listing if foreseen else None
        )
    mode = audiences.mode(tracks, bounds) if audiences is not None else EXACT
    parameters = _period_parameters(track_ids, bounds, mode)
    by_blocks = entity is not None and group and mode.period
    if group:
        exact = [] if by_blocks else sorted(set(tracks) - sketched)
        parameters |= {
            "exact_tracks": exact,
            "sketched_tracks": list(tracks) if by_blocks else sorted(sketched),
        }
    asks = _block_asks(entity, tracks, bounds, mode, group) if entity is not None else {}
    asks = {field: ask for field, ask in asks.items() if field not in probed.estimates}
    track_asks = foreseen if by_blocks else {}
    blocks = bool(asks) or bool(probed.estimates)
    # The tracks' past version, read before anything it covers: while it stays, the rows of the days
    # before today are kept (api/read/past_rows.py), and so are the previous period's listeners.
    before = past.version(tracks, bounds.today) if past is not None else None
    unread = [ask for ask in [*asks.values(), *track_asks.values()] if ask not in probed.covered]
    # The listeners merged as last time, beside the statements that tell whether that still holds.
    ahead = None
    if audiences is not None and entity is not None:
        ahead = audiences.merges.ahead(store, (group, entity, tracks, bounds, listed, mode, sketched))

    # A track whose figures all come from the sums reads its all-time plays and listeners with them,
    # unless the probe just did.
    by_sums = mode == SKETCHED_ONLY and blocks and not group
    probed_listened = by_sums and probed.sums is not None and tracks[0] in probed.sums.listened
    listened = tracks if by_sums and unread and not probed_listened else ()

    async def read_sums() -> listener_blocks.BlockSums:  # with those the probe read
        light = ahead is not None and ahead.light
        sums = await listener_blocks.block_sums(store, unread, past, light=light, listened=listened)
        if probed.sums is not None:
            sums.absorb(probed.sums)
        return sums

    reading_sums = read_sums()
    if mode == SKETCHED_ONLY and blocks:  # the sums hold every other figure
        if group:
            sums, totals = await reading_sums, None
        elif listened or probed_listened:
            sums = await reading_sums
            totals = (ALL_TIME, *sums.listened.get(tracks[0], (0, 0)), 0, 0, 0, 0, 0)
        else:
            track_totals = store.aquery_rows(TRACK_TOTALS_SQL, {"track_ids": list(track_ids)})
            sums, (totals, *_) = await asyncio.gather(reading_sums, track_totals)
        rows = _rows_of_sums(sums, tracks, bounds, group, totals)
    else:
        sql = (GROUP_FIGURES_SQL if group else FIGURES_SQL)[mode, blocks]
        if group and mode.period and not (parameters["exact_tracks"] and parameters["sketched_tracks"]):
            sql = GROUP_FIGURES_ONE_WAY[mode, blocks, bool(parameters["exact_tracks"])]
        # Every range figure a sum (the listeners from blocks): the days before today can be kept apart.
        if past is not None and before is not None and mode.previous and mode.period and blocks:
            read_rows = _split_rows(store, past, before, (group, mode, tracks, bounds), sql, parameters)
        else:
            read_rows = store.aquery_rows(sql, parameters)
        rows, sums = await asyncio.gather(read_rows, reading_sums)
    per_track: dict[int, int] = {}
    if by_blocks:  # the listed tracks' listeners, from blocks or exactly
        plays: list[tuple[int, int, int]] = next((row[-1] for row in rows if row[0] == TRACKS), [])
        chosen, unsure = ranked((t, p) for t, p, _ in plays)
        if audiences is not None:
            audiences.keep_listed(tracks, days, chosen)
        unforeseen = {key: ask for key, ask in track_asks_of(chosen).items() if key not in track_asks}
        if unforeseen:
            sums.absorb(await listener_blocks.block_sums(store, list(unforeseen.values()), past))
            track_asks |= unforeseen
        wanted = [track_asks[key] for key in listed_keys(chosen, unsure)]
        fresh = [ask for ask in wanted if ask not in probed.merged]
        estimated, found = await _estimates(store, asks, fresh, sums, past, before, ahead)
        merged = iter(found)
        per_track = {
            t: probed.merged[a] if a in probed.merged else next(merged)
            for t, a in zip(chosen, wanted, strict=True)
        }
        recount = [t for t in chosen if t in unsure and per_track[t] <= SKETCH_ABOVE]
        exact = await listener_blocks.merged(store, [track_asks[t, True] for t in recount], sums)
        per_track |= dict(zip(recount, exact, strict=True))
    else:
        estimated, _ = await _estimates(store, asks, [], sums, past, before, ahead)
    counted = replace(figures_of_parts(rows), **estimated, **probed.estimates)
    if audiences is not None:
        if not mode.all_time:
            await audiences.learn(store, tracks, counted.listeners_total)
        if not mode.previous:
            await audiences.learn_days(store, tracks, _previous_days(bounds), counted.previous_listeners)
        if not mode.period:
            await audiences.learn_days(store, tracks, days, counted.listeners)
    return mode, rows, counted, per_track


class FiguresRead(NamedTuple):
    """A read's figures, a group's tracks, and which listener figures are estimates (`mode`: known
    only once read, as a first ask may learn them)."""

    mode: Mode
    figures: Figures
    tracks: dict[int, TrackPeriod]


async def read_figures(
    store: Store,
    track_ids: Sequence[int],
    bounds: PeriodBounds,
    audiences: Audiences | None = None,
    entity: Entity | None = None,
    group: bool = False,
    listed: int | None = None,
    past: PastRows | None = None,
) -> FiguresRead:
    """The figures of a track (or, with `group`, of an album or artist, and the period plays and
    listeners of each of its tracks that has any). When the group's period listeners come from
    sketches, so do those of its tracks known to be past SKETCH_ABOVE; the others' are counted exactly.
    With an `entity` and `listed`, only the `listed` most played tracks (ties: lower id first) have
    their listeners counted; the others show 0."""
    if not group:
        read = await _figure_rows(store, track_ids, bounds, audiences, entity=entity, past=past)
        mode, _, counted, _ = read
        return FiguresRead(mode, counted, {})
    days = _period_days(bounds)
    sketched = frozenset(t for t in track_ids if audiences is not None and audiences.large((t,), days))
    mode, rows, counted, listeners = await _figure_rows(
        store, track_ids, bounds, audiences, True, entity, listed, sketched, past
    )
    per_track: list[tuple[int, int, int]] = next(
        (row[-1] for row in rows if row[0] == (TRACKS if mode.period else PERIOD)), []
    )
    tracks = {int(t): TrackPeriod(int(t), int(p), listeners.get(int(t), int(u))) for t, p, u in per_track}
    if audiences is not None:
        # Counted exactly, or estimated past the mark at a first ask; a track left out of a listing
        # shows 0 without being counted.
        every_counted = entity is None or not mode.period
        for track in tracks.values():
            if track.track_id not in sketched and (every_counted or track.track_id in listeners):
                await audiences.learn_days(store, (track.track_id,), days, track.listeners)
    return FiguresRead(mode, counted, tracks)


async def figures(
    store: Store,
    track_ids: Sequence[int],
    bounds: PeriodBounds,
    audiences: Audiences | None = None,
    entity: Entity | None = None,
    past: PastRows | None = None,
) -> Figures:
    return (await read_figures(store, track_ids, bounds, audiences, entity, past=past)).figures


async def group_figures(
    store: Store,
    track_ids: Sequence[int],
    bounds: PeriodBounds,
    audiences: Audiences | None = None,
    entity: Entity | None = None,
    listed: int | None = None,
    past: PastRows | None = None,
) -> tuple[Figures, dict[int, TrackPeriod]]:
    """As `read_figures` for a group: its figures and its tracks'."""
    read = await read_figures(store, track_ids, bounds, audiences, entity, True, listed, past)
    return read.figures, read.tracks


async def plays_total(store: Store, track_ids: Sequence[int]) -> dict[int, int]:
    rows = await store.aquery_rows(PLAYS_TOTAL_SQL, {"track_ids": list(track_ids)})
    return {int(t): int(p) for t, p in rows}


async def realtime(
    store: Store, track_id: int, now: datetime, first_minute: datetime, unflushed: Sequence[Kept] = ()
) -> Realtime:
    """The track's realtime from its rows, and from the `unflushed` events the rows do not hold yet."""
    parameters: dict[str, Any] = {
        "track_id": track_id,
        "now": int(now.timestamp()),
        "first_minute": int(first_minute.timestamp()),
    }
    if not unflushed:
        rows = await store.aquery_rows(REALTIME_SQL, parameters, quick=True)  # quick: one track's hour
        active, plays_5m, plays_60m, (minutes, plays) = rows[0]
        return Realtime(int(active), int(plays_5m), int(plays_60m), dict(zip(minutes, plays, strict=True)))
    parameters |= {
        "ids": [k.event_id for k in unflushed],
        "offsets": [k.offset for k in unflushed],
        "partitions": [k.partition for k in unflushed],
        "listeners": [k.listener_id for k in unflushed],
        "seconds": [k.second for k in unflushed],
    }
    rows = await store.aquery_rows(REALTIME_UNFLUSHED_SQL, parameters, quick=True)
    taken, active, plays_5m, plays_60m, (minutes, plays) = rows[0]
    per_minute = dict(zip(minutes, plays, strict=True))
    now_s, first_s = parameters["now"], parameters["first_minute"]
    for kept, take in zip(unflushed, taken, strict=True):
        if not take or not kept.play or kept.second > now_s:
            continue
        plays_60m += 1
        plays_5m += kept.second > now_s - 300
        if kept.second >= first_s:
            minute = kept.second - kept.second % 60
            per_minute[minute] = per_minute.get(minute, 0) + 1
    return Realtime(int(active), int(plays_5m), int(plays_60m), per_minute)
