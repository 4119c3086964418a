"""After a crash, the one worker of `insights up` rejoins the consumer group as the member it was, so
Kafka does not first wait out the dead member's session (10 s) before it hands the partitions over.

Kafka keeps a member that vanished without leaving (kill -9, power cut) until its session expires,
and a newcomer's join waits for that. A join that carries the member id of the vanished member is
that member coming back: the group completes at once, at the next generation, like any rebalance.
So the claims (pipeline/sink.py) keep their order and fencing is unchanged.

Only `insights up` may do this: one data directory is opened by one `insights up` (the embedded
engine allows one process), its worker dies with it and writes only through it, so no live process
can still be the member recorded there. With several `insights worker` processes each joins as new.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from aiokafka.consumer import consumer as aiokafka_consumer
from aiokafka.consumer.group_coordinator import GroupCoordinator

from schemas.topics import CONSUMER_GROUP

log = logging.getLogger(__name__)

MEMBER_FILE = "kafka-member"  # in the data directory
_MAX_MEMBER_ID = 255  # Kafka's ids are a client id and a UUID; anything longer was not written here


def read_member(path: Path) -> str | None:
    """The member id recorded at the last join, if there is a readable one."""
    try:
        member = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return member if 0 < len(member) <= _MAX_MEMBER_ID and member.isprintable() else None


def record_member(path: Path, member: str) -> bool:
    """Written whole or not at all (a crash mid-write leaves the previous id); whether it was."""
    staged = path.with_name(path.name + ".tmp")
    try:
        staged.write_text(member, encoding="ascii")
        os.replace(staged, path)
    except OSError as error:  # the next start joins as new: slower, never wrong
        log.warning("could not record the worker's Kafka member id in %s: %s", path, error)
        with contextlib.suppress(OSError):
            staged.unlink()
        return False
    return True


class _RejoiningCoordinator(GroupCoordinator):
    member_file: ClassVar[Path | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the worker's group is recorded and rejoined (this process may run other consumers).
        self._record_in = self.member_file if self.group_id == CONSUMER_GROUP else None
        self._recorded = read_member(self._record_in) if self._record_in is not None else None
        # The coordination task created above sends its first JoinGroup at the loop's next turn, so
        # that join carries this id. An id the group no longer knows (the member left in order, or
        # its session expired) is refused, and aiokafka joins as new: one round trip lost.
        if self._recorded is not None:
            log.info("joining the consumer group as %s, the member recorded at the last join", self._recorded)
            self.member_id = self._recorded

    async def _on_join_complete(
        self, generation: int, member_id: str, protocol: str, member_assignment_bytes: bytes
    ) -> None:
        record_in = self._record_in
        if record_in is not None and member_id != self._recorded and record_member(record_in, member_id):
            self._recorded = member_id
        await super()._on_join_complete(generation, member_id, protocol, member_assignment_bytes)


def rejoin_as_recorded(data_dir: Path) -> None:
    """From now on, this process's consumers of the worker's group record their member id under
    `data_dir` at every join, and start by rejoining as the one recorded there."""
    _RejoiningCoordinator.member_file = data_dir / MEMBER_FILE
    aiokafka_consumer.GroupCoordinator = _RejoiningCoordinator  # where AIOKafkaConsumer.start finds it
