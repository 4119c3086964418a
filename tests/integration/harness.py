"""`insights up` as a child process, the way a user runs it, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import clickhouse_connect
import httpx

from api.http.limits import Limits
from insights.dev.kafka_local import ephemeral_low, unused_port
from schemas.tokens import create_token

SECRET = "end-to-end-test-secret-of-a-reasonable-length"
# Limits no test reaches: for tests of something else than the limits.
UNLIMITED = Limits(read=10**9, export=10**9, ingest=10**9, auth_failures=10**9)
INSIGHTS = "/api/v1/producer-intelligence/insights"


def free_port() -> int:
    """A port for a server a test starts, that nothing takes before it binds: below the range outgoing
    connections are given theirs, apart from the local Kafkas' (`unused_port`'s default), and in a
    slice of its own for each of pytest's workers (tests within a worker run one after another)."""
    low = ephemeral_low()
    first = max(1024, low // 4)
    size = (low // 2 - first) // 8
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = first + (int(worker) if worker.isdigit() else 0) % 8 * size
    return unused_port(among=range(start, start + size))


def token(*scopes: str, artists: tuple[int, ...] = ()) -> str:
    return create_token(SECRET, subject="tests", scopes=scopes, artists=artists)


def eventually(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Call `check` until it returns a truthy value (returned) or raises nothing past the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)


def worker_pid(up: UpProcess) -> int | None:
    """The running worker process of `up` (a child whose command line names the module)."""
    assert up.process is not None
    for children in Path(f"/proc/{up.process.pid}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                if b"insights.worker_process" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(pid)
            except FileNotFoundError:
                continue
    return None


def fresh_server_database(url: str) -> str:
    """A new, empty database on the ClickHouse server at `url`; returns a DSN pointing at it.

    Named insights_test_*, so a test server can be cleaned with one query."""
    name = f"insights_test_{uuid.uuid4().hex[:12]}"
    client = clickhouse_connect.get_client(dsn=url)
    try:
        client.command(f"CREATE DATABASE {name}")
    finally:
        client.close()
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class UpProcess:
    """Runs `insights up --data-dir DIR --port P`; start/stop/restart like a user with Ctrl-C."""

    # Every process started, so that one a failed test left running is killed after its module
    # (tests/integration/conftest.py), instead of holding its engine and a core for the rest of the run.
    started: ClassVar[list[subprocess.Popen[bytes]]] = []

    @classmethod
    def kill_leftovers(cls) -> None:
        for process in cls.started:
            if process.poll() is None:
                process.kill()
                process.wait()
        cls.started.clear()

    def __init__(self, data_dir: Path, kafka_bootstrap: str | None = None) -> None:
        """With `kafka_bootstrap`, `up` uses that Kafka (owned by the test) instead of its own."""
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-up.log"
        self.env = {**os.environ, "INSIGHTS_SECRET": SECRET, "INSIGHTS_TOPIC_PARTITIONS": "3"}
        self.env.pop("INSIGHTS_KAFKA_BOOTSTRAP", None)
        self.env.pop("INSIGHTS_CLICKHOUSE_DSN", None)
        self.env.pop("INSIGHTS_FAILPOINTS", None)
        if kafka_bootstrap:
            self.env["INSIGHTS_KAFKA_BOOTSTRAP"] = kafka_bootstrap

    command = (sys.executable, "-m", "insights.cli", "up")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, bearer: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def start(self, timeout: float = 180.0, failpoints: str = "", until: str = "/readyz") -> None:
        """Start and wait until ready (or until `until` answers 200, e.g. /healthz for a process
        that is up but must not be ready); `failpoints` arms pipeline/failpoints.py for this run only.

        With INSIGHTS_TEST_CLICKHOUSE_URL set, the process stores on that server, in a database of its
        own (kept across restarts), instead of the embedded engine."""
        self.env["INSIGHTS_FAILPOINTS"] = failpoints
        server = os.environ.get("INSIGHTS_TEST_CLICKHOUSE_URL")
        if server and "INSIGHTS_CLICKHOUSE_DSN" not in self.env:
            self.env["INSIGHTS_CLICKHOUSE_DSN"] = fresh_server_database(server)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.command, "--data-dir", str(self.data_dir), "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        UpProcess.started.append(self.process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"insights up exited early:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + until, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"insights up not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 120.0) -> int:
        """Ctrl-C, and wait for a clean exit; returns the exit code. The default outlasts the worker
        process's own bound on its orderly stop (60 s, insights/worker_process.py), which a loaded
        machine can use up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # its threads' stacks, into the log
            time.sleep(1)
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"insights up did not stop on Ctrl-C:\n{self.log_tail(200)}") from None
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def wait_for_crash(self, timeout: float = 120.0) -> int:
        """Wait until the process dies by itself (a failpoint); returns its exit code."""
        assert self.process is not None
        code = self.process.wait(timeout)
        self.process = None
        return code

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
