"""The edge's one Kafka producer: acks=all and idempotent, shared by ingest and catalog writes.

`publish` returns only when Kafka has acknowledged every message (with where each landed), or raises
KafkaUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError

log = logging.getLogger(__name__)

Message = tuple[bytes, bytes]  # (key, value)
Placed = tuple[int, int]  # (partition, offset) of a message Kafka acknowledged
# Kafka refuses a message over its limit (about 1 MB by default, broker and producer alike): an ingest
# batch that encodes to more than this goes as several messages (api/ingest/endpoints.py), so it always fits.
MAX_MESSAGE_BYTES = 512 * 1024


class KafkaUnavailable(RuntimeError):
    pass


class MessageTooLarge(KafkaUnavailable):
    """Kafka refused a message for its size: sending it again cannot succeed."""


async def ensure_topic(bootstrap: str, topic: str, partitions: int, **config: str) -> None:
    """Create the topic if it does not exist (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1, topic_configs=config)]
        )
        log.info("created topic %s with %d partitions", topic, partitions)
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


class Publisher:
    def __init__(
        self, bootstrap: str, *, send_timeout: float = 10.0, max_message_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        self._bootstrap = bootstrap
        self._send_timeout = send_timeout
        self.max_message_bytes = max_message_bytes  # the most an ingest batch puts in one message
        self._producer: AIOKafkaProducer | None = None

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            max_batch_size=256 * 1024,
            request_timeout_ms=int(self._send_timeout * 1000),
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            # With the broker gone, aiokafka would retry unsent batches forever; those messages were
            # answered 503, so their senders retry them: nothing is lost by giving up here.
            async with asyncio.timeout(self._send_timeout):
                await producer.stop()
        except TimeoutError:
            log.warning("Kafka unreachable while stopping; unsent messages were refused with 503")

    async def partition_count(self, topic: str) -> int:
        """How many partitions `topic` has (from the producer's metadata, fetched once)."""
        if self._producer is None:
            raise KafkaUnavailable("not connected to Kafka")
        try:
            async with asyncio.timeout(self._send_timeout):
                return len(await self._producer.partitions_for(topic))
        except (KafkaError, TimeoutError) as error:
            raise KafkaUnavailable(str(error)) from error

    async def publish(
        self, topic: str, messages: Sequence[Message], partitions: Sequence[int] | None = None
    ) -> list[Placed]:
        """Send `messages`, each to the partition its key hashes to, or to `partitions[i]` if given;
        where each landed, in their order."""
        if self._producer is None:
            raise KafkaUnavailable("not connected to Kafka")
        try:
            async with asyncio.timeout(self._send_timeout):
                return await self._send_all(self._producer, topic, messages, partitions)
        except MessageSizeTooLargeError as error:
            log.warning("Kafka refused a message for %s as too large: %r", topic, error)
            raise MessageTooLarge(str(error)) from error
        except (KafkaError, TimeoutError) as error:
            log.warning("Kafka did not take %d messages for %s: %r", len(messages), topic, error)
            raise KafkaUnavailable(str(error)) from error

    async def _send_all(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        messages: Sequence[Message],
        partitions: Sequence[int] | None,
    ) -> list[Placed]:
        chosen: Sequence[int | None] = partitions or [None] * len(messages)
        futures = [
            await producer.send(topic, value, key=key, partition=partition)
            for (key, value), partition in zip(messages, chosen, strict=True)
        ]
        return [(sent.partition, sent.offset) for sent in await asyncio.gather(*futures)]

    async def healthy(self) -> bool:
        if self._producer is None:
            return False
        try:
            # A real round trip: cached metadata would still answer while the broker is down.
            async with asyncio.timeout(2):
                await self._producer.client.fetch_all_metadata()
        except (KafkaError, TimeoutError):
            return False
        return True
