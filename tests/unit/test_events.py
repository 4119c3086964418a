import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import (
    PLATFORMS,
    SOURCES,
    Event,
    FieldError,
    FieldWarning,
    decode_batch,
    decode_valid_batch,
    encode_batch,
    unknown_fields,
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
    ({"country": "XX"}, "country"),  # two letters, but no assigned country
    ({"country": "uk"}, "country"),  # the United Kingdom is GB
    ({"country": "DEU"}, "country"),
    ({"country": "D1"}, "country"),
    ({"country": 49}, "country"),
    ({"source": "Radio"}, "source"),
    ({"source": ""}, "source"),
    ({"platform": "smart_tv"}, "platform"),
    ({"platform": ["web"]}, "platform"),
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
    "countries in either case": {"events": [event(country="de"), event(event_id="e2", country="Np")]},
    "sources and platforms": {"events": [event(source=s, platform=p) for s, p in zip(SOURCES, PLATFORMS)]},
    "an unknown field": {"events": [event(), event(event_id="e2", contry="DE")]},
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
    if whole and not errors and not unknown_fields(items):
        assert fast is not None and encode_batch(fast) == encode_batch(accepted)
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


def test_optional_fields_are_kept_and_countries_stored_upper_case() -> None:
    accepted, errors = validate_batch(
        [event(country="de", source="artist_page", platform="car", listened_ms=31_000), event(country=None)],
        NOW,
    )
    assert errors == []
    assert (accepted[0].country, accepted[0].source, accepted[0].platform) == ("DE", "artist_page", "car")
    assert (accepted[1].country, accepted[1].source, accepted[1].platform) == (None, None, None)
    message = json.loads(encode_batch(accepted))
    assert message[0]["country"] == "DE" and "country" not in message[1]


def test_an_event_without_the_new_fields_is_written_exactly_as_before() -> None:
    accepted, _ = validate_batch([event(listened_ms=5)], NOW)
    assert json.loads(encode_batch(accepted)) == [
        {"event_id": "e1", "type": "play", "track_id": 42, "listener_id": "u1"}
        | {"occurred_at": "2026-06-01T11:59:00Z", "listened_ms": 5}
    ]


def test_bad_values_name_the_allowed_ones() -> None:
    _, errors = validate_batch([event(source="tv"), event(platform="radio"), event(country="zz")], NOW)
    assert [e.field for e in errors] == ["source", "platform", "country"]
    assert "artist_page" in errors[0].message and "speaker" in errors[1].message
    assert "ISO 3166-1 alpha-2" in errors[2].message


def test_unknown_fields_are_warned_of_by_index_and_name() -> None:
    items = [event(contry="DE"), event(), "not an object", event(plattform="web", extra=1)]
    assert unknown_fields(items) == [
        FieldWarning(0, "contry", "Unknown field 'contry' is ignored."),
        FieldWarning(3, "plattform", "Unknown field 'plattform' is ignored."),
        FieldWarning(3, "extra", "Unknown field 'extra' is ignored."),
    ]
    accepted, errors = validate_batch(items, NOW)
    assert len(accepted) == 3 and [e.index for e in errors] == [2]
