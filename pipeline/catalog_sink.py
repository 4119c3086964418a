"""Writes catalog updates from the compacted topic into the ClickHouse catalog tables.

Idempotent by construction: each row's version is its Kafka offset, and ReplacingMergeTree keeps the
highest version of an id, so a redelivered or replayed update changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from insights.store import Store
from schemas.catalog import Album, Artist, Entity, Track


@dataclass(frozen=True)
class SourcedEntity:
    entity: Entity
    offset: int


def write_catalog(store: Store, batch: Sequence[SourcedEntity]) -> int:
    """Insert every update of the batch; returns how many rows were written."""
    artists = [[e.entity.artist_id, e.entity.name, e.offset] for e in batch if isinstance(e.entity, Artist)]
    albums = [
        [e.entity.album_id, e.entity.title, e.entity.artist_id, e.offset]
        for e in batch
        if isinstance(e.entity, Album)
    ]
    tracks = [
        [e.entity.track_id, e.entity.title, e.entity.album_id, e.entity.artist_ids, e.offset]
        for e in batch
        if isinstance(e.entity, Track)
    ]
    if artists:
        store.insert("artists", artists, ("artist_id", "name", "version"))
    if albums:
        store.insert("albums", albums, ("album_id", "title", "artist_id", "version"))
    if tracks:
        store.insert("tracks", tracks, ("track_id", "title", "album_id", "artist_ids", "version"))
    return len(artists) + len(albums) + len(tracks)
