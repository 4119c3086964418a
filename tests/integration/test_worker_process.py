"""`insights up` runs its worker in a process of its own: started, watched, started again if it exits,
and killed with `insights up`, whose store it writes through."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from insights.consumer_group import member_ids
from insights.dev.kafka_local import LocalKafka
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
    play(up, 71, 7, "meanwhile")  # accepted while no worker runs: Kafka keeps them

    def restarted() -> int | None:
        pid = worker_pid(up)
        return pid if pid != first else None

    second = eventually(restarted, timeout=60)
    assert alive(second)
    eventually(lambda: plays(up, 71) == 12 or None, timeout=90)
    assert "the worker process exited" in up.log_tail(200)
    # It came back as the member it was: Kafka handed it the partitions without waiting out the
    # dead process's session.
    assert group_members(kafka.bootstrap) == [member]
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
    eventually(lambda: not alive(pid) or None, timeout=10)
    # Kafka still counts the dead worker in the group (its session runs 10 s). Started again, the
    # worker joins as that member, so the group has it alone, and it writes at once.
    up.start()
    assert group_members(kafka.bootstrap) == [member]
    play(up, 73, 3, "after-crash")
    eventually(lambda: plays(up, 73) == 3 or None, timeout=60)
