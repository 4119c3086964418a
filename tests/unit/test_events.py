import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import (
    Event,
    FieldError,
    decode_batch,
    decode_valid_batch,
    encode_batch,
    validate_batch,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def event(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "e1",
        "type": "play",
        "track_id": 42,
        "listener_id": "u1",
        "occurred_at": "2026-06-01T11:59:00Z",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_valid_event_is_accepted_with_its_offset_preserved() -> None:
    accepted, errors = validate_batch([event(occurred_at="2026-06-01T13:00:00+02:00")], NOW)
    assert errors == []
    assert accepted[0].occurred_at.astimezone(UTC) == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


RULES = [
    ({"event_id": ""}, "event_id"),
    ({"event_id": "x" * 65}, "event_id"),
    ({"type": "skip"}, "type"),
    ({"track_id": 0}, "track_id"),
    ({"track_id": 2**63}, "track_id"),
    ({"track_id": "42"}, "track_id"),
    ({"track_id": True}, "track_id"),
    ({"listener_id": ""}, "listener_id"),
    ({"listener_id": "x" * 129}, "listener_id"),
    ({"occurred_at": "2026-06-01T11:59:00"}, "occurred_at"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": "2026-06-01T12:06:00Z"}, "occurred_at"),
    ({"occurred_at": "2025-04-26T11:59:00Z"}, "occurred_at"),
    ({"listened_ms": -1}, "listened_ms"),
    ({"listener_id": None}, "listener_id"),
]


@pytest.mark.parametrize(("changes", "field"), RULES)
def test_each_rule_of_the_contract_rejects_with_the_field(changes: dict[str, object], field: str) -> None:
    accepted, errors = validate_batch([event(**changes)], NOW)
    assert accepted == []
    assert [(e.index, e.field) for e in errors] == [(0, field)]
    assert errors[0].message.endswith(".")


def test_limits_are_inclusive() -> None:
    ok = [
        event(event_id="x" * 64),
        event(track_id=2**63 - 1),
        event(listener_id="x" * 128),
        event(occurred_at="2026-06-01T12:05:00Z"),
        event(occurred_at=(NOW - timedelta(days=400)).isoformat()),
        event(listened_ms=0),
    ]
    accepted, errors = validate_batch(ok, NOW)
    assert errors == []
    assert len(accepted) == len(ok)


def test_mixed_batch_reports_each_rejected_index() -> None:
    batch = [event(), "not an object", event(type="zap"), event(event_id="e2"), {}]
    accepted, errors = validate_batch(batch, NOW)
    assert [e.event_id for e in accepted] == ["e1", "e2"]
    assert [(e.index, e.field) for e in errors] == [(1, "event"), (2, "type"), (4, "event_id")]
    assert all(isinstance(e, FieldError) for e in errors)


def test_a_batch_message_round_trips() -> None:
    accepted, _ = validate_batch([event(listened_ms=1234), event(event_id="e2")], NOW)
    assert decode_batch(encode_batch(accepted)) == (accepted, [])
    assert all(isinstance(e, Event) for e in accepted)


def test_a_batch_message_with_bad_items_keeps_the_good_ones() -> None:
    good = encode_batch(validate_batch([event()], NOW)[0])
    payload = good[:-1] + b',{"event_id":"x"},7]'
    events, invalid = decode_batch(payload)
    assert [e.event_id for e in events] == ["e1"]
    assert [item for item, _ in invalid] == [{"event_id": "x"}, 7]


FAST_PATH_BODIES = {
    "valid": {"events": [event(), event(event_id="e2", occurred_at="2026-06-01T13:00:00+02:00")]},
    "at the limits": {
        "events": [
            event(occurred_at="2026-06-01T12:05:00Z"),
            event(occurred_at=(NOW - timedelta(days=400)).isoformat()),
        ]
    },
    "1,000 events": {"events": [event(event_id=f"e{n}") for n in range(1000)]},
    "1,001 events": {"events": [event(event_id=f"e{n}") for n in range(1001)]},
    "no events": {"events": []},
    "events not a list": {"events": {"a": 1}},
    "no events key": {"tracks": []},
    "not an object": [event()],
    "one item not an object": {"events": [event(), "x"]},
    **{
        f"one item breaks {field}: {changes}": {"events": [event(), event(**changes)]}
        for changes, field in RULES
    },
}


@pytest.mark.parametrize("name", list(FAST_PATH_BODIES))
def test_the_one_pass_decoder_takes_exactly_the_wholly_valid_batches(name: str) -> None:
    """decode_valid_batch must answer a whole valid batch exactly as validate_batch does, and leave
    every other body (None) to it, so that each error is still reported."""
    body = FAST_PATH_BODIES[name]
    fast = decode_valid_batch(json.dumps(body).encode(), NOW)
    items = body.get("events") if isinstance(body, dict) else None
    whole = isinstance(items, list) and 1 <= len(items) <= 1000
    accepted, errors = validate_batch(items, NOW) if whole else ([], [])
    if whole and not errors:
        assert fast == accepted
    else:
        assert fast is None


@pytest.mark.parametrize(("written", "taken"), [(42.0, 42), (9007199254740992.0, 2**53)])
def test_an_integer_written_with_a_zero_fraction_is_that_integer(written: float, taken: int) -> None:
    accepted, errors = validate_batch([event(track_id=written, listened_ms=1000.0)], NOW)
    assert errors == []
    assert (accepted[0].track_id, accepted[0].listened_ms) == (taken, 1000)
    assert type(accepted[0].track_id) is int


@pytest.mark.parametrize("written", [42.5, 1e17, True, "42"])
def test_a_fraction_a_float_past_2_53_or_another_type_is_still_no_track_id(written: object) -> None:
    accepted, errors = validate_batch([event(track_id=written)], NOW)
    assert accepted == []
    assert [e.field for e in errors] == ["track_id"]
