"""What the ingest edge writes to Kafka: event ids scoped to their producer, and batches that always
fit in Kafka's messages."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from starlette.testclient import TestClient

from api.ingest.endpoints import batch_messages, id_partition
from schemas.events import Event, decode_batch
from schemas.tokens import create_token
from tests.unit.conftest import SECRET, FakePublisher


def writer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SECRET, subject=subject, scopes=['events:write'])}"}


def event(event_id: str, listener: str = "u") -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {"event_id": event_id, "type": "play", "track_id": 7, "listener_id": listener, "occurred_at": now}


def published_ids(publisher: FakePublisher) -> list[str]:
    return [
        e.event_id
        for _, messages in publisher.published
        for _, value in messages
        for e in decode_batch(value)[0]
    ]


def test_one_producer_cannot_claim_another_producers_event_ids(
    client: TestClient, fakes: tuple[object, FakePublisher]
) -> None:
    publisher = fakes[1]
    for subject in ("player-a", "player-b", "player-a"):
        answer = client.post("/api/v1/events", json={"events": [event("e-1")]}, headers=writer(subject))
        assert answer.status_code == 202
    first_a, first_b, again_a = published_ids(publisher)
    assert first_a != first_b  # b's event is not a "repeat" of a's: both count
    assert first_a == again_a  # a's own repeat is, and counts once
    assert first_a.endswith(".e-1") and len(first_a) <= 64


def test_the_longest_event_ids_stay_within_64_characters_and_distinct(
    client: TestClient, fakes: tuple[object, FakePublisher]
) -> None:
    ids = ["x" * 64, "x" * 63 + "y", "z" * 55, "z" * 56]
    answer = client.post("/api/v1/events", json={"events": [event(i) for i in ids]}, headers=writer("p"))
    assert answer.status_code == 202
    stored = published_ids(fakes[1])
    assert len(set(stored)) == 4 and all(len(i) <= 64 for i in stored)


def test_a_batch_past_the_message_bound_goes_as_several_messages_that_each_fit() -> None:
    events = [
        msgspec.convert(event(f"id-{n:04d}", "listener-" + "é" * 100), Event, strict=False)
        for n in range(1_000)
    ]
    whole = len(msgspec.json.encode(events))
    messages = batch_messages(events, max_bytes=whole // 3)
    assert len(messages) >= 3 and all(len(value) <= whole // 3 for _, value in messages)
    assert [e.event_id for _, value in messages for e in decode_batch(value)[0]] == [
        e.event_id for e in events
    ]
    assert [key for key, _ in messages] == [decode_batch(v)[0][0].event_id.encode() for _, v in messages]
    assert batch_messages(events, max_bytes=whole // 3) == messages  # a retry goes the same way
    assert len(batch_messages(events, max_bytes=whole)) == 1


def test_every_copy_of_an_event_id_goes_to_the_partition_of_the_id(
    client: TestClient, fakes: tuple[object, FakePublisher]
) -> None:
    """Whatever batch carries a copy, it is read by the one worker owning that partition, in order:
    two workers can never both find it new."""
    publisher = fakes[1]
    first = [event(f"id-{n}") for n in range(40)]
    again = [event(f"id-{n}") for n in (3, 17, 31)] + [event(f"other-{n}") for n in range(5)]
    for batch in (first, again):
        assert client.post("/api/v1/events", json={"events": batch}, headers=writer("p")).status_code == 202
    where: dict[str, set[int]] = {}
    for (_, messages), partitions in zip(publisher.published, publisher.partitions, strict=True):
        assert partitions is not None
        for (_, value), partition in zip(messages, partitions, strict=True):
            for e in decode_batch(value)[0]:
                where.setdefault(e.event_id, set()).add(partition)
                assert partition == id_partition(e.event_id, 6)
    assert len({p for found in where.values() for p in found}) > 1  # the batch was spread out
    assert all(len(found) == 1 for found in where.values())


def test_unknown_fields_are_accepted_with_a_warning_naming_them(
    client: TestClient, fakes: tuple[object, FakePublisher]
) -> None:
    events = [event("a") | {"contry": "DE"}, event("b") | {"country": "de", "source": "radio"}]
    answer = client.post(
        "/api/v1/events", json={"events": [*events, event("c") | {"country": "XX"}]}, headers=writer("p")
    )
    assert answer.status_code == 202
    assert answer.json()["data"] == {
        "accepted": 2,
        "rejected": 1,
        "errors": [
            {"index": 2, "field": "country", "message": answer.json()["data"]["errors"][0]["message"]}
        ],
        "warnings": [{"index": 0, "field": "contry", "message": "Unknown field 'contry' is ignored."}],
    }
    written = [
        e for _, messages in fakes[1].published for _, value in messages for e in decode_batch(value)[0]
    ]
    assert [(e.country, e.source) for e in written] == [(None, None), ("DE", "radio")]


def test_a_batch_without_unknown_fields_is_answered_as_before(client: TestClient) -> None:
    answer = client.post("/api/v1/events", json={"events": [event("a"), event("b")]}, headers=writer("p"))
    assert answer.json()["data"] == {"accepted": 2, "rejected": 0, "errors": []}
