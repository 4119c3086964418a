"""`insights up` runs its worker in a process of its own: started, watched, started again if it exits,
and killed with `insights up`, whose store it writes through."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

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


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path / "data")
    process.start()
    yield process
    if process.process is not None:
        process.stop()


def test_a_worker_process_that_dies_is_started_again_and_nothing_is_lost(up: UpProcess) -> None:
    first = eventually(lambda: worker_pid(up))
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
    with up.client() as client:
        assert "insights_worker_process_restarts_total 1.0" in client.get("/metrics").text
    assert up.stop() == 0
    assert not alive(second)  # stopped with `insights up`


def test_the_worker_process_dies_with_insights_up(up: UpProcess) -> None:
    pid = eventually(lambda: worker_pid(up))
    up.kill()  # SIGKILL, as a crash: the worker cannot outlive the store it writes through
    eventually(lambda: not alive(pid) or None, timeout=10)
