"""The write endpoints, POST /api/v1/events and POST /api/v1/catalog: validate per item,
write the valid ones to Kafka, report the rest. 202 means Kafka has acknowledged every accepted item.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from api.http.errors import ApiError, unavailable, validation_failed
from api.http.responses import success
from api.ingest.publisher import KafkaUnavailable, Message, MessageTooLarge, Placed, Publisher
from insights.kafka_identity import IdentityGuard
from insights.metrics import INGESTED
from schemas.catalog import LISTS, MAX_ITEMS_PER_LIST, encode_entity, validate_catalog
from schemas.events import (
    MAX_BODY_BYTES,
    MAX_EVENTS_PER_BATCH,
    Event,
    FieldError,
    FieldWarning,
    decode_valid_batch,
    encode_batch,
    unknown_fields,
    validate_batch,
)
from schemas.topics import CATALOG_TOPIC, EVENTS_TOPIC

# An event_id as stored: the producer's id behind a prefix naming the producer (the token's subject),
# so one producer's ids can never claim another's; within 64 characters, as every stored id is.
SCOPED_ID_ROOM = 64 - 9


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit // 1024} KiB.")


def decode_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise validation_failed("body", "The body is not valid JSON.") from error
    except RecursionError as error:  # the decoder refuses nesting deeper than about 1,000 levels
        raise validation_failed("body", "The body's JSON is nested too deeply.") from error
    if not isinstance(value, dict):
        raise validation_failed("body", "The body must be a JSON object.")
    return value


def batch_items(body: dict[str, Any], key: str, limit: int) -> list[Any]:
    items = body.get(key)
    if not isinstance(items, list) or not items:
        raise validation_failed(key, f"'{key}' must be a non-empty array.")
    if len(items) > limit:
        raise validation_failed(key, f"'{key}' may hold at most {limit} items.")
    return items


async def publish(
    request: Request,
    topic: str,
    messages: list[Message] | Callable[[int], list[tuple[int, Message]]],
    what: str,
) -> list[Placed]:
    """Send `messages`; or, given a function of the topic's partition count, the (partition,
    message) pairs it returns. Where each landed, in their order."""
    identity: IdentityGuard | None = request.app.state.identity
    if identity is not None and identity.verdict.problem is not None:
        raise unavailable(f"{what} cannot be accepted: {identity.verdict.problem}", retry_after=30)
    publisher: Publisher = request.app.state.publisher
    try:
        if callable(messages):
            placed = messages(await publisher.partition_count(topic))
            return await publisher.publish(topic, [m for _, m in placed], [p for p, _ in placed])
        return await publisher.publish(topic, messages)
    except MessageTooLarge as error:  # retrying cannot help: say so, never 503
        raise ApiError(413, f"{what} do not fit in one Kafka message; send fewer at a time.") from error
    except KafkaUnavailable as error:
        raise unavailable(f"{what} cannot be stored right now; retry the whole batch.") from error


def producer_prefix(subject: str) -> str:
    return hashlib.blake2b(subject.encode(), digest_size=4).hexdigest() + "."


def scoped(events: list[Event], subject: str) -> list[Event]:
    """The events with their ids scoped to their producer (docs/api.md, "Event ids"): a repeat of an
    id counts once per producer, and no producer can pre-claim another's ids."""
    prefix = producer_prefix(subject)

    def scoped_id(event_id: str) -> str:
        if len(event_id) <= SCOPED_ID_ROOM:
            return prefix + event_id
        return prefix + "~" + hashlib.blake2b(event_id.encode(), digest_size=16).hexdigest()

    return [msgspec.structs.replace(event, event_id=scoped_id(event.event_id)) for event in events]


def id_partition(event_id: str, partitions: int) -> int:
    """The partition every copy of an event id goes to (a stable hash of the id)."""
    return zlib.crc32(event_id.encode()) % partitions


def partitioned_batches(
    events: Sequence[Event], partitions: int, max_bytes: int
) -> list[tuple[int, Message, Sequence[Event]]]:
    """An accepted batch as (partition, message, its events): each event goes to the partition of its
    id, so every copy of an id, whatever batch carries it, is read by the one worker that owns that
    partition, one flush after another: no two workers can both find it new. Deterministic, so a
    retried batch goes as the same messages to the same partitions."""
    groups: dict[int, list[Event]] = {}
    for event in events:
        groups.setdefault(id_partition(event.event_id, partitions), []).append(event)
    return [(p, *batch) for p, group in sorted(groups.items()) for batch in message_batches(group, max_bytes)]


def batch_messages(events: Sequence[Event], max_bytes: int) -> list[Message]:
    """The Kafka messages of an accepted batch: one, or (past `max_bytes`) its halves, split again as
    needed. Deterministic, so a retried batch goes as the same messages, keyed by their first id to
    the same partitions, where every event of it is recognised."""
    return [message for message, _ in message_batches(events, max_bytes)]


def message_batches(events: Sequence[Event], max_bytes: int) -> list[tuple[Message, Sequence[Event]]]:
    """`batch_messages`, each with the events it carries."""
    encoded = encode_batch(events)
    if len(encoded) <= max_bytes or len(events) == 1:
        return [((events[0].event_id.encode(), encoded), events)]
    half = len(events) // 2
    return message_batches(events[:half], max_bytes) + message_batches(events[half:], max_bytes)


async def post_events(request: Request) -> Response:
    body = await read_body(request)
    accepted: list[Event] | None = decode_valid_batch(body, datetime.now(UTC))
    errors: list[FieldError] = []
    warnings: list[FieldWarning] = []
    if accepted is None:  # some item is invalid or has a field to warn of (or the body is): report each
        raw_events = batch_items(decode_json_object(body), "events", MAX_EVENTS_PER_BATCH)
        accepted, errors = validate_batch(raw_events)
        warnings = unknown_fields(raw_events)
    INGESTED.labels(outcome="rejected").inc(len(errors))
    if not accepted:
        raise ApiError(422, "No event in the batch is valid.", errors=errors)
    accepted = scoped(accepted, request.state.claims.subject)
    max_bytes = request.app.state.publisher.max_message_bytes
    batches: list[tuple[int, Message, Sequence[Event]]] = []

    def messages(partitions: int) -> list[tuple[int, Message]]:
        batches[:] = partitioned_batches(accepted, partitions, max_bytes)
        return [(partition, message) for partition, message, _ in batches]

    try:
        placed = await publish(request, EVENTS_TOPIC, messages, "Events")
    except ApiError:
        INGESTED.labels(outcome="unavailable").inc(len(accepted))
        raise
    INGESTED.labels(outcome="accepted").inc(len(accepted))
    # Realtime counts them from now on, before the worker stores them (api/read/unflushed.py).
    reads = request.app.state.reads
    reads.stored_so_far()
    now = time.time()
    for (_, _, events), at in zip(batches, placed, strict=True):
        reads.unflushed.accepted(events, at, now)
    report: dict[str, Any] = {"accepted": len(accepted), "rejected": len(errors), "errors": errors}
    # Only when there is something to say: a batch without unknown fields is answered as before.
    return success(report | ({"warnings": warnings} if warnings else {}), status_code=202)


async def post_catalog(request: Request) -> Response:
    body = decode_json_object(await read_body(request))
    lists = {name: body[name] for name in LISTS if name in body}
    for name, items in lists.items():
        if not isinstance(items, list):
            raise validation_failed(name, f"'{name}' must be an array.")
        if len(items) > MAX_ITEMS_PER_LIST:
            raise validation_failed(name, f"'{name}' may hold at most {MAX_ITEMS_PER_LIST} items.")
    if not any(lists.values()):
        raise validation_failed("body", "Send at least one of 'artists', 'albums' or 'tracks'.")
    accepted, errors = validate_catalog(lists)
    if not accepted:
        raise ApiError(422, "No item of the catalog update is valid.", errors=errors)
    await publish(request, CATALOG_TOPIC, [(e.key, encode_entity(e)) for e in accepted], "Catalog")
    return success({"accepted": len(accepted), "rejected": len(errors), "errors": errors}, status_code=202)
