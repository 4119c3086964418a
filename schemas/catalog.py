"""The catalog: artists, albums and tracks, their validation, and their Kafka form.

On the topic each entity is tagged with its `kind` and keyed `<kind>:<id>`, so compaction keeps the
newest write of every entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import msgspec

from schemas.events import FieldError, describe_validation_error, with_whole_numbers

MAX_ITEMS_PER_LIST = 1000
MAX_ARTISTS_PER_TRACK = 32

Id = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Artist(msgspec.Struct, frozen=True, tag_field="kind", tag="artist"):
    artist_id: Id
    name: Name

    @property
    def key(self) -> bytes:
        return f"artist:{self.artist_id}".encode()


class Album(msgspec.Struct, frozen=True, tag_field="kind", tag="album"):
    album_id: Id
    title: Name
    artist_id: Id

    @property
    def key(self) -> bytes:
        return f"album:{self.album_id}".encode()


class Track(msgspec.Struct, frozen=True, tag_field="kind", tag="track"):
    track_id: Id
    title: Name
    artist_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=MAX_ARTISTS_PER_TRACK)]
    album_id: Id | None = None

    @property
    def key(self) -> bytes:
        return f"track:{self.track_id}".encode()


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
