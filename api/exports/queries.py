"""Export queries: the entities a token may read, ranked by plays, and their figures in one batched query.

Reads only the catalog (FINAL) and the rollups; every value is a ClickHouse query parameter.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from api.read import audience_queries as audience
from api.read import local_day_queries as local_days
from api.read.catalog_lookup import TrackEntry
from api.read.figures_sql import (
    ENTITIES,
    LOCAL_DAYS,
    Figures,
    Part,
    figures_by_entity,
    figures_statement,
    utc_days,
)
from insights.store import Store
from schemas.audience import DIMENSIONS
from schemas.local_ranges import LocalRange
from schemas.tokens import TokenClaims

# The readable entities of each kind, (id, name). `admin` reads everything; otherwise a track is readable
# if it lists one of the token's artists, an album if its artist is listed, an artist if listed.
READABLE_SQL = {
    # Tracks counted without a catalog entry list no artists, so only admin sees them (title '').
    "tracks": """
SELECT track_id AS id, max(title) AS name FROM
(
    SELECT track_id, title FROM tracks FINAL
    WHERE {admin:Bool} OR hasAny(artist_ids, {artists:Array(UInt64)})
    UNION ALL
    SELECT DISTINCT track_id, '' AS title FROM track_totals WHERE {admin:Bool}
)
GROUP BY track_id""",
    "albums": """
SELECT album_id AS id, title AS name FROM albums FINAL
WHERE {admin:Bool} OR artist_id IN {artists:Array(UInt64)}""",
    # An artist is known when the catalog has them or a catalogued track lists them.
    "artists": """
SELECT artist_id AS id, max(name) AS name FROM
(
    SELECT artist_id, name FROM artists FINAL
    UNION ALL
    SELECT arrayJoin(artist_ids) AS artist_id, '' AS name FROM tracks FINAL
)
WHERE {admin:Bool} OR artist_id IN {artists:Array(UInt64)}
GROUP BY artist_id""",
}

READABLE_BY_ID_SQL = {kind: sql + "\nORDER BY id" for kind, sql in READABLE_SQL.items()}

# (entity_id, track_id): the tracks each readable entity covers, as the single-entity endpoints read them.
READABLE_MEMBERS_SQL = {
    "tracks": "SELECT id AS entity_id, id AS track_id FROM readable",
    "albums": "SELECT assumeNotNull(album_id) AS entity_id, track_id FROM tracks FINAL"
    " WHERE album_id IN (SELECT id FROM readable)",
    "artists": "SELECT entity_id, track_id FROM"
    " (SELECT arrayJoin(artist_ids) AS entity_id, track_id FROM tracks FINAL)"
    " WHERE entity_id IN (SELECT id FROM readable)",
}

# Where a range's rows come from, keyed by whether the range is in UTC: the figures statement's own
# sources (the previous range and the range as one exact part).
SOURCES = {True: utc_days("exact"), False: LOCAL_DAYS}

# Every readable entity (optionally only those of `only`), most played in the range first, then by id:
# the order of the row exports. One aggregate over the range's rows of the entities' tracks.
RANKED_SQL = """
WITH readable AS ({readable}), members AS ({members})
SELECT r.id, r.name FROM readable AS r
LEFT JOIN
(
    SELECT entity_id, sumIf(plays, {in_range}) AS plays
    {rows}
    GROUP BY entity_id
) AS p ON r.id = p.entity_id
WHERE NOT {{focused:Bool}} OR r.id IN {{only:Array(UInt64)}}
ORDER BY p.plays DESC, r.id"""

# Keyed by kind and whether the range is in UTC.
RANKED_BY_TYPE = {
    (kind, utc): RANKED_SQL.format(
        readable=READABLE_SQL[kind],
        members=READABLE_MEMBERS_SQL[kind],
        in_range=source.in_range,
        rows=source.reading(ENTITIES),
    )
    for kind in READABLE_SQL
    for utc, source in SOURCES.items()
}

# (entity_id, track_id) pairs of the requested entities: the same track sets the single-entity
# endpoints read (an album's tracks, every track that lists an artist).
MEMBERS_SQL = {
    "tracks": "SELECT arrayJoin({ids:Array(UInt64)}) AS entity_id, entity_id AS track_id",
    "albums": "SELECT album_id AS entity_id, track_id FROM tracks FINAL"
    " WHERE album_id IN {ids:Array(UInt64)}",
    "artists": "SELECT arrayJoin(artist_ids) AS entity_id, track_id FROM tracks FINAL"
    " WHERE hasAny(artist_ids, {ids:Array(UInt64)}) AND entity_id IN {ids:Array(UInt64)}",
}

# Figures per entity in one statement: the figures statement of the single-entity endpoints, each part
# also grouped by entity over MEMBERS_SQL's tracks. The previous range and the range come as one
# exact part, as the endpoints count a range they have not yet seen past 100,000 listeners.
# Keyed by kind and whether the range is in UTC.
FIGURES_BY_TYPE = {
    (kind, utc): f"WITH members AS ({members})" + figures_statement([Part(source)], shape=ENTITIES)
    for kind, members in MEMBERS_SQL.items()
    for utc, source in SOURCES.items()
}


def range_parameters(chosen: LocalRange) -> dict[str, Any]:
    """The statements' parameters for the local days `chosen` (UTC days as dates, else as instants)."""
    if chosen.utc:
        previous_start = chosen.first - timedelta(days=chosen.days)
        return {"start": chosen.first, "exact_from": previous_start, "exact_to": chosen.last}
    return local_days.range_parameters(chosen)


NO_FIGURES = Figures()


def access_parameters(claims: TokenClaims) -> dict[str, Any]:
    return {"admin": "admin" in claims.scopes, "artists": sorted(claims.artists)}


async def ranked_entities(
    store: Store,
    kind: str,
    claims: TokenClaims,
    chosen: LocalRange,
    only: Collection[int] | None = None,
) -> list[tuple[int, str]]:
    """Readable entities of `kind` (within `only` when given): (id, name), most played first, then by id."""
    parameters = access_parameters(claims) | range_parameters(chosen)
    parameters |= {"focused": only is not None, "only": sorted(only or ())}
    rows = await store.aquery_rows(RANKED_BY_TYPE[kind, chosen.utc], parameters)
    return [(int(entity_id), str(name)) for entity_id, name in rows]


async def figures_of(store: Store, kind: str, ids: Sequence[int], chosen: LocalRange) -> dict[int, Figures]:
    """Figures of each entity that has any counted event; absent ids have none (all zero)."""
    if not ids:
        return {}
    rows = await store.aquery_rows(
        FIGURES_BY_TYPE[kind, chosen.utc], {"ids": list(ids)} | range_parameters(chosen)
    )
    return figures_by_entity(rows)


# Breakdowns of the requested entities, each over the same tracks as its figures (MEMBERS_SQL).
BREAKDOWNS_BY_TYPE = {kind: audience.entities_breakdown_sql(members) for kind, members in MEMBERS_SQL.items()}


async def breakdowns_of(
    store: Store, kind: str, ids: Sequence[int], chosen: LocalRange, limit: int
) -> audience.Breakdowns:
    """Every dimension's breakdown of each entity that had a play in the range; absent: none."""
    if not ids:
        return {}
    return await audience.entity_breakdowns(
        store, BREAKDOWNS_BY_TYPE[kind], {"ids": list(ids)}, DIMENSIONS, chosen, limit
    )


# The report's catalog: readable tracks, and the other tracks of readable albums (an album lists all
# its tracks, as GET /albums/{id} does). Tracks counted without a catalog entry: admin only.
REPORT_TRACKS_SQL = """
SELECT track_id, title, album_id, artist_ids FROM tracks FINAL
WHERE {admin:Bool} OR hasAny(artist_ids, {artists:Array(UInt64)})
   OR album_id IN (SELECT album_id FROM albums FINAL WHERE artist_id IN {artists:Array(UInt64)})
UNION ALL
SELECT DISTINCT track_id, '', NULL, [] FROM track_totals
WHERE {admin:Bool} AND track_id NOT IN (SELECT track_id FROM tracks FINAL)
ORDER BY track_id"""

REPORT_ALBUMS_SQL = """
SELECT album_id, title, artist_id FROM albums FINAL
WHERE {admin:Bool} OR artist_id IN {artists:Array(UInt64)}
ORDER BY album_id"""


@dataclass(frozen=True)
class CatalogAlbum:
    album_id: int
    title: str
    artist_id: int


async def report_tracks(store: Store, claims: TokenClaims) -> list[TrackEntry]:
    rows = await store.aquery_rows(REPORT_TRACKS_SQL, access_parameters(claims))
    return [
        TrackEntry(int(t), str(title), None if a is None else int(a), tuple(int(i) for i in ids))
        for t, title, a, ids in rows
    ]


async def report_albums(store: Store, claims: TokenClaims) -> list[CatalogAlbum]:
    rows = await store.aquery_rows(REPORT_ALBUMS_SQL, access_parameters(claims))
    return [CatalogAlbum(int(a), str(title), int(artist)) for a, title, artist in rows]


async def readable_all(store: Store, kind: str, claims: TokenClaims) -> list[tuple[int, str]]:
    """Every readable entity of `kind` at once, ids ascending (the report holds them all anyway)."""
    rows = await store.aquery_rows(READABLE_BY_ID_SQL[kind], access_parameters(claims))
    return [(int(entity_id), str(name)) for entity_id, name in rows]
