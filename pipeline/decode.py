"""Kafka message -> SourcedEvent, or the reason it cannot be one (for the dead-letter topic).

Pure: no Kafka, no ClickHouse, so it is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from pipeline.sink import SourcedEvent
from schemas.events import decode_event

MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Poison:
    """A message that is not a valid event, kept byte for byte with why it was refused."""

    payload: bytes
    reason: str
    partition: int
    offset: int


def decode_message(payload: object, partition: int, offset: int) -> SourcedEvent | Poison:
    if not isinstance(payload, bytes | bytearray):
        return Poison(b"", "message has no value", partition, offset)
    raw = bytes(payload)
    if len(raw) > MAX_MESSAGE_BYTES:
        return Poison(raw, f"message is larger than {MAX_MESSAGE_BYTES} bytes", partition, offset)
    try:
        event = decode_event(raw)
    except msgspec.ValidationError as error:
        return Poison(raw, f"invalid event: {error}", partition, offset)
    except msgspec.DecodeError as error:
        return Poison(raw, f"not JSON: {error}", partition, offset)
    return SourcedEvent(event=event, partition=partition, offset=offset)
