"""Catalog look-ups for the read side: what an id is, who it belongs to, and which tracks it covers."""

from __future__ import annotations

from dataclasses import dataclass

from insights.store import Store


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


_TRACK_COLUMNS = "track_id, title, album_id, artist_ids"


def _tracks(rows: list[tuple[object, ...]]) -> tuple[TrackEntry, ...]:
    return tuple(
        TrackEntry(int(t), str(title), None if a is None else int(a), tuple(ids))  # type: ignore[call-overload,arg-type]
        for t, title, a, ids in rows
    )


async def find_track(store: Store, track_id: int) -> TrackEntry | None:
    """The catalog entry; a track with events but none is known too, with no title and no artists."""
    rows = await store.aquery_rows(
        f"SELECT {_TRACK_COLUMNS} FROM tracks FINAL WHERE track_id = {{track_id:UInt64}}",
        {"track_id": track_id},
    )
    if rows:
        return _tracks(rows)[0]
    counted = await store.aquery_rows(
        "SELECT count() FROM track_totals WHERE track_id = {track_id:UInt64}", {"track_id": track_id}
    )
    return TrackEntry(track_id, "", None, ()) if counted[0][0] else None


async def find_album(store: Store, album_id: int) -> AlbumEntry | None:
    rows = await store.aquery_rows(
        "SELECT title, artist_id FROM albums FINAL WHERE album_id = {album_id:UInt64}",
        {"album_id": album_id},
    )
    if not rows:
        return None
    tracks = await store.aquery_rows(
        f"SELECT {_TRACK_COLUMNS} FROM tracks FINAL WHERE album_id = {{album_id:UInt64}} ORDER BY track_id",
        {"album_id": album_id},
    )
    title, artist_id = rows[0]
    return AlbumEntry(album_id, str(title), int(artist_id), _tracks(tracks))


async def find_artist(store: Store, artist_id: int) -> ArtistEntry | None:
    """Known when the catalog has the artist, or a track lists them."""
    names = await store.aquery_rows(
        "SELECT name FROM artists FINAL WHERE artist_id = {artist_id:UInt64}", {"artist_id": artist_id}
    )
    tracks = await store.aquery_rows(
        f"SELECT {_TRACK_COLUMNS} FROM tracks FINAL WHERE has(artist_ids, {{artist_id:UInt64}})"
        " ORDER BY track_id",
        {"artist_id": artist_id},
    )
    if not names and not tracks:
        return None
    return ArtistEntry(artist_id, str(names[0][0]) if names else "", _tracks(tracks))


async def artist_names(store: Store, artist_ids: list[int]) -> dict[int, str]:
    rows = await store.aquery_rows(
        "SELECT artist_id, name FROM artists FINAL WHERE artist_id IN {ids:Array(UInt64)}",
        {"ids": artist_ids},
    )
    return {int(a): str(n) for a, n in rows}
