"""`insights up` runs its worker in a process of its own: started, watched, started again if it exits,
and killed with `insights up`, whose store it writes through."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from insights.consumer_group import member_ids
from insights.dev.kafka_local import LocalKafka
from pipeline.worker import HEARTBEAT_SECONDS, SESSION_SECONDS
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token, worker_pid

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def play(up: UpProcess, track: int, count: int, prefix: str) -> None:
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "event_id": f"{prefix}-{i}",
            "type": "play",
            "track_id": track,
            "listener_id": f"u{i}",
            "occurred_at": now,
        }
        for i in range(count)
    ]
    with up.client(token("events:write")) as client:
        assert client.post("/api/v1/events", json={"events": events}).status_code == 202


def plays(up: UpProcess, track: int) -> int:
    with up.client(token("admin")) as client:
        answer = client.get(f"{INSIGHTS}/tracks/{track}?period=7-days")
    return int(answer.json()["data"]["plays"]["total"]) if answer.status_code == 200 else -1


def group_members(bootstrap: str) -> list[str]:
    return asyncio.run(member_ids(bootstrap))


# A member that stopped heartbeating is in the group for SESSION_SECONDS after its last heartbeat,
# which came at most HEARTBEAT_SECONDS before it died: a join this soon after a death finds it there.
STILL_A_MEMBER = SESSION_SECONDS - HEARTBEAT_SECONDS


def assert_rejoined_as(member: str, up: UpProcess, bootstrap: str, since_the_death: float) -> None:
    """The worker asked to join as `member`; and, if it joined while Kafka still had that member,
    Kafka took it for that member coming back, with no wait for the dead one's session."""
    assert f"joining the consumer group as {member}" in up.log_tail(300)
    if since_the_death < STILL_A_MEMBER:
        assert group_members(bootstrap) == [member]
    else:  # a slow machine: the session ran out first, and Kafka rightly refused the old id
        print(f"\n[rejoin] joined {since_the_death:.1f} s after the death: the session had run out")


def one_member(bootstrap: str) -> str | None:
    members = group_members(bootstrap)
    return members[0] if len(members) == 1 else None


@pytest.fixture
def up(tmp_path: Path, kafka: LocalKafka) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path / "data", kafka.bootstrap)
    process.start()
    yield process
    if process.process is not None:
        process.stop()


def test_a_worker_process_that_dies_is_started_again_and_nothing_is_lost(
    up: UpProcess, kafka: LocalKafka
) -> None:
    first = eventually(lambda: worker_pid(up))
    member = eventually(lambda: one_member(kafka.bootstrap))
    play(up, 71, 5, "before")
    eventually(lambda: plays(up, 71) == 5 or None, timeout=60)
    os.kill(first, signal.SIGKILL)
    died = time.monotonic()
    play(up, 71, 7, "meanwhile")  # accepted while no worker runs: Kafka keeps them

    def restarted() -> int | None:
        pid = worker_pid(up)
        return pid if pid != first else None

    second = eventually(restarted, timeout=60)
    assert alive(second)
    eventually(lambda: plays(up, 71) == 12 or None, timeout=90)
    counted = time.monotonic() - died  # the new worker joined before it counted them
    assert "the worker process exited" in up.log_tail(200)
    assert_rejoined_as(member, up, kafka.bootstrap, counted)
    with up.client() as client:
        assert "insights_worker_process_restarts_total 1.0" in client.get("/metrics").text
    assert up.stop() == 0
    assert not alive(second)  # stopped with `insights up`


def test_the_worker_process_dies_with_insights_up_and_the_next_start_rejoins_as_its_member(
    up: UpProcess, kafka: LocalKafka
) -> None:
    pid = eventually(lambda: worker_pid(up))
    member = eventually(lambda: one_member(kafka.bootstrap))
    up.kill()  # SIGKILL, as a crash: the worker cannot outlive the store it writes through
    died = time.monotonic()
    eventually(lambda: not alive(pid) or None, timeout=10)
    # Kafka still counts the dead worker in the group for a while. Started again, the worker joins as
    # that member, so the group has it alone, and it writes at once.
    up.start()  # ready once the worker has joined
    assert_rejoined_as(member, up, kafka.bootstrap, time.monotonic() - died)
    play(up, 73, 3, "after-crash")
    eventually(lambda: plays(up, 73) == 3 or None, timeout=60)
