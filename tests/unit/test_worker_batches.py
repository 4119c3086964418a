"""The worker's loop over a batch of messages (pipeline/worker.py, Worker.consume): the next chunk is
decoded while the previous one is written, the flushes stay one after another, and the batch is acked
(the stream asked for its next batch) only once every flush of it has ended."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

import pipeline.worker as worker_module
from pipeline.pacing import Pacer
from pipeline.sink import SourcedEvent
from pipeline.worker import Worker
from schemas.events import Event, encode_batch

EVENTS_PER_MESSAGE = 2
CHUNK = 4  # events a flush: two messages


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
    """take_events as Faust's: a batch's events are acked when the loop asks for the next batch."""

    def __init__(self, batches: list[list[Any]], log: list[tuple[str, int]]) -> None:
        self.batches, self.log = batches, log

    async def take_events(self, max_: int, within: float) -> AsyncIterator[list[Any]]:
        for number, batch in enumerate(self.batches):
            yield batch
            self.log.append(("acked", number))


class SlowWrites:
    """The worker's flush, taking several turns of the loop as a write to ClickHouse does."""

    def __init__(self, log: list[tuple[str, int]]) -> None:
        self.log = log

    async def flush(self, batch: list[SourcedEvent], dead: list[tuple[int, int]] | None = None) -> None:
        self.log.append(("flush starts", batch[0].offset))
        for _ in range(20):
            await asyncio.sleep(0)
        self.log.append(("flush ends", batch[0].offset))

    async def dead_letter(self, *args: Any) -> None:
        raise AssertionError("no message here is invalid")


def test_the_next_chunk_is_decoded_during_a_flush_and_the_batch_acked_after_all_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[tuple[str, int]] = []
    decode = worker_module.decode_message

    def logged_decode(payload: object, partition: int, offset: int) -> Any:
        log.append(("decoded", offset))
        return decode(payload, partition, offset)

    monkeypatch.setattr(worker_module, "FLUSH_MAX_EVENTS", CHUNK)
    monkeypatch.setattr(worker_module, "decode_message", logged_decode)
    monkeypatch.setattr(worker_module, "Pacer", lambda: Pacer(budget=0.0))  # a turn after every message
    stream = Stream([[message(o) for o in range(7)], [message(o) for o in range(7, 9)]], log)

    asyncio.run(Worker.consume(cast(Worker, SlowWrites(log)), stream))

    flushes = [(what, offset) for what, offset in log if what.startswith("flush")]
    # one after another, each chunk once: 0-1, 2-3, 4-5, then the rest of the batch (6), then 7-8
    assert flushes == [(what, first) for first in (0, 2, 4, 6, 7) for what in ("flush starts", "flush ends")]
    # the next chunk's messages were decoded while the previous chunk was being written
    first_write = log[log.index(("flush starts", 0)) : log.index(("flush ends", 0))]
    assert ("decoded", 2) in first_write
    # a batch is acked only after its last flush, and the next batch is read only then
    assert log.index(("acked", 0)) == log.index(("flush ends", 6)) + 1
    assert log[-1] == ("acked", 1)
