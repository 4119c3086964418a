"""Two workers in one consumer group share the partitions; when one is killed the other takes its
partitions over and the totals stay exact. Two processes cannot share the embedded engine, so this
needs a ClickHouse server (INSIGHTS_TEST_CLICKHOUSE_URL, or Docker); it skips cleanly without one.
The embedded engine's sequential handover (worker A dies, B continues on the same data) is covered by
tests/integration/test_faults.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from insights.kafka_local import LocalKafka
from tests.integration.faults import CrashTolerantSender, assert_counted_exactly_once, event_stream
from tests.integration.harness import UpProcess

pytestmark = [pytest.mark.integration, pytest.mark.server]


def on_server(up: UpProcess, dsn: str) -> UpProcess:
    up.env["INSIGHTS_CLICKHOUSE_DSN"] = dsn
    return up


def test_a_killed_worker_hands_its_partitions_over_and_totals_stay_exact(
    kafka: LocalKafka, tmp_path: Path, clickhouse_server_dsn: str
) -> None:
    first = on_server(UpProcess(tmp_path / "a", kafka.bootstrap), clickhouse_server_dsn)
    second = on_server(UpProcess(tmp_path / "b", kafka.bootstrap), clickhouse_server_dsn)
    first.start()
    second.start()
    events = event_stream(40_000, seed=51)

    def kill_second(batch_number: int) -> None:
        if batch_number == 15:
            second.kill()

    sender = CrashTolerantSender(first)
    sender.send(events, between=kill_second)
    assert sender.restarts == 0
    assert_counted_exactly_once(first, events)
    assert first.stop() == 0
