"""`insights up` reports the worker process's metrics as its own, at every scrape."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from insights.metrics import FLUSHED, LOOP_LAG_WORST, REGISTRY
from insights.store_bridge import receive_frame, send_object
from insights.worker_process import WorkerMetrics


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(REGISTRY).decode()
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) == len(set(types)), "a family appears once"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class FakeWorkerProcess:
    """The worker process's end: answers each scrape with `written` and its loop's worst lag."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.written = 0.0
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        try:
            while True:
                receive_frame(self.sock)
                worst = GaugeMetricFamily("insights_event_loop_lag_worst_seconds", "worst", labels=["loop"])
                worst.add_metric(["worker"], 0.5)
                send_object(
                    self.sock,
                    [CounterMetricFamily("insights_worker_events_written", "w", self.written), worst],
                )
        except (OSError, ConnectionError):
            return


@pytest.fixture
def metrics() -> Iterator[WorkerMetrics]:
    collector = WorkerMetrics()
    collector.install()
    try:
        yield collector
    finally:
        collector.detach()
        collector.uninstall()


WRITTEN = ("insights_worker_events_written_total", ())
API_WORST = ("insights_event_loop_lag_worst_seconds", (("loop", "api"),))
WORKER_WORST = ("insights_event_loop_lag_worst_seconds", (("loop", "worker"),))


def test_the_worker_processs_figures_replace_this_processs_and_the_loops_merge(
    metrics: WorkerMetrics,
) -> None:
    LOOP_LAG_WORST.labels(loop="api").set(0.25)
    FLUSHED.inc(7)  # this process writes nothing: its own count is not reported beside the worker's
    assert scrape()[WRITTEN] >= 7  # before the worker process reports, the family is there all the same
    ours, theirs = socket.socketpair()
    worker = FakeWorkerProcess(theirs)
    metrics.attach(ours)
    worker.written = 42
    figures = scrape()
    assert figures[WRITTEN] == 42
    assert figures[API_WORST] == 0.25
    assert figures[WORKER_WORST] == 0.5
    worker.written = 43
    assert scrape()[WRITTEN] == 43  # asked at every scrape


def test_a_silent_worker_process_leaves_its_last_figures(metrics: WorkerMetrics) -> None:
    ours, theirs = socket.socketpair()
    worker = FakeWorkerProcess(theirs)
    worker.written = 5
    metrics.attach(ours)
    assert scrape()[WRITTEN] == 5
    theirs.close()
    worker.thread.join(5)
    assert scrape()[WRITTEN] == 5


def test_uninstalled_the_registry_is_as_before(metrics: WorkerMetrics) -> None:
    metrics.uninstall()
    try:
        FLUSHED.inc(1)
        assert scrape()[WRITTEN] >= 1  # this process's own counter again
    finally:
        metrics.install()  # the fixture uninstalls it
