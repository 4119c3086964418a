"""Beside the API, the engine runs the worker's statements, and its merges, at a lower OS priority."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from insights.dev.kafka_local import LocalKafka
from insights.settings import Settings, SettingsError
from insights.store import Store
from tests.integration.conftest import ExternalKafka
from tests.integration.harness import UpProcess, eventually, worker_pid

PRIORITY_SQL = "SELECT getSetting('os_thread_priority')"


def niceness(task: str) -> int:
    """The OS niceness of a process or thread under /proc (field 19 of its stat)."""
    stat = Path(f"/proc/{task}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def test_the_workers_statements_run_at_the_niceness_asked_and_reads_do_not(embedded_store: Store) -> None:
    store = Store(embedded_store.dsn, writes_niceness=10)
    threads: list[int] = []

    def slow_write() -> list[tuple[object, ...]]:
        threads.append(threading.get_native_id())
        return store.query_rows(f"SELECT sleep(0.8), ({PRIORITY_SQL})")

    try:
        with store.writer_pool(1, "rollup") as pool:
            running = pool.submit(slow_write)
            seen: set[int] = set()
            while not running.done() and 10 not in seen:  # the engine sets it on the statement's thread
                if threads:
                    seen.add(niceness(f"self/task/{threads[0]}"))
                time.sleep(0.01)
            assert running.result() == [(0, 10)]
            assert 10 in seen
            assert (
                niceness(f"self/task/{threads[0]}") == 0
            )  # and gives the thread its own back after the statement
        assert store.query_rows(PRIORITY_SQL) == [(0,)]  # this thread reads, at the default
    finally:
        store.close()


MERGES_NICENESS = """
import sys, tempfile
from insights.dev.kafka_local import LocalKafka
from insights.settings import Settings, SettingsError
from insights.store import Store
from tests.integration.conftest import ExternalKafka
from tests.integration.harness import UpProcess, eventually, worker_pid
store = Store(f"chdb://{tempfile.mkdtemp()}/clickhouse", writes_niceness=int(sys.argv[1]))
((value,),) = store.query_rows(
    "SELECT value FROM system.server_settings WHERE name = 'os_threads_nice_value_merge_mutate'"
)
print(value)
store.close()
"""


@pytest.mark.parametrize("asked", [0, 10])
def test_the_engines_merges_run_at_the_writes_niceness(asked: int) -> None:
    """The engine opens with it (a process of its own: this one's engine is open already)."""
    merges = subprocess.run(
        [sys.executable, "-c", MERGES_NICENESS, str(asked)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert merges.stdout.split() == [str(asked)]


def test_the_writes_niceness_is_nineteen_unless_set_from_zero_to_nineteen() -> None:
    base = {"INSIGHTS_SECRET": "x" * 40}
    assert Settings.from_env(base).writes_niceness == 19
    assert Settings.from_env({**base, "INSIGHTS_WRITES_NICENESS": " 0 "}).writes_niceness == 0
    assert Settings.from_env({**base, "INSIGHTS_WRITES_NICENESS": "19"}).writes_niceness == 19
    for wrong in ("20", "-1", "low", "2.5"):
        with pytest.raises(
            SettingsError, match="INSIGHTS_WRITES_NICENESS must be a whole number from 0 to 19"
        ):
            Settings.from_env({**base, "INSIGHTS_WRITES_NICENESS": wrong})


def autogroup_enabled() -> bool:
    enabled = Path("/proc/sys/kernel/sched_autogroup_enabled")
    return enabled.exists() and enabled.read_text().strip() == "1"


def test_insights_up_runs_its_worker_at_the_niceness_set(
    session_kafka: ExternalKafka | LocalKafka, tmp_path: Path
) -> None:
    up = UpProcess(tmp_path / "data", session_kafka.bootstrap)
    up.env["INSIGHTS_WRITES_NICENESS"] = "4"
    up.start()
    try:
        pid = eventually(lambda: worker_pid(up))
        # The worker's process sets its niceness once its modules are imported: it may not have yet.
        eventually(lambda: niceness(str(pid)) == 4, timeout=60)
        # And its session's, where Linux shares the CPU between sessions first (set right after).
        if autogroup_enabled():
            eventually(lambda: Path(f"/proc/{pid}/autogroup").read_text().split()[-1] == "4", timeout=10)
    finally:
        assert up.stop() == 0
