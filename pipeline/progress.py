"""The worker's stored progress: per partition, the offset after the last message it has stored (or
dead-lettered), recorded in `partition_progress` once the writes, and their change notice, are durable.

Two readers rely on it: the Kafka identity check (a partition ending below it means Kafka was reset)
and the API's `complete_through` (api/read/watermark.py: every event below it is counted). So a record of
insights.events is fenced like the counts (docs/pipeline.md, "Fencing"): a worker that lost a
partition, whose own writes were therefore no-ops, cannot record progress for it either. Records are
written at most every second, and the last one always: an idle pipeline's progress is never left
unwritten until the next flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from insights.kafka_identity import record_progress
from insights.store import Store
from pipeline.sink import FENCE_TAG, OWNED

log = logging.getLogger(__name__)

RECORD_EVERY_SECONDS = 1.0

# The rows of `progress` whose partitions' newest claim is `owner`'s (the statement starts with the
# fence tag, so a new owner's claim waits for it like for any fenced write).
FENCED_PROGRESS_SQL = (
    FENCE_TAG + "INSERT INTO partition_progress (epoch, topic, kafka_partition, next_offset)"
    " SELECT {epoch:UInt32}, {topic:String}, kafka_partition, next_offset FROM"
    " (SELECT tupleElement(p, 1) AS kafka_partition, tupleElement(p, 2) AS next_offset"
    "  FROM (SELECT arrayJoin({progress:Array(Tuple(UInt16, UInt64))}) AS p))"
    " WHERE " + OWNED
)


def write_progress(store: Store, epoch: int, topic: str, next_offsets: Mapping[int, int], owner: str) -> None:
    """Record `next_offsets` (partition -> offset after the last stored message); with `owner`, only
    for the partitions whose newest claim is that owner's."""
    if not owner:
        record_progress(store, epoch, topic, next_offsets)
        return
    store.command(
        FENCED_PROGRESS_SQL,
        {
            "epoch": epoch,
            "topic": topic,
            "progress": sorted(next_offsets.items()),
            "owned": sorted(next_offsets),
            "owner": owner,
        },
    )


Key = tuple[int, str, str]  # (epoch, topic, owner)


class ProgressRecorder:
    """Collects what was stored and records it at most every `every` seconds, the last of it
    included: a record pending when the pipeline goes idle is written `every` seconds later, not at
    the next flush. Writing happens in the background; a failed write is tried again."""

    def __init__(
        self,
        store: Store,
        every: float = RECORD_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store, self.every = store, every
        self._clock, self._sleep = clock, sleep
        self._pending: dict[Key, dict[int, int]] = {}
        self._last = -math.inf
        self._writer: asyncio.Task[None] | None = None

    def record(self, epoch: int, topic: str, done: Iterable[tuple[int, int]], owner: str = "") -> None:
        """`done`: the (partition, Kafka offset) of messages just stored or dead-lettered, durably
        (and announced); `owner`: the claim they were written under (insights.events), "" if unfenced."""
        self._merge((epoch, topic, owner), ((p, offset + 1) for p, offset in done))
        if self._pending and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write_when_due(), name="progress-recorder")

    def _merge(self, key: Key, next_offsets: Iterable[tuple[int, int]]) -> None:
        pending = self._pending.setdefault(key, {})
        for partition, offset in next_offsets:
            if offset > pending.get(partition, -1):
                pending[partition] = offset
        if not pending:
            del self._pending[key]

    async def _write_when_due(self) -> None:
        while self._pending:
            wait = self._last + self.every - self._clock()
            if wait > 0:
                await self._sleep(wait)
            await self.write_pending()

    async def write_pending(self) -> None:
        """Write everything pending now (what fails stays pending)."""
        self._last = self._clock()
        pending, self._pending = self._pending, {}
        for key, next_offsets in pending.items():
            epoch, topic, owner = key
            try:
                await self.store.write(write_progress, self.store, epoch, topic, next_offsets, owner)
            except Exception as error:  # ClickHouse down: the next round writes it
                log.debug("progress not recorded: %s", error)
                self._merge(key, next_offsets.items())

    async def close(self) -> None:
        """Stop writing in the background, after one last try at what is pending."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        with contextlib.suppress(Exception):
            await self.write_pending()
