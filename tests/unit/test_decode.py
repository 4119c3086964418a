from pipeline.decode import MAX_MESSAGE_BYTES, Poison, decode_message
from pipeline.sink import SourcedEvent

GOOD = b'{"event_id":"a","type":"play","track_id":1,"listener_id":"u","occurred_at":"2026-01-01T00:00:00Z"}'


def test_a_good_message_keeps_where_it_came_from() -> None:
    decoded = decode_message(GOOD, 3, 17)
    assert isinstance(decoded, SourcedEvent)
    assert (decoded.partition, decoded.offset, decoded.event.event_id) == (3, 17, "a")


def test_poison_keeps_the_original_bytes_and_a_reason() -> None:
    for payload, reason in [
        (b"\xff\x00not json", "not JSON"),
        (b'{"event_id":"a"}', "invalid"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "larger than"),
    ]:
        decoded = decode_message(payload, 0, 1)
        assert isinstance(decoded, Poison)
        assert decoded.payload == payload
        assert reason in decoded.reason
    assert isinstance(decode_message(None, 0, 2), Poison)
