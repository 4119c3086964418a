"""Kafka message -> sourced event or catalog entity, or the reason it cannot be one (dead letters).

Pure: no Kafka, no ClickHouse, so it is tested alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

import msgspec

from pipeline.catalog_sink import SourcedEntity
from pipeline.sink import SourcedEvent
from schemas.catalog import decode_entity
from schemas.events import decode_batch, encode_json

MAX_MESSAGE_BYTES = 2 * 1024 * 1024  # an ingest batch is at most 1,000 events from a 1 MiB body

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


def decode_message(payload: object, partition: int, offset: int) -> tuple[list[SourcedEvent], list[Poison]]:
    """An `insights.events` message: a batch of events. Every event of it shares the message's
    offset. A message with no valid event goes to the dead letters whole, byte for byte; otherwise
    each invalid item goes there alone."""
    decoded = _decode(payload, partition, offset, decode_batch)
    if isinstance(decoded, Poison):
        return [], [decoded]
    events, invalid = decoded
    if invalid and not events:
        reasons = "; ".join(sorted({reason for _, reason in invalid}))[:900]
        return [], [Poison(bytes(cast(bytes, payload)), f"invalid: {reasons}", partition, offset)]
    poison = [Poison(encode_json(item), f"invalid item: {why}", partition, offset) for item, why in invalid]
    return [SourcedEvent(event, partition, offset) for event in events], poison


def decode_catalog_message(payload: object, partition: int, offset: int) -> SourcedEntity | Poison:
    """An `insights.catalog` message (a tagged artist, album or track)."""
    decoded = _decode(payload, partition, offset, decode_entity)
    return decoded if isinstance(decoded, Poison) else SourcedEntity(decoded, offset)
