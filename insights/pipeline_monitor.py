"""Every few seconds, reads what no single flush or request can see into the gauges of insights/metrics.py:
the worker group's lag per partition (from Kafka) and the rollups' freshness (from ClickHouse).

Both come from the shared systems, not from this process, so every `insights` process reports the
same values: the API's /metrics shows them even when the workers run elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from insights.kafka_rounds import KafkaRounds
from insights.metrics import CONSUMER_LAG, DEPENDENCY_UP, FRESHNESS
from insights.store import Store
from schemas.topics import CONSUMER_GROUP, EVENTS_TOPIC

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0

# track_realtime holds the last 2 hours per second: its newest second is the newest event counted.
NEWEST_EVENT_SQL = "SELECT toUnixTimestamp(max(second)) FROM track_realtime"


async def consumer_lag(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> dict[int, int]:
    """Messages of each insights.events partition the worker group has not committed yet."""
    # Asked each time, not cached: partitions may have been added since the last check.
    topics = await admin.describe_topics([EVENTS_TOPIC])
    partitions = sorted(p["partition"] for t in topics if t["topic"] == EVENTS_TOPIC for p in t["partitions"])
    tps = [TopicPartition(EVENTS_TOPIC, p) for p in partitions]
    ends = await consumer.end_offsets(tps)
    starts = await consumer.beginning_offsets(tps)
    committed = await admin.list_consumer_group_offsets(CONSUMER_GROUP, partitions=tps)
    lag: dict[int, int] = {}
    for tp in tps:
        done = committed.get(tp)
        position = done.offset if done is not None and done.offset >= 0 else starts[tp]
        lag[tp.partition] = max(ends[tp] - position, 0)
    return lag


async def freshness_seconds(store: Store) -> float:
    """Now minus the newest event time in the rollups; NaN when none is younger than 2 hours."""
    rows = await store.aquery_rows(NEWEST_EVENT_SQL)
    newest = int(rows[0][0]) if rows else 0
    return max(time.time() - newest, 0.0) if newest > 0 else math.nan


class PipelineMonitor(KafkaRounds):
    """start / stop like the other parts; a failed read marks the dependency down and is retried."""

    name = "pipeline-monitor"

    def __init__(self, store: Store, bootstrap: str, interval: float = INTERVAL_SECONDS) -> None:
        super().__init__(bootstrap, interval)
        self._store = store

    async def _run(self) -> None:
        while True:
            try:
                await self.connect()
                for partition, lag in (await consumer_lag(self._admin, self._consumer)).items():
                    CONSUMER_LAG.labels(partition=str(partition)).set(lag)
                DEPENDENCY_UP.labels(dependency="kafka").set(1)
            except Exception as error:
                log.debug("consumer lag not read: %s", error)
                DEPENDENCY_UP.labels(dependency="kafka").set(0)
            try:
                FRESHNESS.set(await freshness_seconds(self._store))
                DEPENDENCY_UP.labels(dependency="clickhouse").set(1)
            except Exception as error:
                log.debug("freshness not read: %s", error)
                DEPENDENCY_UP.labels(dependency="clickhouse").set(0)
            await asyncio.sleep(self._interval)
