"""The worker's loop over its messages (pipeline/worker.py, Worker.consume, and pipeline/batching.py):
the next batch is read and decoded while the previous one is written, the flushes stay one after
another with whole messages, and a message is acked only once the flush that wrote it has ended."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

import pipeline.worker as worker_module
from pipeline.batching import Batches
from pipeline.pacing import Pacer
from pipeline.sink import SourcedEvent
from pipeline.worker import Worker
from schemas.events import Event, encode_batch

EVENTS_PER_MESSAGE = 2
CHUNK = 4  # events a flush: two messages
MESSAGES = 9


def message(offset: int) -> Any:
    events = [
        Event(
            event_id=f"e{offset}-{n}",
            type="play",
            track_id=1,
            listener_id="l",
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for n in range(EVENTS_PER_MESSAGE)
    ]
    return SimpleNamespace(value=encode_batch(events), message=SimpleNamespace(partition=0, offset=offset))


class Stream:
    """A Faust stream with manual acks: yields its messages, then waits (a stream never ends) until
    every one of them is acked."""

    def __init__(self, messages: list[Any], log: list[tuple[str, int]]) -> None:
        self.messages, self.log = messages, log
        self.enable_acks = True
        self.all_acked = asyncio.Event()
        self.acked: list[int] = []

    async def events(self) -> AsyncIterator[Any]:
        assert not self.enable_acks, "the worker acks by itself"
        for item in self.messages:
            self.log.append(("read", item.message.offset))
            yield item
        await self.all_acked.wait()

    async def ack(self, event: Any) -> bool:
        self.acked.append(event.message.offset)
        self.log.append(("acked", event.message.offset))
        if len(self.acked) == len(self.messages):
            self.all_acked.set()
        return True


class SlowWrites:
    """The worker's flush, taking several turns of the loop as a write to ClickHouse does."""

    def __init__(self, log: list[tuple[str, int]]) -> None:
        self.log = log
        self.flushed: list[list[int]] = []
        self.done: list[tuple[int, int]] = []

    async def flush(self, batch: list[SourcedEvent], done: list[tuple[int, int]] | None = None) -> None:
        self.log.append(("flush starts", batch[0].offset))
        self.done += done or []
        for _ in range(20):
            await asyncio.sleep(0)
        self.flushed.append([item.offset for item in batch])
        self.log.append(("flush ends", batch[0].offset))

    async def dead_letter(self, *args: Any) -> None:
        raise AssertionError("no message here is invalid")

    _write_batches = Worker._write_batches


def test_messages_are_read_during_a_flush_and_acked_after_theirs(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, int]] = []
    monkeypatch.setattr(worker_module, "FLUSH_MAX_EVENTS", CHUNK)
    monkeypatch.setattr(worker_module, "BATCH_WITHIN_SECONDS", 0.01)  # the last, partial batch too
    monkeypatch.setattr(worker_module, "Pacer", lambda: Pacer(budget=0.0))  # a turn after every message
    stream = Stream([message(o) for o in range(MESSAGES)], log)
    writes = SlowWrites(log)

    asyncio.run(Worker.consume(cast(Worker, writes), stream))

    # each message in exactly one flush, whole, in order; no flush larger than the limit allows
    offsets = [offset for flushed in writes.flushed for offset in flushed]
    assert offsets == [o for o in range(MESSAGES) for _ in range(EVENTS_PER_MESSAGE)]
    assert all(len(flushed) <= CHUNK for flushed in writes.flushed)
    # the flushes are one after another
    steps = [what for what, _ in log if what.startswith("flush")]
    assert steps == ["flush starts", "flush ends"] * len(writes.flushed)
    # messages were read while the first flush was being written
    first_write = log[log.index(("flush starts", 0)) : log.index(("flush ends", 0))]
    assert any(what == "read" for what, _ in first_write)
    # each flush records the progress of its messages, one place a message
    assert writes.done == [(0, offset) for offset in range(MESSAGES)]
    # every message acked once, in order, after the end of the flush that wrote it
    assert stream.acked == list(range(MESSAGES))
    ends = [i for i, (what, _) in enumerate(log) if what == "flush ends"]
    for number, flushed in enumerate(writes.flushed):
        for offset in set(flushed):
            assert log.index(("acked", offset)) > ends[number]


def batch_of(offset: int, events: int) -> list[SourcedEvent]:
    return [cast(SourcedEvent, SimpleNamespace(offset=offset)) for _ in range(events)]


def test_a_batch_is_taken_full_or_after_its_wait_and_the_reader_waits_while_it_is_full() -> None:
    async def run() -> None:
        batches = Batches(size=4, within=3600.0)
        await batches.add("m0", batch_of(0, 2))
        await batches.add("m1", batch_of(1, 2))
        # full: the reader waits for the writer to take it
        adding = asyncio.create_task(batches.add("m2", batch_of(2, 2)))
        await asyncio.sleep(0)
        assert not adding.done()
        taken = await batches.take()
        assert taken.messages == ["m0", "m1"] and len(taken.events) == 4
        await adding
        # not full, and its first message came an hour's wait ago: not taken yet
        waiting = asyncio.create_task(batches.take())
        await asyncio.sleep(0)
        assert not waiting.done()
        waiting.cancel()

        soon = Batches(size=4, within=0.0)
        await soon.add("m3", [])  # a message dead-lettered whole
        taken = await soon.take()
        assert taken.messages == ["m3"] and taken.events == []

    asyncio.run(run())


def test_the_reader_raises_the_writers_failure_instead_of_waiting() -> None:
    async def run() -> None:
        batches = Batches(size=1, within=3600.0)
        await batches.add("m0", batch_of(0, 1))
        adding = asyncio.create_task(batches.add("m1", batch_of(1, 1)))
        await asyncio.sleep(0)
        await batches.fail(RuntimeError("the writer broke"))
        with pytest.raises(RuntimeError, match="the writer broke"):
            await adding

    asyncio.run(run())
