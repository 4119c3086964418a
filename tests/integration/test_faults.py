"""Exactly-once effect under crashes (docs/pipeline.md): a kill -9 of the worker at every step of a
flush, and of the whole machine, Kafka included. Replays, outages, poison and late events are in
test_replay_outage_and_late.py (two files, so the suite's two runners share the work)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from insights.dev.kafka_local import LocalKafka
from tests.integration.faults import (
    CrashTolerantSender,
    assert_counted_exactly_once,
    event_stream,
)
from tests.integration.harness import UpProcess, eventually

pytestmark = pytest.mark.integration

# The whole-machine crash runs in the middle of 100,000 events, as the pipeline promises; the three
# step-by-step crashes use 30,000 each, which still puts several flushes before and after the kill,
# and keeps the suite within CI's time.
FULL_STREAM = 100_000
STEP_STREAM = 30_000


@pytest.mark.parametrize(
    "failpoint",
    [
        "before_events_insert=2",  # mid-batch: taken from Kafka, nothing written
        "after_ids_insert=2",  # ids in the dedupe index, their events not stored
        "after_events_insert=2",  # mid-flush: events stored, rollups not built
        "after_rollups=2",  # right after the flush, before Faust commits the offsets
    ],
)
def test_kill_9_of_the_worker_at_each_step_counts_every_accepted_event_once(
    kafka: LocalKafka, tmp_path: Path, failpoint: str
) -> None:
    up = UpProcess(tmp_path / "data", kafka.bootstrap)
    up.start(failpoints=failpoint)
    events = event_stream(STEP_STREAM, seed=len(failpoint))
    sender = CrashTolerantSender(up)
    sender.send(events, batch=250)  # 120 requests: the second flush falls well inside the stream
    if sender.restarts == 0:
        # The worker was behind the last 202 (a slow machine): its second flush, and the crash, come
        # after it. Waited for, not assumed.
        try:
            up.wait_for_crash(timeout=180)
        except subprocess.TimeoutExpired:
            pytest.fail("the failpoint should have killed the worker")
        up.start()
    assert "failpoint" in up.log_path.read_text(), "the failpoint should have killed the worker"
    print(f"\n[recovery] {failpoint}: {sender.restarts} restart(s), to ready {sender.restart_seconds} s")
    assert_counted_exactly_once(up, events)
    assert up.stop() == 0


def test_kill_9_of_everything_kafka_included_then_restart(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "data")  # its own Kafka, which must die with it
    up.start()
    kafka_pid = int((tmp_path / "data" / "kafka" / "kafka.pid").read_text().split()[0])
    events = event_stream(FULL_STREAM, seed=5)

    def crash_once(batch_number: int) -> None:
        if batch_number == 30:
            up.kill()
            eventually(lambda: not Path(f"/proc/{kafka_pid}").exists(), timeout=15)

    sender = CrashTolerantSender(up)
    sender.send(events, between=crash_once)
    assert sender.restarts == 1
    print(f"\n[recovery] whole machine: restart to ready (Kafka included) {sender.restart_seconds} s")
    assert_counted_exactly_once(up, events)
    assert up.stop() == 0
