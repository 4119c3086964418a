"""The catalog's validation (schemas/catalog.py): what a catalog update may hold."""

from schemas.catalog import Track, validate_catalog


def test_ids_written_with_a_zero_fraction_are_those_ids() -> None:
    track = {"track_id": 101.0, "title": "Dawn", "album_id": 10.0, "artist_ids": [1.0, 2]}
    accepted, errors = validate_catalog({"tracks": [track]})
    assert errors == []
    assert accepted == [Track(track_id=101, title="Dawn", artist_ids=[1, 2], album_id=10)]


def test_a_fractional_id_is_reported_with_its_place() -> None:
    accepted, errors = validate_catalog({"artists": [{"artist_id": 1.5, "name": "Ana"}]})
    assert accepted == []
    assert [(e.field, e.index) for e in errors] == [("artists[0].artist_id", 0)]
