"""`insights status` reading the API's answers: health, lag per partition, freshness and counts, and
its exit codes (the live command against a real `insights up` is in tests/integration/test_status.py)."""

from __future__ import annotations

import json
import math

import pytest

from insights.status import HEALTHY, UNREACHABLE, as_json, parse_status, render, run_status
from insights.store import replication_warning
from tests.integration.harness import free_port

METRICS = """\
# TYPE insights_consumer_lag_messages gauge
insights_consumer_lag_messages{partition="0"} 0.0
insights_consumer_lag_messages{partition="2"} 7.0
insights_consumer_lag_messages{partition="1"} 5.0
# TYPE insights_rollups_freshness_seconds gauge
insights_rollups_freshness_seconds 1.25
# TYPE insights_ingest_events_total counter
insights_ingest_events_total{outcome="accepted"} 1200.0
insights_ingest_events_total{outcome="rejected"} 3.0
# TYPE insights_worker_dead_letters_total counter
insights_worker_dead_letters_total{topic="insights.events"} 2.0
insights_worker_dead_letters_total{topic="insights.catalog"} 1.0
# TYPE insights_worker_events_written_total counter
insights_worker_events_written_total 1190.0
"""
READY = {"status": "ready", "checks": {"kafka": "ok", "clickhouse": "ok"}}


def test_a_ready_system_prints_lag_per_partition_freshness_and_counts() -> None:
    status = parse_status("http://x", READY, METRICS)
    assert status.healthy
    assert status.lag == {0: 0, 1: 5, 2: 7}
    text = render(status)
    assert text.splitlines()[0] == "Insights at http://x: healthy"
    rows = [line.split() for line in text.splitlines()]
    assert ["1", "5"] in rows and ["2", "7"] in rows and ["total", "12"] in rows
    assert "1.2 s behind now" in text
    assert "1,200 accepted, 3 rejected, 0 unavailable (503)" in text
    assert "1,190 events written" in text and "3 dead letters" in text


def test_a_dependency_down_is_unhealthy() -> None:
    down = {"status": "unavailable", "checks": {"kafka": "ok", "clickhouse": "down"}}
    status = parse_status("http://x", down, METRICS)
    assert not status.healthy
    assert "UNHEALTHY" in render(status).splitlines()[0]
    assert ["clickhouse", "down"] in [line.split() for line in render(status).splitlines()]


def test_values_not_measured_yet_are_said_so() -> None:
    status = parse_status("http://x", READY, "insights_rollups_freshness_seconds NaN\n")
    assert math.isnan(status.freshness or 0.0)
    text = render(status)
    assert "no event counted in the last 2 hours" in text
    assert "not measured yet" in text  # no lag gauge yet


def test_nothing_listening_exits_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_status(f"http://127.0.0.1:{free_port()}") == UNREACHABLE != HEALTHY
    assert "nothing answers at http://127.0.0.1:" in capsys.readouterr().err


def test_a_kafka_reset_and_a_replication_warning_are_shown() -> None:
    reset = "Kafka topic insights.events partition 0 ends at 3, but offset 900 of it is already stored"
    readiness = {
        "status": "unavailable",
        "checks": {"kafka": "ok", "clickhouse": "ok", "kafka_identity": reset},
        "warnings": ["ClickHouse has 4 replicated table(s) but this session runs with insert_quorum=0"],
    }
    status = parse_status("http://x", readiness, METRICS)
    text = render(status)
    assert not status.healthy
    assert f"kafka_identity {reset}" in text
    assert "warning: ClickHouse has 4 replicated table(s)" in text


def test_replicated_tables_need_quorum_inserts_and_sequential_reads() -> None:
    assert replication_warning(0, "0", "0") is None  # not replicated: nothing to ask
    assert replication_warning(3, "auto", "1") is None
    assert "insert_quorum=0" in (replication_warning(3, "0", "1") or "")
    assert "select_sequential_consistency=0" in (replication_warning(3, "auto", "0") or "")


def loop_lag_text(loop: str, buckets: dict[str, float], worst: float) -> str:
    """/metrics' lines of one loop's lag: its cumulative buckets (bound -> count) and its worst."""
    lines = [
        f'insights_event_loop_lag_seconds_bucket{{le="{le}",loop="{loop}"}} {n}' for le, n in buckets.items()
    ]
    return "\n".join([*lines, f'insights_event_loop_lag_worst_seconds{{loop="{loop}"}} {worst}', ""])


HISTOGRAM = "# TYPE insights_event_loop_lag_seconds histogram\n"
LOOP_LAG = HISTOGRAM + loop_lag_text("api", {"0.001": 900, "0.005": 995, "0.05": 999, "+Inf": 1000}, 0.0123)
# `insights up`: the worker's loop beside the API's.
WORKER_LOOP_LAG = (
    HISTOGRAM
    + loop_lag_text("api", {"0.001": 1000, "+Inf": 1000}, 0.0005)
    + loop_lag_text("worker", {"0.001": 10, "0.25": 1000, "+Inf": 1000}, 0.2)
)


def test_the_event_loop_lag_shows_the_recent_worst_and_where_99_percent_of_checks_fall() -> None:
    status = parse_status("http://x", READY, METRICS + LOOP_LAG)
    line = next(line for line in render(status).splitlines() if "event loop" in line)
    # 995 of 1,000 checks (99.5 %) were late by 5 ms at most; 990 would not be enough within 1 ms.
    assert "worst 12.3 ms in the last 10 s; 99.5% of checks since start within 5 ms" in line


def test_the_workers_loop_beside_the_api_has_a_line_of_its_own() -> None:
    status = parse_status("http://x", READY, METRICS + WORKER_LOOP_LAG)
    lines = render(status).splitlines()
    assert "worst 0.5 ms in the last 10 s; 100.0% of checks since start within 1 ms" in next(
        line for line in lines if "event loop" in line
    )
    assert "worst 200.0 ms in the last 10 s; 100.0% of checks since start within 250 ms" in next(
        line for line in lines if "worker loop" in line
    )
    figures = json.loads(as_json(status))
    assert figures["worker_loop_lag"] == {"worst_seconds": 0.2, "within_seconds": 0.25, "share_within": 1.0}
    # an API alone has no worker loop: no line, and null
    alone = parse_status("http://x", READY, METRICS + LOOP_LAG)
    assert not any("worker loop" in line for line in render(alone).splitlines())
    assert json.loads(as_json(alone))["worker_loop_lag"] is None


def test_a_process_that_does_not_measure_its_loop_lag_says_so() -> None:
    line = next(
        line for line in render(parse_status("http://x", READY, METRICS)).splitlines() if "loop" in line
    )
    assert "not measured by this process" in line


def test_the_json_status_carries_the_event_loop_lag() -> None:
    figures = json.loads(as_json(parse_status("http://x", READY, METRICS + LOOP_LAG)))
    assert figures["event_loop_lag"] == {
        "worst_seconds": 0.0123,
        "within_seconds": 0.005,
        "share_within": 0.995,
    }
    assert json.loads(as_json(parse_status("http://x", READY, METRICS)))["event_loop_lag"] is None
