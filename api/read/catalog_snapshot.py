"""The catalog held in the API process's memory, so access checks and track lists cost no query.

Reloaded when ClickHouse's catalog tables change: a one-statement marker, checked at most every
REFRESH_SECONDS, and at once when a request asks for an id the snapshot does not know. The periodic
check runs in the background, started by the first request after the interval: requests answer from
the snapshot meanwhile, so none waits for it (only the very first load is waited for).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from api.http.background import in_background
from api.read.catalog_lookup import AlbumEntry, ArtistEntry, TrackEntry, track_entries
from insights.store import Store

REFRESH_SECONDS = 0.5

# Rows and the sum of versions per table (in LOAD_SQL's order): any catalog write adds a row, so its
# table's marker moves and only that table is read again; a merge also moves it (fewer rows), which
# costs one needless reload.
MARKER_SQL = """
SELECT (SELECT (count(), sum(version)) FROM tracks),
       (SELECT (count(), sum(version)) FROM albums),
       (SELECT (count(), sum(version)) FROM artists)"""

LOAD_SQL = {
    "tracks": "SELECT track_id, title, album_id, artist_ids FROM tracks FINAL ORDER BY track_id",
    "albums": "SELECT album_id, title, artist_id FROM albums FINAL",
    "artists": "SELECT artist_id, name FROM artists FINAL",
}

# A track with events but no catalog entry is known (no title, no artists: only admin reads it).
HAS_EVENTS_SQL = "SELECT count() FROM track_totals WHERE track_id = {track_id:UInt64}"


@dataclass(frozen=True)
class Snapshot:
    tracks: dict[int, TrackEntry]
    albums: dict[int, AlbumEntry]
    artists: dict[int, ArtistEntry]  # the catalog's artists, and every artist a track lists

    @classmethod
    def build(cls, rows: dict[str, list[tuple[Any, ...]]]) -> Snapshot:
        tracks = track_entries(rows["tracks"])  # ordered by track_id
        by_album: defaultdict[int, list[TrackEntry]] = defaultdict(list)
        by_artist: defaultdict[int, list[TrackEntry]] = defaultdict(list)
        for track in tracks:
            if track.album_id is not None:
                by_album[track.album_id].append(track)
            for artist_id in track.artist_ids:
                by_artist[artist_id].append(track)
        albums = {
            int(a): AlbumEntry(int(a), str(title), int(artist), tuple(by_album[int(a)]))
            for a, title, artist in rows["albums"]
        }
        names = {int(a): str(name) for a, name in rows["artists"]}
        artists = {
            a: ArtistEntry(a, names.get(a, ""), tuple(by_artist[a])) for a in names.keys() | by_artist.keys()
        }
        return cls({t.track_id: t for t in tracks}, albums, artists)


class Catalog:
    """Look-ups answer from the snapshot: a missing one (or an unknown id) is loaded first, a stale
    one is checked in the background."""

    def __init__(self, store: Store, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._snapshot = Snapshot({}, {}, {})
        self._rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in LOAD_SQL}
        self._marker: tuple[Any, ...] = (None,) * len(LOAD_SQL)
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def _current(self, *, force: bool = False) -> Snapshot:
        if force or self._checked_at == float("-inf"):
            await self.refresh(force=force)
        elif time.monotonic() - self._checked_at >= self._refresh_seconds and (
            self._background is None or self._background.done()
        ):
            # ClickHouse away: the next request after the interval tries again.
            self._background = in_background(
                self.refresh(force=False), "checking the catalog for changes failed"
            )
        return self._snapshot

    async def refresh(self, *, force: bool = True) -> None:
        """Check the marker and reload when it moved; concurrent callers share one check."""
        asked_at = time.monotonic()
        async with self._lock:
            if self._checked_at >= asked_at or (
                not force and time.monotonic() - self._checked_at < self._refresh_seconds
            ):
                return  # someone checked while this caller waited
            checked_at = time.monotonic()
            marker = (await self._store.aquery_rows(MARKER_SQL, quick=True))[0]
            pairs = zip(LOAD_SQL, marker, self._marker, strict=True)
            moved = [table for table, now, before in pairs if now != before]
            for table in moved:
                self._rows[table] = await self._store.aquery_rows(LOAD_SQL[table])
            if moved:
                self._snapshot, self._marker = Snapshot.build(self._rows), marker
            self._checked_at = checked_at

    async def snapshot(self) -> Snapshot:
        """The whole catalog as it is now (exports describe their rows with it)."""
        return await self._current()

    async def track(self, track_id: int) -> TrackEntry | None:
        found = (await self._current()).tracks.get(track_id)
        if found is None:
            found = (await self._current(force=True)).tracks.get(track_id)
        if found is None:
            counted = await self._store.aquery_rows(HAS_EVENTS_SQL, {"track_id": track_id}, quick=True)
            found = TrackEntry(track_id, "", None, ()) if counted[0][0] else None
        return found

    async def album(self, album_id: int) -> AlbumEntry | None:
        found = (await self._current()).albums.get(album_id)
        return found if found is not None else (await self._current(force=True)).albums.get(album_id)

    async def artist(self, artist_id: int) -> ArtistEntry | None:
        found = (await self._current()).artists.get(artist_id)
        return found if found is not None else (await self._current(force=True)).artists.get(artist_id)

    async def artist_names(self, artist_ids: list[int]) -> dict[int, str]:
        artists = (await self._current()).artists
        return {a: artists[a].name for a in artist_ids if a in artists}
