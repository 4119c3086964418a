"""The thin slice, for real: HTTP -> Kafka -> Faust worker -> ClickHouse rollups -> HTTP.

`insights up` runs as a child process with its own Kafka and embedded ClickHouse engine.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration import reference
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token
from tests.niceness import may_raise_priority

pytestmark = pytest.mark.integration

PERIODS = {"7-days": 7, "30-days": 30, "90-days": 90, "1-year": 365}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path_factory.mktemp("up") / "data")
    process.start()
    yield process
    if process.process is not None:
        assert process.stop() == 0, process.log_tail()


def make_event(track_id: int, kind: str, listener: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": extra.pop("event_id", uuid.uuid4().hex),
        "type": kind,
        "track_id": track_id,
        "listener_id": listener,
        "occurred_at": at.isoformat(),
        **extra,
    }


def history(track_id: int, count: int, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """Events over 400 days, most recent-heavy, with duplicate ids, shuffled (out of order)."""
    ages = [timedelta(days=300), timedelta(minutes=2), timedelta(days=10), timedelta(days=45)]
    events = []
    for n in range(count):
        age = ages[n] if n < len(ages) else timedelta(seconds=rng.randint(0, 399 * 86400))
        kind = rng.choices(["play", "like", "repost", "heartbeat"], weights=[8, 2, 1, 2])[0]
        events.append(make_event(track_id, kind, f"listener-{rng.randint(1, 40)}", now - age))
    events += rng.sample(events, count // 10)  # exact repeats: the same event_id sent again
    rng.shuffle(events)
    return events


def expected_analytics(events: list[dict[str, Any]], period_days: int, today: date) -> dict[str, Any]:
    """The reference model's figures for the one track these events are about."""
    return reference.analytics(events, {e["track_id"] for e in events}, period_days, today)


def post_events(up: UpProcess, events: list[dict[str, Any]]) -> int:
    accepted = 0
    with up.client(token("events:write")) as client:
        for start in range(0, len(events), 500):
            response = client.post("/api/v1/events", json={"events": events[start : start + 500]})
            assert response.status_code == 202, response.text
            accepted += response.json()["data"]["accepted"]
    return accepted


def analytics(up: UpProcess, track_id: int, period: str = "30-days") -> dict[str, Any]:
    """As an admin: these tracks have events but no catalog entry, so they list no artist."""
    with up.client(token("admin")) as client:
        response = client.get(f"{INSIGHTS}/tracks/{track_id}", params={"period": period})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    # the fixed periods' figures (the range, estimates and listening are checked in test_read_api.py).
    return {k: body["data"][k] for k in ("plays", "listeners", "engagement", "growth")}


def wait_for_plays(up: UpProcess, track_id: int, plays_total: int) -> None:
    def counted() -> bool:
        with up.client(token("admin")) as client:
            response = client.get(f"{INSIGHTS}/tracks/{track_id}")
        return response.status_code == 200 and response.json()["data"]["plays"]["total"] == plays_total

    eventually(counted, timeout=60)


def test_posted_events_are_counted_exactly_for_every_period(up: UpProcess) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    track_id = rng.randint(10**6, 10**12)
    events = history(track_id, 1500, now, rng)
    assert post_events(up, events) == len(events)
    expected = {p: expected_analytics(events, days, now.date()) for p, days in PERIODS.items()}
    wait_for_plays(up, track_id, expected["1-year"]["plays"]["total"])
    # The total can land before the last flush's daily rollup (a flush builds its rollups side by side,
    # each committed on its own): wait for each period's answer, then hold it to the reference.
    for period in PERIODS:

        def settled(period: str = period) -> bool:
            return bool(analytics(up, track_id, period) == expected[period])

        eventually(settled, timeout=30)
        assert analytics(up, track_id, period) == expected[period], period


def kept_answers(up: UpProcess) -> float:
    with up.client() as client:
        text = client.get("/metrics").text
    found = re.search(r'^insights_api_answers_total\{served="kept"\} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_an_unchanged_track_is_answered_without_computing_it_again(up: UpProcess) -> None:
    """`insights up` follows the workers' change notices: an answer whose track has had no event since
    it was computed is served kept (docs/api.md), and it is the same answer."""
    track_id = random.Random(13).randint(10**6, 10**12)  # its own track: the seeds of the others differ
    now = datetime.now(UTC)
    post_events(up, [make_event(track_id, "play", f"listener-{n}", now) for n in range(3)])
    wait_for_plays(up, track_id, 3)  # computed once the rows are there, and kept

    def served_kept() -> bool:
        before = kept_answers(up)
        with up.client(token("admin")) as client:
            # Asked until the response cache's copy has expired (a few seconds); then the API answers
            # again, from the kept answer. (Unknown query parameters are refused, so none can pass it.)
            response = client.get(f"{INSIGHTS}/tracks/{track_id}")
        assert response.json()["data"]["plays"]["total"] == 3
        return kept_answers(up) > before

    eventually(served_kept, timeout=30)


def test_mixed_batch_accepts_the_valid_events_and_reports_the_rest(up: UpProcess) -> None:
    now = datetime.now(UTC)
    track_id = random.randint(10**6, 10**12)
    batch = [
        make_event(track_id, "play", "a", now),
        make_event(track_id, "skip", "a", now),
        make_event(track_id, "play", "b", now - timedelta(days=401)),
        make_event(track_id, "play", "c", now),
        "junk",
    ]
    with up.client(token("events:write")) as client:
        response = client.post("/api/v1/events", json={"events": batch})
    assert response.status_code == 202
    data = response.json()["data"]
    assert (data["accepted"], data["rejected"]) == (2, 3)
    assert [(e["index"], e["field"]) for e in data["errors"]] == [
        (1, "type"),
        (2, "occurred_at"),
        (4, "event"),
    ]
    wait_for_plays(up, track_id, 2)


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_bad_requests_get_the_contract_errors(up: UpProcess) -> None:
    now = datetime.now(UTC)
    with up.client(token("events:write")) as client:
        all_invalid = client.post("/api/v1/events", json={"events": [{"type": "play"}]})
        assert_error(all_invalid, 422, "validation_failed")
        assert all_invalid.json()["errors"][0]["index"] == 0
        big = [make_event(1, "play", "x" * 128, now, event_id="y" * 64)] * 1000
        big_body = {"events": big, "padding": "z" * (1024 * 1024)}
        assert_error(client.post("/api/v1/events", json=big_body), 413, "payload_too_large")
        assert_error(client.post("/api/v1/events", content=b"{not json"), 422, "validation_failed")
        assert_error(client.post("/api/v1/events", json={"events": []}), 422, "validation_failed")
        too_many = {"events": [make_event(1, "play", "x", now)] * 1001}
        assert_error(client.post("/api/v1/events", json=too_many), 422, "validation_failed")
        assert_error(client.get(f"{INSIGHTS}/tracks/1"), 403, "forbidden")
    with up.client() as anonymous:
        assert_error(anonymous.post("/api/v1/events", json={"events": []}), 401, "unauthorized")
        assert_error(anonymous.get(f"{INSIGHTS}/tracks/1"), 401, "unauthorized")
        assert anonymous.get("/healthz").status_code == 200
    with up.client("forged.token.value") as forged:
        assert_error(forged.get(f"{INSIGHTS}/tracks/1"), 401, "unauthorized")
    with up.client(token("insights:read")) as reader:
        assert_error(reader.post("/api/v1/events", json={"events": []}), 403, "forbidden")
        assert_error(reader.get(f"{INSIGHTS}/tracks/1?period=2-weeks"), 422, "validation_failed")
        assert_error(reader.get(f"{INSIGHTS}/tracks/abc"), 422, "validation_failed")
        assert_error(reader.get(f"{INSIGHTS}/tracks/999999999999999"), 404, "not_found")
        assert_error(reader.get(f"{INSIGHTS}/nothing-here"), 404, "not_found")


def test_stopping_and_restarting_loses_nothing_and_counts_nothing_twice(up: UpProcess) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC)
    track_id = rng.randint(10**6, 10**12)
    before = history(track_id, 600, now, rng)
    post_events(up, before)
    assert up.stop() == 0, up.log_tail()
    up.start()
    after = history(track_id, 400, now, rng)
    post_events(up, after + before[:100])  # and some repeats of what was sent before the restart
    everything = before + after
    expected = expected_analytics(everything, 365, now.date())
    wait_for_plays(up, track_id, expected["plays"]["total"])
    assert analytics(up, track_id, "1-year") == expected


def test_ctrl_c_leaves_no_process_behind(tmp_path: Path) -> None:
    process = UpProcess(tmp_path / "data")
    process.start()
    pid_file = tmp_path / "data" / "kafka" / "kafka.pid"
    kafka_pid = int(pid_file.read_text().split()[0])
    assert process.stop() == 0, process.log_tail()
    assert not Path(f"/proc/{kafka_pid}").exists()


def test_a_token_revoked_with_the_cli_is_refused(up: UpProcess) -> None:
    leaked = token("insights:read")
    with up.client(leaked) as client:
        assert client.get(f"{INSIGHTS}/tracks/1").status_code in (200, 404)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "insights.cli", "token", *args]
        return subprocess.run(command, env=up.env, capture_output=True, text=True, timeout=60, check=False)

    inspected = cli("inspect", leaked)
    assert inspected.returncode == 0 and re.search(r"^status:\s+valid$", inspected.stdout, re.MULTILINE)
    revoked = cli("revoke", leaked, "--reason", "test", "--url", up.url)
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    with up.client(leaked) as client:
        refused = client.get(f"{INSIGHTS}/tracks/1")
    assert refused.status_code == 401 and refused.json()["message"] == "The token has been revoked."
    listed = cli("revocations", "--url", up.url)
    assert listed.returncode == 0 and "test" in listed.stdout


def threads_niceness(pid: int) -> dict[int, int]:
    """Each thread's niceness (threads that end meanwhile are left out)."""
    found = {}
    for name in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError, FileNotFoundError, OSError):
            found[int(name)] = os.getpriority(os.PRIO_PROCESS, int(name))
    return found


def test_the_event_loop_serves_at_a_raised_priority_where_it_may(up: UpProcess) -> None:
    """Where it may (CI runs as root), the thread serving HTTP at niceness -10 (the default), and no
    other thread of the process at it, though the loop started many of them (the store's pools, after
    these requests); elsewhere the process's own niceness. The metric says which."""
    assert up.process is not None
    pid = up.process.pid
    with up.client(token("admin")) as client:
        for track in range(1, 9):  # reads that start the store's threads, if they were not yet
            assert client.get(f"{INSIGHTS}/tracks/{track}").status_code in (200, 404)
        metric = re.search(r"^insights_loop_niceness (\S+)$", client.get("/metrics").text, re.MULTILINE)
    assert metric is not None
    own = os.getpriority(os.PRIO_PROCESS, 0)
    raised = int(up.env.get("INSIGHTS_LOOP_NICENESS") or -10)  # the default, unless the suite's shell sets it
    expected = raised if raised < own and may_raise_priority() else own
    log = up.log_path.read_text(errors="replace")
    given_back = log.rfind(f"the event loop serves at niceness {own} until they catch up")
    if expected == raised and given_back > log.rfind(f"the event loop serves at niceness {raised} again"):
        expected = own  # the writes trailed by over 30 s on a loaded machine: given back meanwhile
    assert float(metric.group(1)) == expected

    def only_the_loop() -> bool:
        threads = threads_niceness(pid)
        assert threads.pop(pid) == expected
        assert expected == own or raised not in threads.values(), threads
        return True

    eventually(only_the_loop, timeout=10)


def threads_cpus(pid: int) -> dict[int, set[int]]:
    """The CPUs each thread of a process may run on (threads that end meanwhile are left out)."""
    found = {}
    for name in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            found[int(name)] = os.sched_getaffinity(int(name))
    return found


def children(pid: int) -> list[int]:
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            stat = Path(f"/proc/{name}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(name))
    return found


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs or more"
)
def test_with_the_loop_core_on_the_event_loop_has_a_core_of_its_own(tmp_path: Path) -> None:
    """The loop's thread alone on the last CPU; every other thread of the process, the worker's process
    and Kafka on the others (the writes keep up: nothing is being written). Ctrl-C still stops it all."""
    up = UpProcess(tmp_path / "data")
    up.env["INSIGHTS_LOOP_CORE"] = "on"
    up.start()
    assert up.process is not None
    pid = up.process.pid
    cpus = sorted(os.sched_getaffinity(0))
    loop_cpu, others = {cpus[-1]}, frozenset(cpus[:-1])

    def placed() -> bool:
        threads = threads_cpus(pid)
        assert threads.pop(pid) == loop_cpu
        assert threads and set(map(frozenset, threads.values())) == {others}, threads
        spawned = children(pid)
        assert len(spawned) == 2, spawned  # the worker's process and Kafka
        for child in spawned:
            assert set(map(frozenset, threads_cpus(child).values())) == {others}, child
        return True

    eventually(placed, timeout=30)
    with up.client(token("admin")) as client:
        assert "insights_loop_core_reserved 1.0" in client.get("/metrics").text
    assert up.stop() == 0, up.log_tail()
