"""What the read side knows of a catalog id: its title, who it belongs to, which tracks it covers.

Built from the catalog tables' rows; api/read/catalog_snapshot.py keeps them in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrackEntry:
    track_id: int
    title: str
    album_id: int | None
    artist_ids: tuple[int, ...]


@dataclass(frozen=True)
class AlbumEntry:
    album_id: int
    title: str
    artist_id: int
    tracks: tuple[TrackEntry, ...]

    @property
    def track_ids(self) -> list[int]:
        return [t.track_id for t in self.tracks]


@dataclass(frozen=True)
class ArtistEntry:
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
