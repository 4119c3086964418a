"""The worker's loop over a batch of messages (pipeline/worker.py, Worker.consume): the next chunk is
decoded while the previous one is stored, a chunk is stored while the one before it builds its
rollups, stores and builds each stay one after another, and the batch is acked (the stream asked for
its next batch) only once every flush of it has ended."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

import pipeline.worker as worker_module
from pipeline.pacing import Pacer
from pipeline.sink import FlushResult, SourcedEvent
from pipeline.worker import Worker
from schemas.events import Event, encode_batch
from schemas.topics import EVENTS_TOPIC

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


class SlowPipeline:
    """The worker's flush stages, each taking several turns of the loop as a write to ClickHouse
    does; the pipelining between them is the Worker's own (_launch, _fly)."""

    _launch = Worker._launch
    _fly = Worker._fly
    until_done = Worker.until_done

    def __init__(self, log: list[tuple[str, int]]) -> None:
        self.log, self.epoch, self.flushed_events = log, 0, 0
        self.sink = SimpleNamespace(owner="w@1", start_builds=self._start_builds)
        self.store = SimpleNamespace(run=self._run)
        self._progress = SimpleNamespace(record=self._record)
        assigned = [SimpleNamespace(topic=EVENTS_TOPIC, partition=0)]
        self.app = SimpleNamespace(consumer=SimpleNamespace(assignment=lambda: assigned))
        self._stored = -1

    async def _turns(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def _store_owned(self, batch: list[SourcedEvent]) -> tuple[FlushResult, str, dict[int, int]]:
        self.log.append(("store starts", batch[0].offset))
        await self._turns()
        self._stored = batch[-1].offset
        self.log.append(("store ends", batch[0].offset))
        return FlushResult(written=len(batch)), "w@1", {0: self._stored}

    async def _run(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def _start_builds(self) -> None:
        self.log.append(("builds start", self._stored))

    async def _built(self, stored: dict[int, int]) -> None:
        await self._turns()
        self.log.append(("built", stored[0]))

    async def announce(self, tracks: set[int], everything: bool) -> None:
        pass

    def _record(self, epoch: int, topic: str, done: list[tuple[int, int]], owner: str) -> None:
        self.log.append(("recorded", max(offset for _, offset in done)))

    async def dead_letter(self, *args: Any) -> None:
        raise AssertionError("no message here is invalid")


def test_a_chunk_is_stored_while_the_one_before_builds_and_a_batch_is_acked_once_stored(
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

    asyncio.run(Worker.consume(cast(Worker, SlowPipeline(log)), stream))

    def at(entry: tuple[str, int]) -> int:
        return log.index(entry)

    # chunks 0-1, 2-3, 4-5, the rest of the batch (6), then 7-8: each stored once, one after another
    firsts = (0, 2, 4, 6, 7)
    stores = [(what, offset) for what, offset in log if what.startswith("store")]
    assert stores == [(what, first) for first in firsts for what in ("store starts", "store ends")]
    # each chunk's rollups are built after it is stored and after the chunk before it has been built
    lasts = (1, 3, 5, 6, 8)
    builds = [(what, offset) for what, offset in log if what in ("builds start", "built")]
    assert builds == [(what, last) for last in lasts for what in ("builds start", "built")]
    for first, last in zip(firsts, lasts, strict=True):
        assert (
            at(("store ends", first))
            < at(("builds start", last))
            < at(("built", last))
            < at(("recorded", last))
        )
    # the pipeline: a chunk is stored while the chunk before it builds, across batches too
    for before, first in ((1, 2), (3, 4), (5, 6), (6, 7)):
        assert at(("builds start", before)) < at(("store starts", first)) < at(("built", before))
    # the next chunk's messages were decoded while the previous chunk was being stored
    assert at(("store starts", 0)) < at(("decoded", 2)) < at(("store ends", 0))
    # a batch is acked once every event of it is stored, and the next batch is read only then
    assert at(("builds start", 6)) < at(("acked", 0)) < at(("decoded", 7))
    assert at(("builds start", 8)) < at(("acked", 1))
    # every chunk was built and recorded all the same, the last one after the stream ended
    assert at(("recorded", 6)) < at(("recorded", 8)) == len(log) - 1
