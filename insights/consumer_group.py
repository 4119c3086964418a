"""The members of the workers' consumer group now, from Kafka (for migrations that need them stopped)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka.admin import AIOKafkaAdminClient

from schemas.topics import CONSUMER_GROUP


async def group_members(bootstrap: str, group: str = CONSUMER_GROUP) -> int:
    return len(await member_ids(bootstrap, group))


async def member_ids(bootstrap: str, group: str = CONSUMER_GROUP) -> list[str]:
    """The ids of the group's members, sorted."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        # DescribeGroups: (error_code, group_id, state, protocol_type, protocol, members, ...), and
        # each member (member_id, [group_instance_id,] client_id, ...)
        return sorted(member[0] for described in response.groups for member in described[5])
    finally:
        await admin.close()


def counter(bootstrap: str | None, embedded: bool) -> Callable[[], int] | None:
    """The `group_members` argument of migrate(): on the embedded engine nobody else can hold the
    store, so no worker can be writing it; otherwise Kafka says, when it is known."""
    if embedded:
        return lambda: 0
    if bootstrap is None:
        return None
    return lambda: asyncio.run(group_members(bootstrap))
