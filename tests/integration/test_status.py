"""Observability of a real `insights up`: `insights status` run as a user runs it, /metrics with lag,
freshness, batch and latency histograms, and request ids, then status once nothing runs any more."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.harness import INSIGHTS, UpProcess, eventually, free_port, token

pytestmark = pytest.mark.integration


def status(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "insights.cli", "status", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def samples(up: UpProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with up.client() as client:
        text = client.get("/metrics").text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path_factory.mktemp("status") / "data")
    process.start()
    yield process
    process.stop()


def test_status_shows_every_partition_caught_up_and_fresh_after_traffic(up: UpProcess) -> None:
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": f"s-{i}", "type": "play", "track_id": 5, "listener_id": f"u{i}", "occurred_at": now}
        for i in range(30)
    ]
    with up.client(token("events:write")) as client:
        for start in range(0, 30, 10):
            assert (
                client.post("/api/v1/events", json={"events": events[start : start + 10]}).status_code == 202
            )

    def caught_up() -> bool:
        values = samples(up)
        lag = {
            dict(labels)["partition"]: v
            for (name, labels), v in values.items()
            if name == "insights_consumer_lag_messages"
        }
        return (
            set(lag) == {"0", "1", "2"}
            and sum(lag.values()) == 0
            and values.get(("insights_worker_events_written_total", frozenset()), 0) == len(events)
            # the gauges are refreshed every 5 s: a lag of 0 may predate the traffic
            and not math.isnan(values.get(("insights_rollups_freshness_seconds", frozenset()), math.nan))
        )

    eventually(caught_up, timeout=60, interval=1)
    result = status(up.url)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0][-1] == "healthy"
    assert ["kafka", "ok"] in rows and ["clickhouse", "ok"] in rows
    assert ["0", "0"] in rows and ["1", "0"] in rows and ["2", "0"] in rows and ["total", "0"] in rows
    freshness = next(line for line in result.stdout.splitlines() if line.strip().startswith("freshness"))
    assert float(freshness.split()[1].replace(",", "")) < 120, freshness  # seconds since `now` above
    assert "30 accepted" in result.stdout
    for name in ("event loop", "worker loop"):  # `insights up`: the API's loop and the worker's
        loop = next(line for line in result.stdout.splitlines() if line.strip().startswith(name))
        assert "worst" in loop and "of checks since start within" in loop, loop


def test_metrics_have_flush_and_route_latency_histograms(up: UpProcess) -> None:
    with up.client(token("insights:read", artists=(1,))) as client:
        for track_id in (101, 102, 103):
            client.get(f"{INSIGHTS}/tracks/{track_id}")
    values = samples(up)
    template = frozenset({("method", "GET"), ("route", INSIGHTS + "/tracks/{trackId}"), ("status", "404")})
    assert values[("insights_http_request_duration_seconds_count", template)] >= 3
    routes = {dict(labels).get("route") for (name, labels) in values if name.startswith("insights_http")}
    assert not any(route and "/tracks/10" in route for route in routes), "raw paths must not become labels"
    assert values[("insights_worker_batch_events_count", frozenset())] >= 1
    assert values[("insights_worker_flush_duration_seconds_count", frozenset())] >= 1
    assert values[("insights_dependency_up", frozenset({("dependency", "clickhouse")}))] == 1
    for loop in ("api", "worker"):  # `insights up`: the worker reads on a loop of its own
        assert values[("insights_event_loop_lag_seconds_count", frozenset({("loop", loop)}))] >= 1
        assert ("insights_event_loop_lag_worst_seconds", frozenset({("loop", loop)})) in values


def test_every_answer_carries_a_request_id_and_keeps_the_callers(up: UpProcess) -> None:
    with up.client() as client:
        assert (
            client.get("/healthz", headers={"X-Request-ID": "ops-check-1"}).headers["x-request-id"]
            == "ops-check-1"
        )
        unauthorised = client.get(f"{INSIGHTS}/tracks/1")
    assert unauthorised.status_code == 401 and len(unauthorised.headers["x-request-id"]) == 32


def test_status_says_so_when_nothing_runs(tmp_path: Path) -> None:
    stopped = UpProcess(tmp_path / "never-started")  # a free port nothing listens on
    result = status(stopped.url)
    assert result.returncode == 2
    assert "nothing answers" in result.stderr  # an error: on stderr, with exit 2


def test_a_worker_alone_serves_its_metrics_on_insights_metrics_port(kafka: Any, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "INSIGHTS_KAFKA_BOOTSTRAP": kafka.bootstrap, "INSIGHTS_METRICS_PORT": str(port)}
    env.pop("INSIGHTS_CLICKHOUSE_DSN", None)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "insights.cli", "worker", "--data-dir", str(tmp_path / "data")],
        env={**env, "INSIGHTS_TOPIC_PARTITIONS": "3", "INSIGHTS_LOG_FORMAT": "json"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def lag_reported() -> bool:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            return 'insights_consumer_lag_messages{partition="2"} 0.0' in text

        eventually(lambda: _quietly(lag_reported), timeout=120, interval=1)
    finally:
        worker.send_signal(signal.SIGINT)
        assert worker.wait(60) == 0
    lines = (tmp_path / "worker.log").read_text().splitlines()
    assert lines and all(json.loads(line)["level"] for line in lines), "INSIGHTS_LOG_FORMAT=json"


def _quietly(check: Callable[[], bool]) -> bool:
    """False while nothing listens yet, instead of an exception."""
    try:
        return check()
    except httpx.HTTPError:
        return False
