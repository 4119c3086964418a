"""`complete_through`: an instant before which every event accepted with a 202 is counted in an answer,
from the worker's flushed offsets (docs/api.md, "Complete through").

Every round (twice a second) the API reads how far the workers have stored each partition of
insights.events (the greater of `partition_progress` and the consumer group's committed offset: both
move only after the rows and their change notice are durable), then, at an instant T, asks Kafka
where each partition ends. An event accepted before T (acks=all) lies below those end offsets; so
once the stored progress reaches a sample's end offsets, everything accepted before its T is counted.
`complete_through` is the latest such T. Idle, it trails now by at most a round or two.

A claim once true stays true (a counted event stays counted), so the feed stores it in
`complete_through_claims` every few seconds and when it stops; a process that starts answers with the
newest stored claim until its own rounds measure a later one, rather than `null`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from aiokafka import TopicPartition

from insights.kafka_identity import IdentityGuard, stored_progress
from insights.kafka_rounds import KafkaRounds
from insights.metrics import COMPLETE_THROUGH_LAG
from insights.store import Store
from schemas.topics import CHANGES_TOPIC, CONSUMER_GROUP, EVENTS_TOPIC

log = logging.getLogger(__name__)

ROUND_SECONDS = 0.5
SAVE_EVERY_SECONDS = 5.0
SAVED_CLAIM_SQL = "SELECT toFloat64(max(through)), count() FROM complete_through_claims"
# Samples kept while the workers are behind (a stopped worker): beyond this, every other one is
# dropped, so the memory stays bounded and the answer only gets coarser, never wrong.
MAX_SAMPLES = 4096
CONFIRMATIONS = 64


def rfc3339_ms(moment: float) -> str:
    """Unix seconds as RFC 3339 in UTC with milliseconds, rounded down (never later than it is)."""
    at = datetime.fromtimestamp(math.floor(moment * 1000) / 1000, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class Watermark:
    """The arithmetic, fed by WatermarkFeed (or a test): samples (T, end offsets), and readings of the
    stored progress. Progress and end offsets only grow (within one Kafka identity), so the samples
    the progress covers are always the oldest ones: they are dropped as soon as they are covered, and
    the newest of them is remembered as `through`."""

    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self._max_samples = max_samples
        self._samples: deque[tuple[float, dict[int, int]]] = deque()
        self._progress: dict[int, int] = {}
        self._through: float | None = None
        # (end of insights.changes sampled after a progress reading, `through` that reading allows):
        # what a kept answer may claim once the API has applied every notice below that end.
        self._confirmations: deque[tuple[int, float]] = deque(maxlen=CONFIRMATIONS)
        self._restarts = 0

    @property
    def progress(self) -> tuple[int, Mapping[int, int]]:
        """How many times Kafka's offsets started again, and partition -> the offset after the last
        message stored, as far as read (within one Kafka identity: it only grows)."""
        return self._restarts, self._progress

    @property
    def through(self) -> float | None:
        """Unix seconds: every event accepted before it is in the rollups; None while unknown."""
        return self._through

    def recall(self, through: float) -> None:
        """A claim measured before (by this process or another): it stays true, so it stands until a
        later one is measured."""
        if self._through is None or through > self._through:
            self._through = through

    def observe(
        self, progress: Mapping[int, int], at: float, ends: Mapping[int, int], changes_end: int | None = None
    ) -> None:
        """One round: `progress` (partition -> offset after the last stored message) was read first;
        then, at `at`, Kafka's end offsets of insights.events (`ends`) and of insights.changes."""
        for partition, offset in progress.items():
            self._progress[partition] = max(offset, self._progress.get(partition, 0))
        sample = dict(ends)
        if self._samples and self._samples[-1][1] == sample:
            self._samples[-1] = (at, sample)  # the same ends, later: the newer instant is as good
        else:
            self._samples.append((at, sample))
        if len(self._samples) > self._max_samples:
            self._samples = deque(list(self._samples)[-1::-2][::-1])
        while self._samples and self._covered(self._samples[0][1]):
            self._through = self._samples.popleft()[0]
        if changes_end is not None and self._through is not None:
            self._confirmations.append((changes_end, self._through))

    def _covered(self, ends: Mapping[int, int]) -> bool:
        return all(end <= self._progress.get(partition, 0) for partition, end in ends.items())

    def confirmed(self, applied: int) -> float | None:
        """`through` for an answer kept unchanged (api/read/changes.py) while the API has applied every
        change notice below offset `applied`: the newest reading whose notices all were."""
        best = None
        for changes_end, through in self._confirmations:
            if changes_end <= applied:
                best = through
        return best

    def restart(self) -> None:
        """Kafka's identity changed (an accepted reset): its offsets start again, so samples and
        progress are forgotten. What `through` said stays true: those events are counted."""
        self._samples.clear()
        self._progress = {}
        self._confirmations.clear()
        self._restarts += 1


class WatermarkFeed(KafkaRounds):
    """Runs the rounds of a Watermark in the background, start / stop like the other parts."""

    name = "watermark"

    def __init__(
        self,
        store: Store,
        bootstrap: str,
        watermark: Watermark,
        identity: IdentityGuard | None = None,
        interval: float = ROUND_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(bootstrap, interval)
        self.store, self.watermark, self.identity, self.clock = store, watermark, identity, clock
        self._epoch: int | None = None
        self._saved: float | None = None  # the claim last stored
        self._saved_at = -math.inf

    async def recall(self) -> None:
        """Answer with the newest stored claim until the rounds measure a later one."""
        ((through, claims),) = await self.store.aquery_rows(SAVED_CLAIM_SQL)
        if claims:
            self.watermark.recall(float(through))
            self._saved = float(through)

    async def save(self) -> None:
        """Store the current claim, when it is newer than the one last stored."""
        through = self.watermark.through
        if through is None or (self._saved is not None and through <= self._saved):
            return
        stored = datetime.fromtimestamp(math.floor(through * 1000) / 1000, UTC)  # rounded down, as answered
        await self.store.ainsert("complete_through_claims", [[stored]], ["through"])
        self._saved, self._saved_at = through, self.clock()

    async def stop(self) -> None:
        await super().stop()
        with contextlib.suppress(Exception):  # the store away: the next process measures afresh
            await self.save()

    async def _run(self) -> None:
        recalled = False
        while True:
            try:
                if not recalled:  # before Kafka is asked: answers need not wait for it
                    await self.recall()
                    recalled = True
                await self.connect()
                await self.round()
                if self.clock() - self._saved_at >= SAVE_EVERY_SECONDS:
                    await self.save()
            except Exception as error:  # Kafka or ClickHouse away: `through` waits, and stays true
                log.debug("complete_through not advanced: %s", error)
            await asyncio.sleep(self._interval)

    async def round(self) -> None:
        epoch = 0
        if self.identity is not None:
            verdict = self.identity.verdict
            if not verdict.ok:  # Kafka is not the one the stored offsets belong to: compare nothing
                return
            epoch = verdict.epoch
        if epoch != self._epoch:
            self.watermark.restart()
            self._epoch = epoch
        progress = await self._progress(epoch)
        at = self.clock()
        # The partitions are read after `at`: an event accepted before it went to one that existed.
        described = await self._admin.describe_topics([EVENTS_TOPIC])
        partitions = [
            TopicPartition(EVENTS_TOPIC, p["partition"])
            for topic in described
            if topic["topic"] == EVENTS_TOPIC and topic["error_code"] == 0
            for p in topic["partitions"]
        ]
        if not partitions:
            return
        changes = TopicPartition(CHANGES_TOPIC, 0)
        ends = await self._consumer.end_offsets([*partitions, changes])
        self.watermark.observe(
            progress, at, {tp.partition: int(ends[tp]) for tp in partitions}, int(ends.get(changes, -1))
        )
        through = self.watermark.through
        COMPLETE_THROUGH_LAG.set(math.nan if through is None else max(self.clock() - through, 0.0))

    async def _progress(self, epoch: int) -> dict[int, int]:
        """Per partition, how far the workers have stored it: the recorded progress, or the group's
        committed offset when that is further (a record lost in a crash, a worker just restarted)."""
        stored = await self.store.run(stored_progress, self.store, epoch)
        progress = {p: offset for (topic, p), offset in stored.items() if topic == EVENTS_TOPIC}
        committed = await self._admin.list_consumer_group_offsets(CONSUMER_GROUP)
        for tp, meta in committed.items():
            if tp.topic == EVENTS_TOPIC and meta.offset > progress.get(tp.partition, 0):
                progress[tp.partition] = meta.offset
        return progress


def complete_through_text(through: float | None) -> str | None:
    return None if through is None else rfc3339_ms(through)
