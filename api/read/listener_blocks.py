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

Listeners are only ever read this way where the rule allows an estimate (Audiences: past 100,000).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from insights.store import Store

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
    if last < first:
        return []
    return min(_weeks_and_days(first, last), _with_months(first, last), key=len)


@dataclass(frozen=True)
class Ask:
    """An entity's listeners over [first, last] (UTC days), or all time if `first` is None; `tracks`
    are the entity's tracks in the catalog now."""

    entity: Entity
    tracks: tuple[int, ...]
    first: date | None = None
    last: date | None = None

    def blocks(self) -> tuple[list[Block], list[date]]:
        """The stored blocks that tile the range, and the days left to the tracks' own day rows: a
        track's days are its day rows, so its blocks are the weeks and months only."""
        if self.first is None or self.last is None:
            return [Block(ALL, ALL_TIME, ALL_TIME)], []
        blocks = tiling(self.first, self.last)
        if self.entity.kind != TRACK:
            return blocks, []
        return [b for b in blocks if b.grain != DAY], [b.start for b in blocks if b.grain == DAY]


def _days(block: Block) -> list[date]:
    return [block.start + timedelta(days=n) for n in range((block.last - block.start).days + 1)]


# The sums every ask's blocks are judged by, in one statement: each track's plays and fingerprint per
# block of the asked days (tracks = 0; a day outside every week and month block is its own block) and
# all time (tracks_total = 2), and each asked block's own (blocks = 1).
SUMS_SQL = """
SELECT 0, track_id, 0, 0,
    multiIf(has({months:Array(Date)}, toStartOfMonth(day)), toStartOfMonth(day),
            has({weeks:Array(Date)}, toMonday(day)), toMonday(day), day) AS block,
    sum(plays), sum(cityHash64(track_id) * plays)
FROM track_daily
WHERE track_id IN {day_tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}
GROUP BY track_id, block
UNION ALL
SELECT 1, entity_id, kind, grain, start, sum(plays), sum(fingerprint)
FROM listener_blocks
WHERE entity_id IN {entities:Array(UInt64)}
  AND (kind, entity_id, grain, start) IN {keys:Array(Tuple(UInt8, UInt64, UInt8, Date))}
GROUP BY kind, entity_id, grain, start
UNION ALL
SELECT 2, track_id, 0, 0, toDate(0), sum(plays), sum(cityHash64(track_id) * plays)
FROM track_totals
WHERE track_id IN {total_tracks:Array(UInt64)}
GROUP BY track_id"""

# Each ask's listeners, in one statement: the sketches of its sound blocks, of its tracks' days that no
# sound block holds, and (all time, without a sound block) of its tracks' all-time rows. A row read
# for several asks is merged into each.
MERGED_SQL = """
SELECT ask, uniqCombined64Merge(17)(sketch) FROM (
    SELECT {key_asks:Array(UInt32)}[indexOf({keys:Array(Tuple(UInt8, UInt64, UInt8, Date))},
        (kind, entity_id, grain, start))] AS ask, listeners AS sketch
    FROM listener_blocks
    PREWHERE entity_id IN {entities:Array(UInt64)}
        AND (kind, entity_id, grain, start) IN {keys:Array(Tuple(UInt8, UInt64, UInt8, Date))}
    UNION ALL
    SELECT arrayJoin({own_asks:Array(Array(UInt32))}[
        indexOf({own:Array(Tuple(UInt64, Date))}, (track_id, day))]), listeners_sketch
    FROM track_daily
    PREWHERE track_id IN {own_tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}
        AND (track_id, day) IN {own:Array(Tuple(UInt64, Date))}
    UNION ALL
    SELECT arrayJoin({total_asks:Array(Array(UInt32))}[indexOf({total_tracks:Array(UInt64)}, track_id)]),
        listeners_sketch
    FROM track_totals
    WHERE track_id IN {total_tracks:Array(UInt64)}
)
GROUP BY ask"""

_MODULUS = 1 << 64  # the fingerprints are sums of UInt64, as the engine adds them
Sums = tuple[int, int]


def _add(left: Sums | None, right: Sums | None) -> Sums | None:
    if right is None:
        return left
    if left is None:
        return right
    return left[0] + right[0], (left[1] + right[1]) % _MODULUS


def _key(entity: Entity, block: Block) -> tuple[int, int, int, date]:
    return entity.kind, entity.entity_id, block.grain, block.start


class BlockSums:
    """The rows of one SUMS_SQL, as the asks look them up."""

    def __init__(self, rows: Sequence[Sequence[Any]]) -> None:
        self.tracks: dict[tuple[int, date], Sums] = {}
        self.blocks: dict[tuple[int, int, int, date], Sums] = {}
        self.totals: dict[int, Sums] = {}
        for source, entity_id, kind, grain, start, plays, fingerprint in rows:
            sums = (int(plays), int(fingerprint))
            if source == 0:
                self.tracks[int(entity_id), start] = sums
            elif source == 1:
                self.blocks[int(kind), int(entity_id), int(grain), start] = sums
            else:
                self.totals[int(entity_id)] = sums

    def sound(self, ask: Ask, block: Block) -> bool:
        """Whether the block holds exactly the plays of the ask's tracks (or neither has any)."""
        truth: Sums | None = None
        for track in ask.tracks:
            own = self.totals.get(track) if block.grain == ALL else self.tracks.get((track, block.start))
            truth = _add(truth, own)
        return truth == self.blocks.get(_key(ask.entity, block))


def _dated_span(asks: Sequence[Ask]) -> tuple[date, date]:
    dated = [(ask.first, ask.last) for ask in asks if ask.first is not None and ask.last is not None]
    return min((f for f, _ in dated), default=ALL_TIME), max((last for _, last in dated), default=ALL_TIME)


async def block_sums(store: Store, asks: Sequence[Ask]) -> BlockSums:
    """The sums that tell which of the asks' blocks are sound, in one statement (none for no ask)."""
    if not asks:
        return BlockSums([])
    every = [(ask.entity, b) for ask in asks for b in ask.blocks()[0]]
    first, last = _dated_span(asks)
    rows = await store.aquery_rows(
        SUMS_SQL,
        {
            "months": sorted({b.start for _, b in every if b.grain == MONTH}),
            "weeks": sorted({b.start for _, b in every if b.grain == WEEK}),
            "day_tracks": sorted({t for ask in asks if ask.first is not None for t in ask.tracks}),
            "first": first,
            "last": last,
            "keys": [_key(entity, b) for entity, b in every],
            "entities": sorted({entity.entity_id for entity, _ in every}),
            "total_tracks": sorted({t for ask in asks if ask.first is None for t in ask.tracks}),
        },
    )
    return BlockSums(rows)


async def merged(store: Store, asks: Sequence[Ask], sums: BlockSums) -> list[int]:
    """Each ask's listeners (estimates), in order, in one statement: `sums` must cover the asks."""
    if not asks:
        return []
    sound_keys: list[tuple[int, int, int, date]] = []
    key_asks: list[int] = []
    own: dict[tuple[int, date], list[int]] = {}
    totals: dict[int, list[int]] = {}
    for i, ask in enumerate(asks):
        blocks, days = ask.blocks()
        for block in blocks:
            if sums.sound(ask, block):
                sound_keys.append(_key(ask.entity, block))
                key_asks.append(i)
            elif block.grain == ALL:
                for track in ask.tracks:
                    totals.setdefault(track, []).append(i)
            else:
                days.extend(_days(block))
        for track in ask.tracks:
            for day in days:
                own.setdefault((track, day), []).append(i)
    first, last = _dated_span(asks)
    rows = await store.aquery_rows(
        MERGED_SQL,
        {
            "keys": sound_keys,
            "key_asks": key_asks,
            "entities": sorted({entity_id for _, entity_id, _, _ in sound_keys}),
            "own": list(own),
            "own_asks": list(own.values()),
            "own_tracks": sorted({track for track, _ in own}),
            "first": min((day for _, day in own), default=first),
            "last": max((day for _, day in own), default=last),
            "total_tracks": list(totals),
            "total_asks": list(totals.values()),
        },
    )
    counts = {int(i): int(n) for i, n in rows}
    return [counts.get(i, 0) for i in range(len(asks))]


async def listeners(store: Store, asks: Sequence[Ask]) -> list[int]:
    """Each ask's listeners (estimates), in order: two statements, whatever the number of asks."""
    if not asks:
        return []
    return await merged(store, asks, await block_sums(store, asks))


# A chart's buckets that are whole blocks (UTC days of albums and artists, ISO weeks of any entity),
# each with its plays and fingerprint from the tracks' own rows (stored = 0) and from its block
# (stored = 1, with the block's estimate).
_BUCKETS = """
SELECT 0 AS stored, toUnixTimestamp(toDateTime(BUCKET, 'UTC')) AS bucket, sum(plays),
    sum(cityHash64(track_id) * plays), 0
FROM track_daily
WHERE track_id IN {tracks:Array(UInt64)} AND day >= {first:Date} AND day <= {last:Date}
  AND bucket IN {buckets:Array(Int64)}
GROUP BY bucket
UNION ALL
SELECT 1, toUnixTimestamp(toDateTime(start, 'UTC')) AS bucket, sum(plays), sum(fingerprint),
    uniqCombined64Merge(17)(listeners)
FROM listener_blocks
WHERE kind = {kind:UInt8} AND entity_id = {entity:UInt64} AND grain = {grain:UInt8}
  AND start >= {first:Date} AND start <= {last:Date} AND bucket IN {buckets:Array(Int64)}
GROUP BY start"""
BUCKETS_SQL = {DAY: _BUCKETS.replace("BUCKET", "day"), WEEK: _BUCKETS.replace("BUCKET", "toMonday(day)")}
GRAINS = {"day": DAY, "week": WEEK}


async def bucket_estimates(
    store: Store, entity: Entity, tracks: Sequence[int], interval: str, buckets: Sequence[int], above: int
) -> dict[int, int]:
    """The listeners of the chart buckets (unix starts of UTC days or weeks) whose block is sound and
    estimates more than `above`; the others are left to be counted exactly."""
    grain = GRAINS.get(interval)
    if grain is None or (grain == DAY and entity.kind == TRACK) or not buckets:
        return {}
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
    truth: dict[int, tuple[int, int]] = {}
    stored: dict[int, tuple[tuple[int, int], int]] = {}
    for is_stored, bucket, plays, fingerprint, estimate in await store.aquery_rows(
        BUCKETS_SQL[grain], parameters
    ):
        if is_stored:
            stored[int(bucket)] = ((int(plays), int(fingerprint)), int(estimate))
        else:
            truth[int(bucket)] = (int(plays), int(fingerprint))
    return {
        bucket: estimate
        for bucket, (sums, estimate) in stored.items()
        if truth.get(bucket) == sums and estimate > above
    }
