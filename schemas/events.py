"""The listening event: its type, its validation rules and the per-index report.

Pure and fast (msgspec): the ingest edge validates with it and the worker decodes Kafka messages with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from schemas.countries import COUNTRIES
from schemas.fields import MAX_ID, TODAY, Count, Id, Text, checked, doc

MAX_BODY_BYTES = 1024 * 1024  # of a write request (events, catalog)
MAX_EVENTS_PER_BATCH = 1000
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=400)
EVENT_TYPES = ("play", "like", "repost", "heartbeat")
# Where a play came from and what it played on: closed lists, so the rollups by them stay small.
SOURCES = (
    "search",
    "library",
    "playlist",
    "album",
    "artist_page",
    "radio",
    "recommendation",
    "embed",
    "external",
    "other",
)
PLATFORMS = ("web", "ios", "android", "desktop", "tv", "speaker", "car", "other")

EventType = Literal["play", "like", "repost", "heartbeat"]
Source = Literal[
    "search",
    "library",
    "playlist",
    "album",
    "artist_page",
    "radio",
    "recommendation",
    "embed",
    "external",
    "other",
]
Platform = Literal["web", "ios", "android", "desktop", "tv", "speaker", "car", "other"]
# Two letters of either case; whether they name an assigned country is checked apart (COUNTRIES).
CountryCode = Annotated[str, msgspec.Meta(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")]
COUNTRY_MESSAGE = "country must be the ISO 3166-1 alpha-2 code of an assigned country, such as DE or us."


class Event(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One listening event. Any other field is ignored, and named in the answer's `warnings`."""

    # Also the exact JSON written to Kafka. The words and examples are the OpenAPI document's.
    event_id: Annotated[
        str,
        Meta(min_length=1, max_length=64),
        doc(
            "The dedupe key: a repeat of an id within 7 days (at least) of its first arrival is not "
            "counted again.",
            "3f9c2a1e-0001",
        ),
    ]
    type: Annotated[EventType, doc("`heartbeat` counts only toward realtime `active_listeners`.", "play")]
    track_id: Annotated[Id, doc("The track listened to.", 101)]
    listener_id: Annotated[
        str, Meta(min_length=1, max_length=128), doc("A user id or an anonymous device id.", "fan-42")
    ]
    occurred_at: Annotated[
        datetime,
        Meta(tz=True),
        doc(
            f"RFC 3339 with an offset; at most {MAX_FUTURE.seconds // 60} minutes in the future and at "
            f"most {MAX_AGE.days} days old.",
            f"{TODAY}T00:00:00Z",
        ),
    ]
    listened_ms: Annotated[
        Annotated[int, Meta(ge=0, le=MAX_ID)] | None,
        doc("Optional: how long the listener listened, in milliseconds.", 183000),
    ] = None
    country: Annotated[
        CountryCode | None,
        doc(
            "Optional: the listener's country, the ISO 3166-1 alpha-2 code of an assigned country in either "
            "case (stored upper case); any other two letters reject the event.",
            "DE",
        ),
    ] = None
    source: Annotated[Source | None, doc("Optional: where the play came from.", "playlist")] = None
    platform: Annotated[Platform | None, doc("Optional: what it played on.", "ios")] = None


EVENT_FIELDS = frozenset(Event.__struct_fields__)


class _KnownFieldsOnly(Event, frozen=True, forbid_unknown_fields=True):
    """An Event that refuses any other field: the one-pass decode of a clean batch uses it, so a batch
    with a field to warn about goes the per-item way, where the warning is made."""


class FieldError(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What is wrong with one field of the request, or with the item at `index` of a list."""

    field: Annotated[str, doc("The field at fault, e.g. `track_id` or `tracks[0].title`.", "track_id")]
    message: Annotated[Text, doc("A sentence saying what is wrong.", "Expected int, got str.")]
    index: (
        Annotated[Count, doc("The position of the rejected item in its list (sent for per-item errors).", 0)]
        | UnsetType
    ) = UNSET


class FieldWarning(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A field of an event that was ignored."""

    index: Annotated[Count, doc("The position of the event in `events`.", 0)]
    field: Annotated[str, doc("The field's name, as sent (JSON allows an empty one).", "contry")]
    message: Annotated[
        Text, doc("A sentence saying what happened to it.", "Unknown field 'contry' is ignored.")
    ]


_PATH = re.compile(r" - at `\$(?:\[\d+\])?\.?(?P<path>[^`]*)`$")
_REQUIRED = re.compile(r"missing required field `(?P<field>[^`]+)`")


def describe_validation_error(error: msgspec.ValidationError) -> tuple[str, str]:
    """Turn msgspec's message ("Expected `int`, got `str` - at `$.track_id`") into (field, sentence)."""
    text = str(error)
    required = _REQUIRED.search(text)
    if required:
        return required.group("field"), "This field is required."
    match = _PATH.search(text)
    field = match.group("path") if match else ""
    message = text[: match.start()] if match else text
    message = message.replace("`", "")
    return field or "event", message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# Past 2^53 a float no longer names one integer: `1e17` may have been any of several ids.
EXACT_FLOAT_LIMIT = 2**53


def whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= EXACT_FLOAT_LIMIT:
        return int(value)
    if isinstance(value, list):
        return [whole(v) for v in value]
    return value


def with_whole_numbers(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """JSON has one kind of number, and JSON Schema calls `101.0` the integer 101: integer fields take
    a whole number however it is written (the strict decoders alone would refuse the float)."""
    fixed = {name: whole(item[name]) for name in fields if name in item}
    return item | fixed if fixed else item


INTEGER_FIELDS = ("track_id", "listened_ms")


_CHOICES = {
    "country": COUNTRY_MESSAGE,
    "source": f"source must be one of {', '.join(SOURCES)}.",
    "platform": f"platform must be one of {', '.join(PLATFORMS)}.",
}


def validate_event(raw: Any, now: datetime) -> Event | FieldError:
    """Validate one decoded JSON value; the error carries no index (the caller adds it)."""
    if not isinstance(raw, dict):
        return FieldError(field="event", message="Each event must be a JSON object.")
    try:
        event = msgspec.convert(with_whole_numbers(raw, INTEGER_FIELDS), Event, strict=True)
    except msgspec.ValidationError as error:
        field, message = describe_validation_error(error)
        return FieldError(field=field, message=_CHOICES.get(field, message))
    if event.country is not None:
        country = event.country.upper()
        if country not in COUNTRIES:
            return FieldError(field="country", message=COUNTRY_MESSAGE)
        if country != event.country:
            event = msgspec.structs.replace(event, country=country)
    occurred = event.occurred_at.astimezone(UTC)
    if occurred > now + MAX_FUTURE:
        return FieldError(field="occurred_at", message="occurred_at is more than 5 minutes in the future.")
    if occurred < now - MAX_AGE:
        return FieldError(field="occurred_at", message="occurred_at is older than 400 days.")
    return event


def validate_batch(
    raw_events: Sequence[Any], now: datetime | None = None
) -> tuple[list[Event], list[FieldError]]:
    """Split a batch into valid events and per-index errors, keeping the batch order."""
    now = now or datetime.now(UTC)
    accepted: list[Event] = []
    errors: list[FieldError] = []
    for index, raw in enumerate(raw_events):
        result = validate_event(raw, now)
        if isinstance(result, Event):
            accepted.append(result)
        else:
            errors.append(FieldError(field=result.field, message=result.message, index=index))
    return accepted, errors


def unknown_fields(raw_events: Sequence[Any]) -> list[FieldWarning]:
    """A warning for each field of an event that an event does not define: it is ignored, never silently
    (a misspelt `contry` shows at once, and newer players still work against this server)."""
    return [
        FieldWarning(index, name, f"Unknown field {name!r} is ignored.")
        for index, raw in enumerate(raw_events)
        if isinstance(raw, dict)
        for name in raw
        if name not in EVENT_FIELDS
    ]


def upper_countries(events: list[Event]) -> list[Event] | None:
    """The events with their countries in upper case, or None when one is not an assigned country."""
    countries = {e.country for e in events if e.country is not None}
    if countries <= COUNTRIES:
        return events
    if any(c.upper() not in COUNTRIES for c in countries):
        return None
    return [
        e
        if e.country is None or e.country in COUNTRIES
        else msgspec.structs.replace(e, country=e.country.upper())
        for e in events
    ]


class _IngestBody(msgspec.Struct):
    events: list[_KnownFieldsOnly]


class EventBatch(msgspec.Struct):
    """A batch is taken when at least one of its events is valid: the valid ones are written, every
    other item is reported by its index in the answer's `errors`."""

    events: Annotated[
        list[Any], checked("Event", "The events.", min_length=1, max_length=MAX_EVENTS_PER_BATCH)
    ]


_encoder = msgspec.json.Encoder()
_batch_decoder = msgspec.json.Decoder(list[Event])
_body_decoder = msgspec.json.Decoder(_IngestBody)


def decode_valid_batch(body: bytes, now: datetime) -> list[Event] | None:
    """The events of an ingest body when it is a whole valid batch, decoded and checked in one pass
    in C; otherwise None, and the caller sorts the items one by one (validate_batch) to report each
    error. The answer for a valid batch is the same either way: this only skips per-item work.
    A batch with a field an event does not define also goes the per-item way, which warns of it."""
    try:
        events: list[Event] = list(_body_decoder.decode(body).events)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    if not 1 <= len(events) <= MAX_EVENTS_PER_BATCH:
        return None
    times = [event.occurred_at for event in events]
    if min(times) < now - MAX_AGE or max(times) > now + MAX_FUTURE:
        return None
    return upper_countries(events)


def encode_batch(events: Sequence[Event]) -> bytes:
    """One Kafka message for a whole accepted batch: a JSON array of events.

    One message per request rather than per event keeps Kafka's and Faust's per-message costs off
    the per-event path (see BENCHMARKS.md)."""
    return _encoder.encode(events)


def decode_batch(payload: bytes) -> tuple[list[Event], list[tuple[Any, str]]]:
    """A Kafka message (a JSON array of events, or a single event object) -> the valid events, and
    each invalid item with the reason. Raises msgspec.DecodeError when the payload is not JSON."""
    try:
        return _batch_decoder.decode(payload), []
    except msgspec.ValidationError:
        pass  # some item is invalid, or it is not an array: sort the items one by one
    raw = msgspec.json.decode(payload)
    events: list[Event] = []
    invalid: list[tuple[Any, str]] = []
    for item in raw if isinstance(raw, list) else [raw]:
        try:
            events.append(msgspec.convert(item, Event, strict=True))
        except msgspec.ValidationError as error:
            invalid.append((item, str(error)))
    return events, invalid


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)
