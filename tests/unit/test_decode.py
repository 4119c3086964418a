from pipeline.decode import MAX_MESSAGE_BYTES, decode_message

GOOD = b'{"event_id":"a","type":"play","track_id":1,"listener_id":"u","occurred_at":"2026-01-01T00:00:00Z"}'


def test_every_event_of_a_batch_message_keeps_the_message_offset() -> None:
    events, poison = decode_message(b"[" + GOOD + b"," + GOOD.replace(b'"a"', b'"b"') + b"]", 3, 17)
    assert poison == []
    assert [(e.partition, e.offset, e.event.event_id) for e in events] == [(3, 17, "a"), (3, 17, "b")]


def test_a_single_event_object_is_a_batch_of_one() -> None:
    events, poison = decode_message(GOOD, 0, 5)
    assert ([e.event.event_id for e in events], poison) == (["a"], [])


def test_poison_keeps_the_original_bytes_and_a_reason() -> None:
    for payload, reason in [
        (b"\xff\x00not json", "not JSON"),
        (b'{"event_id":"a"}', "invalid"),
        (b"[1, 2, 3]", "invalid"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "larger than"),
    ]:
        events, poison = decode_message(payload, 0, 1)
        assert events == []
        assert [p.payload for p in poison] == [payload]
        assert reason in poison[0].reason
    assert decode_message(None, 0, 2)[1][0].reason == "message has no value"


def test_bad_items_beside_good_ones_are_dead_lettered_alone() -> None:
    events, poison = decode_message(b"[" + GOOD + b', {"event_id": "x"}]', 1, 9)
    assert [e.event.event_id for e in events] == ["a"]
    assert [p.payload for p in poison] == [b'{"event_id":"x"}']
    assert "invalid item" in poison[0].reason
