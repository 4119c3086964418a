"""Which Kafka the stored offsets belong to, and whether the Kafka we talk to is still it.

The worker's progress markers and the catalog's row versions are Kafka offsets. If Kafka's log is
lost or a topic recreated, offsets start again at 0, below what is stored: the rollups would never
count the new events, and older catalog writes would win over newer ones. So every process compares
Kafka with what ClickHouse holds: the cluster id recorded with the data (`kafka_identity`), and the
highest offset the worker has stored per partition (`partition_progress`, recorded after durable
writes). A mismatch is refused loudly: the worker writes nothing, ingest answers 503 and /readyz is
not ready, each with the reason, until an operator acknowledges the reset (`insights kafka
accept-reset`). That starts a new epoch: stored offsets and catalog versions carry the epoch in their
high bits (`offset_base`), so everything written after the reset orders after everything before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from insights.kafka_rounds import KafkaRounds
from insights.store import Store
from schemas.topics import CATALOG_TOPIC, EVENTS_TOPIC

log = logging.getLogger(__name__)

WATCHED_TOPICS = (EVENTS_TOPIC, CATALOG_TOPIC)
EPOCH_SHIFT = 40  # 2^40 offsets (a trillion messages) per partition and epoch
CHECK_SECONDS = 5.0
RESET_COMMAND = "insights kafka accept-reset"
UNKNOWN_TOPIC = 3  # Kafka's UNKNOWN_TOPIC_OR_PARTITION
NOT_CHECKED = "Kafka has not been checked yet."


def offset_base(epoch: int) -> int:
    """What an epoch adds to a Kafka offset before it is stored (0 before any reset)."""
    return epoch << EPOCH_SHIFT


class KafkaReset(RuntimeError):
    """Kafka is not the one the stored offsets belong to; the message says why and what to do."""


@dataclass(frozen=True)
class Observed:
    cluster_id: str
    ends: Mapping[tuple[str, int], int]  # (topic, partition) -> the offset after the last message


@dataclass(frozen=True)
class Verdict:
    epoch: int
    problem: str | None  # None: Kafka is the one the stored offsets belong to

    @property
    def ok(self) -> bool:
        return self.problem is None


async def observe(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> Observed:
    """Kafka's cluster id and the end offsets of the watched topics, through started clients."""
    cluster = await admin.describe_cluster()
    described = await admin.describe_topics(list(WATCHED_TOPICS))
    unsure = [t["topic"] for t in described if t["error_code"] not in (0, UNKNOWN_TOPIC)]
    if unsure:  # e.g. no leader yet, just after Kafka started: no verdict rather than a wrong one
        raise RuntimeError(f"Kafka cannot describe {unsure} yet")
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]
    ends = await consumer.end_offsets(partitions) if partitions else {}
    found = {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}
    return Observed(str(cluster["cluster_id"]), found)


def stored_identity(store: Store) -> tuple[int, str] | None:
    rows = store.query_rows("SELECT epoch, cluster_id FROM kafka_identity ORDER BY epoch DESC LIMIT 1")
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def stored_progress(store: Store, epoch: int) -> dict[tuple[str, int], int]:
    rows = store.query_rows(
        "SELECT topic, kafka_partition, max(next_offset) FROM partition_progress"
        " WHERE epoch = {epoch:UInt32} GROUP BY topic, kafka_partition",
        {"epoch": epoch},
    )
    return {(str(topic), int(partition)): int(offset) for topic, partition, offset in rows}


def record_progress(store: Store, epoch: int, topic: str, next_offsets: Mapping[int, int]) -> None:
    """After a durable write: `next_offsets` (partition -> offset after the last stored message)."""
    rows = [[epoch, topic, partition, offset] for partition, offset in next_offsets.items()]
    store.insert("partition_progress", rows, ("epoch", "topic", "kafka_partition", "next_offset"))


def judge(
    observed: Observed, identity: tuple[int, str], progress: Mapping[tuple[str, int], int]
) -> str | None:
    """Why the stored offsets do not belong to the observed Kafka, or None when they do."""
    cluster_id = identity[1]
    if observed.cluster_id != cluster_id:
        return (
            f"Kafka's cluster id is {observed.cluster_id}, but the stored offsets belong to cluster"
            f" {cluster_id}: Kafka's data was lost or replaced. If that is deliberate, run `{RESET_COMMAND}`."
        )
    for (topic, partition), stored in sorted(progress.items()):
        end = observed.ends.get((topic, partition))
        if end is None or end < stored:
            where = f"has no partition {partition}" if end is None else f"partition {partition} ends at {end}"
            return (
                f"Kafka topic {topic} {where}, but offset {stored} of it is already stored: the topic"
                f" was recreated or its log reset. If that is deliberate, run `{RESET_COMMAND}`."
            )
    return None


Stored = tuple[tuple[int, str] | None, dict[tuple[str, int], int]]


def stored_state(store: Store) -> Stored:
    """The stored identity (None before the first check) and the progress stored in its epoch."""
    identity = stored_identity(store)
    return identity, {} if identity is None else stored_progress(store, identity[0])


def check(store: Store, observed: Observed, stored: Stored) -> Verdict:
    """The verdict on `observed`, given what was `stored` before Kafka was observed: offsets stored
    later may count messages sent after the observation, beyond the end it saw. On a store that has
    no identity yet, records the observed one (epoch 0)."""
    identity, progress = stored
    if identity is None:
        store.insert(
            "kafka_identity", [[0, observed.cluster_id, "first start"]], ("epoch", "cluster_id", "reason")
        )
        identity = (0, observed.cluster_id)
    return Verdict(identity[0], judge(observed, identity, progress))


def accept_reset(store: Store, observed: Observed, reason: str) -> int:
    """Acknowledge that Kafka was reset on purpose: a new epoch for the observed cluster."""
    identity = stored_identity(store)
    epoch = 0 if identity is None else identity[0] + 1
    store.insert("kafka_identity", [[epoch, observed.cluster_id, reason]], ("epoch", "cluster_id", "reason"))
    log.warning("Kafka reset acknowledged (%s): epoch %d, cluster %s", reason, epoch, observed.cluster_id)
    return epoch


class IdentityGuard(KafkaRounds):
    """Keeps a process's verdict fresh: checks at start, then every CHECK_SECONDS, with clients of its
    own kept for the process's life."""

    name = "kafka-identity"

    def __init__(self, store: Store, bootstrap: str, interval: float = CHECK_SECONDS) -> None:
        super().__init__(bootstrap, interval)
        self.store = store
        self.verdict = Verdict(0, NOT_CHECKED)

    async def observe(self) -> Observed:
        await self.connect()
        return await observe(self._admin, self._consumer)

    async def check(self) -> Verdict:
        try:
            # What is stored first, then Kafka: the other way round, a flush stored meanwhile could
            # pass the ends observed before it, and a live Kafka look reset (ingest refused).
            stored = await self.store.run(stored_state, self.store, quick=True)
            verdict = await self.store.run(check, self.store, await self.observe(), stored, quick=True)
        except Exception as error:
            # Unreachable is not a reset: the probes report Kafka or ClickHouse down on their own.
            log.debug("Kafka identity not checked: %s", error)
            return self.verdict
        if verdict.problem and verdict.problem != self.verdict.problem:
            log.error("%s", verdict.problem)
        elif verdict.ok and not self.verdict.ok and self.verdict.problem != NOT_CHECKED:
            log.info("Kafka identity confirmed (epoch %d); going on", verdict.epoch)
        self.verdict = verdict
        return verdict

    async def start(self) -> None:
        await self.check()
        await super().start()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check()


def request_reset(url: str, token: str, reason: str, *, as_json: bool = False) -> int:
    """`insights kafka accept-reset`: ask the running API (it may hold the embedded store) to accept.
    With `as_json`, the answer's data ({accepted, epoch, problem}) is printed as JSON, whatever it says."""
    try:
        answer = httpx.post(
            f"{url.rstrip('/')}/api/v1/kafka/reset",
            json={"reason": reason},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
    except httpx.HTTPError as error:
        print(f"insights kafka accept-reset: the API at {url} did not answer ({error})", file=sys.stderr)
        return 1
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code != 200:
        print(f"insights kafka accept-reset: {body.get('message', answer.text)}", file=sys.stderr)
        return 1
    data = body["data"]
    if as_json:
        print(json.dumps(data))
    if data["problem"]:
        print(f"accepted, but Kafka still does not match: {data['problem']}", file=sys.stderr)
        return 1
    if not as_json:
        print(
            f"Kafka reset accepted: epoch {data['epoch']}"
            if data["accepted"]
            else "nothing to accept: Kafka matches"
        )
    return 0
