"""The catalog: artists, albums and tracks, their validation, and their Kafka form.

On the topic each entity is tagged with its `kind` and keyed `<kind>:<id>`, so compaction keeps the
newest write of every entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from schemas.events import FieldError, describe_validation_error, with_whole_numbers
from schemas.fields import AlbumId, ArtistId, Id, TrackId, checked, doc

MAX_ITEMS_PER_LIST = 1000
MAX_ARTISTS_PER_TRACK = 32

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


# The items of POST /api/v1/catalog; on the topic each is the tagged type below it.
class CatalogArtist(msgspec.Struct, frozen=True):
    artist_id: ArtistId
    name: Annotated[Name, doc("The artist's name.", "Ana Vale")]


class Artist(CatalogArtist, frozen=True, tag_field="kind", tag="artist"):
    @property
    def key(self) -> bytes:
        return f"artist:{self.artist_id}".encode()


class CatalogAlbum(msgspec.Struct, frozen=True):
    album_id: AlbumId
    title: Annotated[Name, doc("The album's title.", "First Light")]
    artist_id: Annotated[Id, doc("The artist who owns the album.", 1)]


class Album(CatalogAlbum, frozen=True, tag_field="kind", tag="album"):
    @property
    def key(self) -> bytes:
        return f"album:{self.album_id}".encode()


class CatalogTrack(msgspec.Struct, frozen=True):
    track_id: TrackId
    title: Annotated[Name, doc("The track's title.", "Dawn")]
    artist_ids: Annotated[
        list[Id],
        msgspec.Meta(min_length=1, max_length=MAX_ARTISTS_PER_TRACK, extra_json_schema={"uniqueItems": True}),
        doc("The primary artist first, then the collaborators; no artist twice.", [1, 2]),
    ]
    album_id: Annotated[Id | None, doc("The album the track is on, or null for a single.", 10)] = None


class Track(CatalogTrack, frozen=True, tag_field="kind", tag="track"):
    @property
    def key(self) -> bytes:
        return f"track:{self.track_id}".encode()


class CatalogUpdate(msgspec.Struct):
    """Any of the three lists. Items are upserts: the newest write of an id wins. An update is taken
    when at least one item of any list is valid: the valid ones are written, every other item is
    reported in the answer's `errors`."""

    artists: (
        Annotated[
            list[Any], checked("CatalogArtist", "Artists to create or update.", max_length=MAX_ITEMS_PER_LIST)
        ]
        | UnsetType
    ) = UNSET
    albums: (
        Annotated[
            list[Any], checked("CatalogAlbum", "Albums to create or update.", max_length=MAX_ITEMS_PER_LIST)
        ]
        | UnsetType
    ) = UNSET
    tracks: (
        Annotated[
            list[Any], checked("CatalogTrack", "Tracks to create or update.", max_length=MAX_ITEMS_PER_LIST)
        ]
        | UnsetType
    ) = UNSET


Entity = Artist | Album | Track
INTEGER_FIELDS = ("artist_id", "album_id", "track_id", "artist_ids")
LISTS: dict[str, type[Artist] | type[Album] | type[Track]] = {
    "artists": Artist,
    "albums": Album,
    "tracks": Track,
}


def validate_entity(raw: Any, kind: type[Entity]) -> Entity | tuple[str, str]:
    """One entity, or (field, message) when it breaks a rule."""
    if not isinstance(raw, dict):
        return "", "Each item must be a JSON object."
    try:
        item = with_whole_numbers({k: v for k, v in raw.items() if k != "kind"}, INTEGER_FIELDS)
        entity = msgspec.convert(item, kind, strict=True)
    except msgspec.ValidationError as error:
        return describe_validation_error(error)
    if isinstance(entity, Track) and len(set(entity.artist_ids)) != len(entity.artist_ids):
        return "artist_ids", "artist_ids must not repeat an artist."
    return entity


def validate_catalog(lists: dict[str, Sequence[Any]]) -> tuple[list[Entity], list[FieldError]]:
    """Every valid entity, in list order (artists, albums, tracks), and an error per invalid one."""
    accepted: list[Entity] = []
    errors: list[FieldError] = []
    for name, kind in LISTS.items():
        for index, raw in enumerate(lists.get(name, ())):
            result = validate_entity(raw, kind)
            if isinstance(result, tuple):
                field, message = result
                path = f"{name}[{index}]" + (f".{field}" if field else "")
                errors.append(FieldError(field=path, message=message, index=index))
            else:
                accepted.append(result)
    return accepted, errors


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Entity)


def encode_entity(entity: Entity) -> bytes:
    return _encoder.encode(entity)


def decode_entity(payload: bytes) -> Entity:
    """Raises msgspec.DecodeError/ValidationError on a poison message."""
    return _decoder.decode(payload)
