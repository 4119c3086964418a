"""The ClickHouse sink against the real engine: exact counts whatever is retried, replayed or cut."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from insights.migrate import load_migrations
from insights.store import Store
from pipeline.sink import RollupSink, SourcedEvent, sole_writer
from schemas.events import Event

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
ID_COLUMNS_BEFORE_015 = ("event_id", "kafka_partition", "kafka_offset")


def claimed_sink(store: Store) -> RollupSink:
    """A sink that took the partitions over, as a worker does when the consumer group assigns them."""
    return sole_writer(store)


def sourced(
    n: int, partition: int, offset: int, *, track: int = 7, kind: str = "play", days: int = 0
) -> SourcedEvent:
    event = Event(
        event_id=f"e{n}",
        type=kind,  # type: ignore[arg-type]
        track_id=track,
        listener_id=f"listener-{n % 3}",
        occurred_at=NOW - timedelta(days=days),
    )
    return SourcedEvent(event, partition, offset)


def totals(store: Store) -> dict[int, tuple[int, int, int]]:
    rows = store.query_rows(
        "SELECT track_id, sum(plays), sum(likes), uniqExactMerge(listeners)"
        " FROM track_totals GROUP BY track_id"
    )
    return {track: (plays, likes, listeners) for track, plays, likes, listeners in rows}


def daily(store: Store) -> Counter[tuple[int, object]]:
    rows = store.query_rows("SELECT track_id, day, sum(plays) FROM track_daily GROUP BY track_id, day")
    return Counter({(track, day): plays for track, day, plays in rows})


def stream(count: int, partitions: int = 3) -> list[SourcedEvent]:
    """`count` events over a few tracks and days, offsets increasing per partition."""
    offsets = Counter[int]()
    events = []
    for n in range(count):
        track = 1 + n % 5
        partition = track % partitions
        kind = ("play", "play", "like", "heartbeat")[n % 4]
        events.append(sourced(n, partition, offsets[partition], track=track, kind=kind, days=n % 9))
        offsets[partition] += 1
    return events


def expected_totals(events: list[SourcedEvent]) -> dict[int, tuple[int, int, int]]:
    result: dict[int, tuple[int, int, int]] = {}
    for track in {e.event.track_id for e in events}:
        mine = {e.event.event_id: e.event for e in events if e.event.track_id == track}.values()
        plays = [e for e in mine if e.type == "play"]
        likes = sum(1 for e in mine if e.type == "like")
        result[track] = (len(plays), likes, len({e.listener_id for e in plays}))
    return result


def test_processing_the_same_batch_twice_counts_once(clean_store: Store) -> None:
    events = stream(200)
    claimed_sink(clean_store).flush(events)
    first = totals(clean_store)
    claimed_sink(clean_store).flush(events)
    claimed_sink(clean_store).flush(events[50:120])
    assert totals(clean_store) == first == expected_totals(events)


def test_duplicate_event_ids_count_once_within_and_across_batches(clean_store: Store) -> None:
    sink = claimed_sink(clean_store)
    sink.flush([sourced(1, 0, 0), sourced(1, 0, 1), sourced(2, 0, 2)])
    sink.flush([sourced(1, 0, 3), sourced(2, 0, 4), sourced(3, 0, 5)])
    assert totals(clean_store) == {7: (3, 0, 3)}


def test_rebatched_redelivery_after_a_restart_counts_once(clean_store: Store) -> None:
    events = stream(300)
    sink = claimed_sink(clean_store)
    for start in range(0, 300, 70):
        sink.flush(events[start : start + 70])
    # a new worker gets everything again from an older offset, cut differently
    again = claimed_sink(clean_store)
    for start in range(100, 300, 33):
        again.flush(events[start : start + 33])
    assert totals(clean_store) == expected_totals(events)


def test_a_crash_between_the_event_write_and_the_rollups_is_repaired(clean_store: Store) -> None:
    events = stream(120)
    sink = claimed_sink(clean_store)
    sink.flush(events[:60])

    def crash(partitions: object) -> dict[str, int]:
        raise RuntimeError("killed")

    sink._catch_up = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        sink.flush(events[60:])
    assert totals(clean_store) == expected_totals(events[:60])
    claimed_sink(clean_store).flush(events[90:])  # restart; redelivery from some offset
    assert totals(clean_store) == expected_totals(events)


@pytest.mark.parametrize("table", ["event_keys", "events"])
def test_a_lost_reply_to_a_successful_insert_does_not_count_twice(clean_store: Store, table: str) -> None:
    events = stream(80)
    sink = claimed_sink(clean_store)
    real_command = clean_store.command
    lost: list[str] = []

    def insert_then_fail(sql: str, *args: object) -> None:
        real_command(sql, *args)  # type: ignore[arg-type]
        if f"INSERT INTO {table} (" in sql and not lost:
            lost.append(table)
            raise TimeoutError("reply lost")

    clean_store.command = insert_then_fail  # type: ignore[method-assign]
    try:
        with pytest.raises(TimeoutError):
            sink.flush(events)
        assert lost == [table]
        sink.flush(events)  # the worker's retry of the same batch
    finally:
        clean_store.command = real_command  # type: ignore[method-assign]
    assert totals(clean_store) == expected_totals(events)


@pytest.mark.parametrize("failing", ["track_daily", "track_totals"])
def test_one_rollup_failing_while_the_others_land_is_finished_once_on_retry(
    clean_store: Store, failing: str
) -> None:
    """The rollups are built side by side: one of them failing must neither lose its events nor let
    the retry build the others twice."""
    events = stream(90)
    sink = claimed_sink(clean_store)
    sink.flush(events[:30])
    real_command = clean_store.command
    failed: list[str] = []

    def fail_once(sql: str, *args: object) -> None:
        if f"INSERT INTO {failing} " in sql and not failed:
            failed.append(failing)
            raise RuntimeError("ClickHouse went away")
        real_command(sql, *args)  # type: ignore[arg-type]

    clean_store.command = fail_once  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="went away"):
            sink.flush(events[30:])
    finally:
        clean_store.command = real_command  # type: ignore[method-assign]
    assert failed == [failing]
    built = totals(clean_store) if failing == "track_daily" else None
    sink.flush(events[30:])  # the worker's retry of the same batch
    assert totals(clean_store) == expected_totals(events)
    assert sum(daily(clean_store).values()) == sum(plays for plays, _, _ in expected_totals(events).values())
    if built is not None:  # the totals had landed before the retry, in full
        assert built == expected_totals(events)


def test_rollups_read_only_parts_stored_since_their_events_and_all_after_a_failure(
    clean_store: Store,
) -> None:
    """Each build tells the engine when the events it still has to see were stored, so older parts are
    skipped; after a failure nothing is assumed: the repair reads the parts stored before it."""
    events = stream(90)
    stored_at = iter([2_000_000_000, 2_000_000_100, 2_000_000_200])
    now = [0]
    ((newest,),) = clean_store.query_rows("SELECT max(generation) FROM partition_owners")
    sink = RollupSink(clean_store, clock=lambda: now[0])
    sink.claim(range(64), int(newest) + 1)
    real_command = clean_store.command
    bounds: list[int] = []
    failing = [False]

    def watched(sql: str, parameters: dict[str, object] | None = None) -> None:
        if "INSERT INTO track_daily " in sql:
            assert parameters is not None
            bounds.append(int(parameters["ingested_since"]))  # type: ignore[call-overload]
            if failing[0]:
                failing[0] = False
                raise RuntimeError("ClickHouse went away")
        real_command(sql, parameters)

    clean_store.command = watched  # type: ignore[method-assign]
    try:
        now[0] = next(stored_at)
        sink.flush(events[:30])
        assert bounds == [now[0]]  # only the part this flush wrote
        now[0], failing[0] = next(stored_at), True
        with pytest.raises(RuntimeError, match="went away"):
            sink.flush(events[30:60])  # its events stored, the daily rollup not built
        assert bounds[1:] == [now[0]]
        now[0] = next(stored_at)
        sink.flush(events[60:])
    finally:
        clean_store.command = real_command  # type: ignore[method-assign]
    # The repair reads every part (what the failed flush stored is not assumed known), then the
    # flush's own events are read from its part alone.
    assert bounds[2:] == [0, now[0]]
    assert totals(clean_store) == expected_totals(events)
    assert sum(daily(clean_store).values()) == sum(plays for plays, _, _ in expected_totals(events).values())


def test_partitions_far_apart_in_offsets_are_each_built_over_their_own_range(clean_store: Store) -> None:
    """One build covers every partition of a flush, each with its own range: a partition thousands of
    offsets ahead of another neither drags the other's old events in nor leaves its own out."""
    ahead = [sourced(n, 0, 5_000 + n, track=1) for n in range(40)]
    behind = [sourced(100 + n, 1, n, track=2) for n in range(40)]
    sink = claimed_sink(clean_store)
    sink.flush(ahead[:20] + behind[:20])
    sink.flush(ahead[20:] + behind[20:])
    assert totals(clean_store) == expected_totals(ahead + behind)
    assert daily(clean_store) == Counter({(1, NOW.date()): 40, (2, NOW.date()): 40})


@pytest.mark.parametrize("copy_comes", ["before the redelivery", "in the redelivered batch"])
def test_ids_written_without_their_events_count_once_even_if_duplicated_meanwhile(
    clean_store: Store, copy_comes: str
) -> None:
    """A crash after the dedupe index took a batch's ids but before `events` took the batch: a copy
    of one of those ids on another partition (sorting before the original's) is the duplicate, and
    the original counts when its message comes again, alone or in one batch with the copy."""
    events = stream(40)
    sink = claimed_sink(clean_store)
    real_command = clean_store.command

    def crash_before_events(sql: str, *args: object) -> None:
        if "INSERT INTO events (" in sql:
            raise RuntimeError("killed")
        real_command(sql, *args)  # type: ignore[arg-type]

    clean_store.command = crash_before_events  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            sink.flush(events)
    finally:
        clean_store.command = real_command  # type: ignore[method-assign]
    assert clean_store.query_rows("SELECT count() FROM event_keys") == [(40,)]
    original = events[5]
    assert original.partition > 0
    copy = SourcedEvent(original.event, partition=0, offset=10_000)
    restarted = claimed_sink(clean_store)
    if copy_comes == "before the redelivery":
        assert restarted.flush([copy]).duplicates == 1
        restarted.flush(events)  # the redelivery
    else:
        restarted.flush([copy, *events])
    assert totals(clean_store) == expected_totals(events)


def test_late_events_land_in_their_own_day(clean_store: Store) -> None:
    sink = claimed_sink(clean_store)
    sink.flush([sourced(1, 0, 0, days=300), sourced(2, 0, 1, days=300), sourced(3, 0, 2)])
    assert daily(clean_store) == Counter({(7, (NOW - timedelta(days=300)).date()): 2, (7, NOW.date()): 1})


def test_the_move_to_the_sorted_dedupe_index_keeps_what_was_counted(clean_store: Store) -> None:
    """Migration 015 fills `event_keys` from `events` and drops 007's RocksDB `event_ids`; an id that
    a crash recorded in `event_ids` without storing its event is left out, so its redelivery counts."""
    events = stream(60)
    claimed_sink(clean_store).flush(events[:40])
    migrations = {m.version: m for m in load_migrations()}
    clean_store.command("TRUNCATE TABLE event_keys")  # the store as the revision before left it
    for statement in migrations[7].statements:
        clean_store.command(statement)
    crashed = events[40]
    clean_store.insert(
        "event_ids", [[crashed.event.event_id, crashed.partition, crashed.offset]], ID_COLUMNS_BEFORE_015
    )
    for statement in migrations[15].statements:
        clean_store.command(statement)
    assert clean_store.query_rows("EXISTS TABLE event_ids") == [(0,)]
    carriers = clean_store.query_rows(
        "SELECT key, kafka_partition, kafka_offset FROM event_keys ORDER BY key"
    )
    expected = clean_store.query_rows(
        "SELECT sipHash128(event_id) AS key, kafka_partition, kafka_offset FROM events ORDER BY key"
    )
    assert carriers == expected and len(carriers) == 40
    claimed_sink(clean_store).flush(events)  # every message redelivered
    assert totals(clean_store) == expected_totals(events)
