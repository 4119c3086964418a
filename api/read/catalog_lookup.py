"""What the read side knows of a catalog id: its title, who it belongs to, which tracks it covers.

Built from the catalog tables' rows; api/read/catalog_snapshot.py keeps them in memory. A catalog of
100,000 tracks is hundreds of thousands of objects that live as long as the snapshot: they are structs
the garbage collector never walks (they hold ids, text and each other, never a cycle), so a full
collection does not grow with the catalog.
"""

from __future__ import annotations

from typing import Any

import msgspec


class TrackEntry(msgspec.Struct, frozen=True, gc=False):
    track_id: int
    title: str
    album_id: int | None
    artist_ids: tuple[int, ...]


class AlbumEntry(msgspec.Struct, frozen=True, gc=False):
    album_id: int
    title: str
    artist_id: int
    tracks: tuple[TrackEntry, ...]

    @property
    def track_ids(self) -> list[int]:
        return [t.track_id for t in self.tracks]


class ArtistEntry(msgspec.Struct, frozen=True, gc=False):
    artist_id: int
    name: str
    tracks: tuple[TrackEntry, ...]  # every track that lists the artist

    @property
    def track_ids(self) -> list[int]:
        return [t.track_id for t in self.tracks]


def track_entries(rows: list[tuple[Any, ...]]) -> tuple[TrackEntry, ...]:
    """(track_id, title, album_id, artist_ids) rows as entries."""
    return tuple(
        TrackEntry(int(t), str(title), None if a is None else int(a), tuple(int(i) for i in ids))
        for t, title, a, ids in rows
    )
