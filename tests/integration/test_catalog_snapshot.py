"""The in-memory catalog answers as the catalog tables do, and follows their writes."""

from __future__ import annotations

import asyncio
import time

import pytest

from api.read.catalog_lookup import TrackEntry
from api.read.catalog_snapshot import MARKER_SQL, Catalog
from insights.store import Store
from pipeline.catalog_sink import SourcedEntity, write_catalog
from schemas.catalog import Album, Artist, Track

pytestmark = pytest.mark.integration


def write(store: Store, *entities: Artist | Album | Track, offset: int) -> None:
    write_catalog(store, [SourcedEntity(e, offset + i) for i, e in enumerate(entities)])


def test_look_ups_answer_like_the_catalog_tables(clean_store: Store) -> None:
    write(
        clean_store,
        Artist(artist_id=1, name="Ana"),
        Artist(artist_id=2, name="Bo"),
        Album(album_id=10, title="First", artist_id=1),
        Track(track_id=102, title="B", album_id=10, artist_ids=[1]),
        Track(track_id=101, title="A", album_id=10, artist_ids=[1, 3]),
        Track(track_id=200, title="Single", album_id=None, artist_ids=[2, 1]),
        offset=0,
    )
    clean_store.command(
        "INSERT INTO track_totals (track_id, plays, kafka_partition, max_offset) VALUES (999, 1, 0, 0)"
    )

    async def check() -> None:
        catalog = Catalog(clean_store)
        album = await catalog.album(10)
        assert album is not None
        assert (album.title, album.artist_id, album.track_ids) == ("First", 1, [101, 102])
        artist = await catalog.artist(1)
        assert artist is not None and (artist.name, artist.track_ids) == ("Ana", [101, 102, 200])
        # Listed by a track but absent from the artists table: known, without a name.
        collaborator = await catalog.artist(3)
        assert collaborator is not None and (collaborator.name, collaborator.track_ids) == ("", [101])
        assert await catalog.track(200) == TrackEntry(200, "Single", None, (2, 1))
        # Events but no catalog entry: known, with no artists (only admin reads it).
        assert await catalog.track(999) == TrackEntry(999, "", None, ())
        assert await catalog.track(404) is None
        assert await catalog.album(404) is None
        assert await catalog.artist(404) is None
        assert await catalog.artist_names([2, 3, 404]) == {2: "Bo", 3: ""}

    asyncio.run(check())


def test_a_new_id_is_found_at_once_and_a_change_within_the_refresh_interval(clean_store: Store) -> None:
    write(clean_store, Track(track_id=1, title="Old", album_id=None, artist_ids=[1]), offset=0)

    async def check() -> None:
        catalog = Catalog(clean_store, refresh_seconds=0.3)
        old = await catalog.track(1)
        assert old is not None and old.title == "Old"
        write(
            clean_store,
            Track(track_id=1, title="New", album_id=None, artist_ids=[2]),
            Track(track_id=2, title="Second", album_id=None, artist_ids=[1]),
            offset=1,
        )
        # An id the snapshot does not know makes it look again at once.
        second = await catalog.track(2)
        assert second is not None and second.title == "Second"
        assert [t.track_id for t in (await catalog.artist(1) or pytest.fail()).tracks] == [2]
        write(clean_store, Artist(artist_id=2, name="Renamed"), offset=3)
        began = time.monotonic()
        while (await catalog.artist_names([2])).get(2) != "Renamed":
            assert time.monotonic() - began < 2, "a catalog write was not seen within 2 s"
            await asyncio.sleep(0.05)

    asyncio.run(check())


def test_no_request_waits_for_the_periodic_check(clean_store: Store) -> None:
    """Past the interval a request answers from the snapshot it has and starts the check in the
    background; the change it finds is served once it is done."""
    write(clean_store, Artist(artist_id=1, name="Before"), offset=0)
    real_query = clean_store.aquery_rows
    slow_checks: list[float] = []

    async def slow_marker(
        sql: str, parameters: dict[str, object] | None = None, *, quick: bool = False
    ) -> list[tuple[object, ...]]:
        if sql == MARKER_SQL and slow_checks:
            await asyncio.sleep(slow_checks[0])
        return await real_query(sql, parameters, quick=quick)

    async def check() -> None:
        catalog = Catalog(clean_store, refresh_seconds=0.2)
        assert await catalog.artist_names([1]) == {1: "Before"}  # the first load is waited for
        write(clean_store, Artist(artist_id=1, name="After"), offset=1)
        slow_checks.append(3.0)  # long beside the bound below, which a loaded machine may approach
        await asyncio.sleep(0.3)
        began = time.monotonic()
        assert await catalog.artist_names([1]) == {1: "Before"}  # the snapshot it has, at once
        assert time.monotonic() - began < 1.5
        while (await catalog.artist_names([1])) != {1: "After"}:
            assert time.monotonic() - began < 10, "the background check never landed"
            await asyncio.sleep(0.05)
        assert time.monotonic() - began >= 3.0  # only once the slow check was done

    clean_store.aquery_rows = slow_marker  # type: ignore[method-assign]
    try:
        asyncio.run(check())
    finally:
        clean_store.aquery_rows = real_query  # type: ignore[method-assign]
