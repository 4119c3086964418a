"""The Faust app: one agent reads `insights.events` in batches (size or time) and flushes them to the
rollups; another keeps the catalog tables from the compacted `insights.catalog`.

Offsets are acked only after `RollupSink.flush` succeeds: a failed write is retried inside the loop
with backoff and never escapes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any, TypeVar, cast

import faust
from faust.tables import TableManager

from insights.kafka_identity import IdentityGuard, KafkaReset, offset_base
from insights.metrics import BATCH_EVENTS, DEAD_LETTERS, DUPLICATES, FLUSH_SECONDS, FLUSHED, WRITE_RETRIES
from insights.settings import Settings
from insights.store import Store
from pipeline.batching import Batches
from pipeline.catalog_sink import SourcedEntity, write_catalog
from pipeline.decode import Poison, decode_catalog_message, decode_message
from pipeline.pacing import Pacer
from pipeline.progress import ProgressRecorder
from pipeline.sink import FlushResult, NotOwner, RollupSink, SourcedEvent
from schemas.changes import encode_notice
from schemas.topics import CATALOG_TOPIC, CHANGES_TOPIC, CONSUMER_GROUP, DLQ_TOPIC, EVENTS_TOPIC

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_MAX_MESSAGES = 1_000  # a message holds one ingest batch: 1 to 1,000 events
# Bounds each ClickHouse statement and what a worker holds (two batches); a message is never split.
# Larger flushes cost less per event (each statement and each part written has a fixed cost), but the
# engine's peak memory grows with them (BENCHMARKS.md: the worker, and its memory).
FLUSH_MAX_EVENTS = 100_000
BATCH_WITHIN_SECONDS = 0.25  # a batch is written at most this long after its first message came
# A worker that died is noticed after SESSION_SECONDS (Faust's default is 60 s): that is how long a
# restarted or surviving worker waits before it gets the dead one's partitions (`insights up`'s worker
# rejoins as the member it was instead, at once: pipeline/rejoin.py).
SESSION_SECONDS, HEARTBEAT_SECONDS = 10.0, 3.0
RETRY_FIRST_DELAY = 0.2
RETRY_MAX_DELAY = 5.0


class NoTables(TableManager):
    """This app keeps no Faust tables, so its start does not wait Faust's second for them to be
    defined: a second of every worker start and restart, spent waiting for nothing."""

    # Faust's services log under their module; this one under Faust's, which the logs keep quiet.
    logger = logging.getLogger("faust.tables.no_tables")

    async def on_start(self) -> None:
        if len(self):  # a table after all: Faust's own start, sleep included
            await super().on_start()
            return
        await self._update_channels()
        await self.recovery.start()


def events_partitions(topic_partitions: Iterable[Any]) -> set[int]:
    """The partitions of insights.events among Kafka topic-partitions."""
    return {tp.partition for tp in topic_partitions if tp.topic == EVENTS_TOPIC}


class Worker:
    """The write side: a Faust app, its agent and the sink it flushes to."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bootstrap: str,
        identity: IdentityGuard | None = None,
        *,
        rebalance_timeout: float = 60.0,
    ) -> None:
        self.store = store
        self.sink = RollupSink(store)
        # Without a guard (tests of other things) Kafka is trusted as it is, in epoch 0.
        self.identity = identity
        self.epoch = 0  # of the acknowledged Kafka identity the stored offsets belong to
        self._progress = ProgressRecorder(store)
        self.flushed_events = 0
        self._write_lock = asyncio.Lock()
        self.app = faust.App(
            CONSUMER_GROUP,
            broker=f"kafka://{bootstrap}",
            store="memory://",
            # Faust's own state (it keeps none we rely on) goes under the data dir, not the cwd.
            datadir=str(settings.data_dir / "faust"),
            key_serializer="raw",
            value_serializer="raw",
            web_enabled=False,
            topic_partitions=settings.topic_partitions,
            topic_replication_factor=1,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            broker_commit_every=BATCH_MAX_MESSAGES,
            broker_commit_interval=1.0,
            broker_session_timeout=SESSION_SECONDS,
            broker_heartbeat_interval=HEARTBEAT_SECONDS,
            # How long a rebalance waits for a member still busy with its batch before it is dropped
            # from the group (its partitions go to others; fencing makes its late writes no-ops).
            broker_rebalance_timeout=rebalance_timeout,
            TableManager=NoTables,
        )
        self.events_topic = self.app.topic(EVENTS_TOPIC, partitions=settings.topic_partitions, internal=True)
        self.catalog_topic = self.app.topic(CATALOG_TOPIC, partitions=1, internal=True)
        self.dlq_topic = self.app.topic(DLQ_TOPIC, partitions=1, internal=True)
        self.changes_topic = self.app.topic(CHANGES_TOPIC, partitions=1, internal=True)
        self.app.agent(self.events_topic, name="rollup_events", concurrency=1)(self.consume)
        self.app.agent(self.catalog_topic, name="catalog", concurrency=1)(self.consume_catalog)
        # faust types receivers more narrowly than its own signals call them
        self.app.on_partitions_revoked.connect(cast(Any, self._on_revoked))
        self.app.on_partitions_assigned.connect(cast(Any, self._on_assigned))

    async def consume(self, stream: Any) -> None:
        # When offsets advance: each message is acked only once the flush that wrote its events has
        # returned (the rollups are durable), in the order read; Faust's commit timer
        # (broker_commit_interval, 1 s) then commits acked offsets. A crash before that redelivers
        # the messages, and the sink recognises every event of them.
        #
        # A message's events are never split between two flushes: they share one offset, and the
        # rollups' progress markers count whole offsets.
        #
        # Reading and decoding go on while a batch is written (pipeline/batching.py): the next batch
        # fills meanwhile, up to FLUSH_MAX_EVENTS, so a backlog is written in large flushes, one
        # after another. Decoding yields to the loop every few milliseconds, so the loop's other work
        # (heartbeats, fetches, the writer) never waits long behind a backlog.
        stream.enable_acks = False  # acked by the writer below, as Faust's own take_events does
        batches = Batches(FLUSH_MAX_EVENTS, BATCH_WITHIN_SECONDS)
        writer = asyncio.create_task(self._write_batches(batches, stream), name="flush")
        pacer = Pacer()
        try:
            async for event in stream.events():
                message = event.message
                decoded, poison = decode_message(event.value, message.partition, message.offset)
                for letter in poison:
                    await self.dead_letter(letter, EVENTS_TOPIC)
                await batches.add(event, decoded)
                await pacer.pause()
        finally:
            writer.cancel()  # the agent is stopping: what is not written is not acked, so redelivered

    async def _write_batches(self, batches: Batches, stream: Any) -> None:
        """Flush each batch, then ack its messages; a failure stops the reader too."""
        try:
            while True:
                batch = await batches.take()
                # Every message read is done, those dead-lettered whole included.
                done = [(event.message.partition, event.message.offset) for event in batch.messages]
                await self.flush(batch.events, done)
                for event in batch.messages:
                    await stream.ack(event)
        except Exception as error:
            log.exception("the worker's writer stopped")
            await batches.fail(error)
            raise

    async def flush(self, batch: list[SourcedEvent], done: list[tuple[int, int]] | None = None) -> None:
        """Write `batch`, announce it, then record the progress of the messages `done` (partition,
        offset; by default those of `batch`'s events): a recorded offset has its rows and its notice
        behind it."""
        if batch:
            BATCH_EVENTS.observe(len(batch))
            with FLUSH_SECONDS.time():
                result, owner = await self.until_done("write", self._flush_owned, batch)
            # Before the batch is acked: a crash here redelivers it, and its flush announces it again.
            # Each track with its first day; one of an event not written here (a partition revoked)
            # is named as of every day.
            days = result.first_days
            named = {track: days.get(track, 0) for track in {item.event.track_id for item in batch}}
            await self.until_done("change notice", self.announce, named, result.recovered)
            self.flushed_events += result.written
            FLUSHED.inc(result.written)
            DUPLICATES.inc(result.duplicates)
        else:
            owner = self.sink.owner
        if not owner:  # nothing claimed yet, so nothing was written
            return
        assigned = events_partitions(self.app.consumer.assignment())
        if done is None:
            done = [(item.partition, item.offset) for item in batch]
        # Fenced by the claim the rows were written under: a partition lost meanwhile records nothing.
        self._progress.record(self.epoch, EVENTS_TOPIC, [d for d in done if d[0] in assigned], owner)

    async def _flush_owned(self, batch: list[SourcedEvent]) -> tuple[FlushResult, str]:
        """One attempt at writing the events of `batch` whose partitions are still assigned here.

        The events of revoked partitions are dropped, not retried: Faust commits no offset of a
        partition it no longer has, and their next owner reads them again. Assigned partitions not
        claimed yet (ClickHouse was down at the assignment) are claimed first; one that a newer
        generation holds raises NotOwner, so the batch waits, unacked, for the rebalance that
        revokes it here. Statements of a partition claimed away meanwhile write nothing (fencing)."""
        self._trust_kafka()
        assigned = events_partitions(self.app.consumer.assignment())
        base = offset_base(self.epoch)
        mine = [item for item in batch if item.partition in assigned]
        if base:  # after an accepted Kafka reset only: offsets are stored above the epoch's base
            mine = [SourcedEvent(item.event, item.partition, item.offset + base) for item in mine]
        if len(mine) < len(batch):
            log.info("%d events of revoked partitions are left to their next owner", len(batch) - len(mine))
        unclaimed = {item.partition for item in mine} - self.sink.owned
        if unclaimed:
            won = await self._write(self.sink.claim, unclaimed, self.generation)
            if unclaimed - won:
                raise NotOwner(unclaimed - won)
        if not mine:
            return FlushResult(), self.sink.owner
        return await self._write(self.sink.flush, mine), self.sink.owner

    def _trust_kafka(self) -> None:
        """Refuse to write while Kafka is not the one the stored offsets belong to (raises
        KafkaReset: the batch waits, unacked); after an acknowledged reset, claim again in its epoch."""
        if self.identity is None:
            return
        verdict = self.identity.verdict
        if verdict.problem is not None:
            raise KafkaReset(verdict.problem)
        if verdict.epoch != self.epoch:
            self.epoch = verdict.epoch
            self.sink.release(set(self.sink.owned))

    async def consume_catalog(self, stream: Any) -> None:
        async for events in stream.take_events(1000, within=BATCH_WITHIN_SECONDS):
            batch: list[SourcedEntity] = []
            for event in events:
                message = event.message
                decoded = decode_catalog_message(event.value, message.partition, message.offset)
                if isinstance(decoded, Poison):
                    await self.dead_letter(decoded, CATALOG_TOPIC)
                else:
                    batch.append(decoded)
            if batch:
                await self.until_done("catalog write", self._write_catalog, batch)

    async def _write_catalog(self, batch: list[SourcedEntity]) -> None:
        """A catalog row's version is its offset above the epoch's base: newer writes win across resets."""
        self._trust_kafka()
        base = offset_base(self.epoch)
        await self._write(write_catalog, self.store, [replace(e, offset=e.offset + base) for e in batch])
        self._progress.record(self.epoch, CATALOG_TOPIC, ((0, e.offset) for e in batch))

    async def _write(self, write: Callable[..., T], *args: Any) -> T:
        """One attempt at a ClickHouse write (callers retry it with until_done: every write here is
        idempotent, so retrying one whose reply was lost is safe)."""
        async with self._write_lock:
            try:
                return await self.store.write(write, *args)
            except Exception:
                WRITE_RETRIES.inc()
                raise

    async def until_done(self, what: str, attempt: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Await `attempt(*args)` until it succeeds, with backoff; only cancellation stops it."""
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                return await attempt(*args)
            except Exception as error:
                log.warning("%s failed (%s); retrying in %.1f s", what, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_DELAY)

    async def announce(self, tracks: dict[int, int], everything: bool) -> None:
        """Tell the API processes which tracks' rollups just changed, and from which UTC day (days
        since 1970-01-01; api/read/changes.py)."""
        delivered = await self.changes_topic.send(value=encode_notice(tracks, everything))
        await delivered

    async def dead_letter(self, poison: Poison, topic: str) -> None:
        log.warning("dead-lettering %s %d/%d: %s", topic, poison.partition, poison.offset, poison.reason)
        headers = {
            "reason": poison.reason.encode()[:1024],
            "source_topic": topic.encode(),
            "source_partition": str(poison.partition).encode(),
            "source_offset": str(poison.offset).encode(),
        }
        delivered = await self.dlq_topic.send(value=poison.payload, headers=headers)
        await delivered
        DEAD_LETTERS.labels(topic=topic).inc()

    @property
    def generation(self) -> int:
        """This worker's claim generation: the reset epoch above the consumer group's generation."""
        return (self.epoch << 32) | max(0, int(self.app.consumer_generation_id))

    async def _on_revoked(self, sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked = args[0] if args else kwargs.get("revoked", ())
        async with self._write_lock:
            self.sink.release(events_partitions(revoked))

    async def _on_assigned(self, sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Claim the assigned partitions before any of their events is written (docs/pipeline.md,
        Fencing). A claim that fails now (ClickHouse down) is retried by the first flush."""
        assigned = args[0] if args else kwargs.get("assigned", ())
        partitions = sorted(events_partitions(assigned))
        try:
            await self._write(self.sink.claim, partitions, self.generation)
        except Exception as error:
            log.warning("claiming %s failed (%s); their first flush claims again", partitions, error)

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()
        await self._progress.close()
        self.sink.close()
