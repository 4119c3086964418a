"""Kafka message -> sourced event or catalog entity, or the reason it cannot be one (dead letters).

Pure: no Kafka, no ClickHouse, so it is tested alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from pipeline.catalog_sink import SourcedEntity
from pipeline.sink import SourcedEvent
from schemas.catalog import decode_entity
from schemas.events import decode_event

MAX_MESSAGE_BYTES = 64 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class Poison:
    """A message that is not a valid event, kept byte for byte with why it was refused."""

    payload: bytes
    reason: str
    partition: int
    offset: int


def _decode(payload: object, partition: int, offset: int, decode: Callable[[bytes], T]) -> T | Poison:
    if not isinstance(payload, bytes | bytearray):
        return Poison(b"", "message has no value", partition, offset)
    raw = bytes(payload)
    if len(raw) > MAX_MESSAGE_BYTES:
        return Poison(raw, f"message is larger than {MAX_MESSAGE_BYTES} bytes", partition, offset)
    try:
        return decode(raw)
    except msgspec.ValidationError as error:
        return Poison(raw, f"invalid: {error}", partition, offset)
    except msgspec.DecodeError as error:
        return Poison(raw, f"not JSON: {error}", partition, offset)


def decode_message(payload: object, partition: int, offset: int) -> SourcedEvent | Poison:
    """An `insights.events` message."""
    decoded = _decode(payload, partition, offset, decode_event)
    return decoded if isinstance(decoded, Poison) else SourcedEvent(decoded, partition, offset)


def decode_catalog_message(payload: object, partition: int, offset: int) -> SourcedEntity | Poison:
    """An `insights.catalog` message (a tagged artist, album or track)."""
    decoded = _decode(payload, partition, offset, decode_entity)
    return decoded if isinstance(decoded, Poison) else SourcedEntity(decoded, offset)
