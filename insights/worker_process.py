"""`insights up`'s worker, in a process of its own beside the API's.

In one process the worker's Python (Kafka, Faust, decoding, building insert columns) took the
interpreter from the requests for milliseconds at a time: under live ingest the cached reads' tail grew
several-fold (BENCHMARKS.md, "reads under ingest"). So `insights up` starts `python -m
insights.worker_process`, the same worker `insights worker` runs, and:

- its statements go to the engine this process owns, through the store bridge
  (insights/store_bridge.py): chDB opens a data directory from one process only;
- it runs at a lower OS priority (niceness), like its statements: the requests first. It is in a
  session of its own, and Linux shares the CPU between sessions before it looks at a thread's niceness
  (autogroup), so the session gets the same niceness (`lower_priority`);
- its metrics (events written, flushes, its loop's lag) are asked for at every scrape of this process's
  /metrics, so `insights up` reports as one (`WorkerMetrics`);
- it stops when asked (SIGTERM, an orderly stop: what was written is committed); it dies with this
  process (a crash of one is a crash of both: nothing else can serve its statements); if it exits by
  itself, it is started again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from insights.metrics import (
    BATCH_EVENTS,
    DEAD_LETTERS,
    DUPLICATES,
    FLUSH_SECONDS,
    FLUSHED,
    LOOP_LAG,
    LOOP_LAG_WORST,
    REGISTRY,
    WORKER_RESTARTS,
    WRITE_RETRIES,
)
from insights.settings import Settings
from insights.store import Store
from insights.store_bridge import (
    METRICS,
    TOKEN_ENV,
    BridgeServer,
    connect,
    receive_frame,
    receive_object,
    send_frame,
    send_object,
)

log = logging.getLogger(__name__)

START_SECONDS = 180.0  # Faust joins the group and Kafka assigns partitions within this
STOP_SECONDS = 60.0  # an orderly stop commits what was written; past this the process is killed
RESTART_FIRST_DELAY, RESTART_MAX_DELAY = 1.0, 30.0
_PR_SET_PDEATHSIG = 1  # prctl(2)
SCRAPE_SECONDS = 2.0  # past this a scrape reports the worker's figures of the scrape before

# Recorded only by the worker; and the loops' lag, recorded by both processes under their own label.
_WORKER_ONLY: tuple[Any, ...] = (
    FLUSHED,
    DUPLICATES,
    DEAD_LETTERS,
    WRITE_RETRIES,
    BATCH_EVENTS,
    FLUSH_SECONDS,
)
_SHARED: tuple[Any, ...] = (LOOP_LAG, LOOP_LAG_WORST)


def _names(collectors: tuple[Any, ...]) -> set[str]:
    return {family.name for collector in collectors for family in collector.collect()}


class WorkerMetrics(Collector):
    """In this process's registry, instead of the worker's own metrics: the worker process's figures,
    asked for at each scrape over the connection it opened (`attach`)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._last: dict[str, Metric] = {}
        self.attached = threading.Event()

    def install(self) -> None:
        for collector in (*_WORKER_ONLY, *_SHARED):
            REGISTRY.unregister(collector)
        REGISTRY.register(self)

    def uninstall(self) -> None:
        REGISTRY.unregister(self)
        for collector in (*_WORKER_ONLY, *_SHARED):
            REGISTRY.register(collector)

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
            self._sock = sock
        self.attached.set()

    def detach(self) -> None:
        self.attached.clear()
        with self._lock:
            if self._sock is not None:
                self._sock.close()
            self._sock = None

    def _theirs(self) -> dict[str, Metric]:
        with self._lock:
            if self._sock is None:
                return self._last
            try:
                self._sock.settimeout(SCRAPE_SECONDS)
                send_frame(self._sock, b"collect")
                self._last = {family.name: family for family in receive_object(self._sock)}
            except OSError as error:
                # A reply may still come: the connection cannot be trusted any more. The worker
                # process opens another.
                log.warning("the worker process did not report its metrics (%s)", error)
                self._sock.close()
                self._sock = None
            return self._last

    def collect(self) -> Iterator[Metric]:
        theirs = self._theirs()
        for collector in (*_WORKER_ONLY, *_SHARED):
            for mine in collector.collect():
                other = theirs.get(mine.name)
                if other is None:
                    yield mine  # not reported yet: this process's zeros keep the family in place
                    continue
                family = Metric(mine.name, mine.documentation, mine.type, mine.unit)
                family.samples = [*mine.samples, *other.samples] if collector in _SHARED else other.samples
                yield family


class WorkerProcess:
    """start / stop like `Worker`; the worker runs in a child process (module docstring)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bootstrap: str,
        niceness: int = 0,
        child_setup: Callable[[], None] | None = None,
    ) -> None:
        """`child_setup` runs in the worker's process before it starts (e.g. the CPUs it may use)."""
        self._settings = settings
        self._child_setup = child_setup
        self._store = store
        self._bootstrap = bootstrap
        self._niceness = niceness
        self._metrics = WorkerMetrics()
        self._bridge: BridgeServer | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watching: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def start(self) -> None:
        self._metrics.install()
        self._bridge = BridgeServer(self._store, self._metrics.attach)
        await self._spawn()
        self._watching = asyncio.create_task(self._watch())

    async def _spawn(self) -> None:
        assert self._bridge is not None
        self._metrics.detach()
        env = {
            **os.environ,
            "INSIGHTS_DATA_DIR": str(self._settings.data_dir),
            "INSIGHTS_KAFKA_BOOTSTRAP": self._bootstrap,
            # The embedded engine through this process; a server directly.
            "INSIGHTS_CLICKHOUSE_DSN": self._bridge.dsn if self._store.embedded else self._store.dsn,
            TOKEN_ENV: self._bridge.token,
        }
        command = [sys.executable, "-m", "insights.worker_process", "--bridge", self._bridge.path]
        command += ["--parent", str(os.getpid()), "--niceness", str(self._niceness)]
        # A session of its own: Ctrl-C in a terminal reaches this process only, which stops the worker
        # in order (the worker first, the engine after).
        self._process = await asyncio.create_subprocess_exec(
            *command, env=env, start_new_session=True, preexec_fn=self._child_setup
        )
        deadline = asyncio.get_running_loop().time() + START_SECONDS
        while not self._metrics.attached.is_set():
            if self._process.returncode is not None:
                raise RuntimeError(f"the worker process exited at start (code {self._process.returncode})")
            if asyncio.get_running_loop().time() > deadline:
                self._process.kill()  # stuck: the next one starts afresh
                raise RuntimeError(f"the worker process did not start within {START_SECONDS:.0f} s")
            await asyncio.sleep(0.05)
        log.info("worker process %d consuming", self._process.pid)

    async def _watch(self) -> None:
        """Starts the worker again whenever it exits by itself (never while stopping)."""
        delay = RESTART_FIRST_DELAY
        while True:
            assert self._process is not None
            began = asyncio.get_running_loop().time()
            code = await self._process.wait()
            if asyncio.get_running_loop().time() - began > 60:
                delay = RESTART_FIRST_DELAY
            log.error("the worker process exited (code %d); starting it again in %.0f s", code, delay)
            WORKER_RESTARTS.inc()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX_DELAY)
            with contextlib.suppress(RuntimeError):
                await self._spawn()

    async def stop(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await process.wait()
            except TimeoutError:
                log.error("the worker process did not stop within %.0f s: killed", STOP_SECONDS)
                process.kill()
                await process.wait()
        self._metrics.detach()
        self._metrics.uninstall()
        if self._bridge is not None:
            self._bridge.close()


# --- the worker process ---------------------------------------------------------------------------


def _report_metrics(path: str, token: str, stopping: threading.Event) -> None:
    """Answers the owner's scrapes with this process's worker metrics, reconnecting if cut."""
    names = _names(_WORKER_ONLY) | _names(_SHARED)
    while not stopping.is_set():
        try:
            with contextlib.closing(connect(path, token, METRICS)) as sock:
                while True:
                    receive_frame(sock)
                    send_object(sock, [family for family in REGISTRY.collect() if family.name in names])
        except OSError:
            stopping.wait(1.0)


async def _serve(settings: Settings, bridge: str, parent: int) -> None:
    from insights.kafka_identity import IdentityGuard
    from insights.loop_lag import LoopLagMonitor
    from pipeline.rejoin import rejoin_as_recorded
    from pipeline.worker import Worker

    rejoin_as_recorded(settings.data_dir)  # after a crash, no wait for the dead member's session
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    token = os.environ.get(TOKEN_ENV, "")
    bootstrap = settings.kafka_bootstrap or ""
    store = Store(settings.clickhouse_dsn, bridge_token=token)
    identity = IdentityGuard(store, bootstrap)
    worker = Worker(settings, store, bootstrap, identity)
    lag = LoopLagMonitor("worker")
    stopping = threading.Event()
    try:
        await identity.start()
        await worker.start()
        await lag.start()
        gc.freeze()  # as in the API's process: start-up's objects stay out of the collector's passes
        threading.Thread(target=_report_metrics, args=(bridge, token, stopping), daemon=True).start()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await stop.wait()
            _unless_orphaned(parent)
    finally:
        stopping.set()
        await lag.stop()
        await worker.stop()
        await identity.stop()
        store.close()


def _die_with(parent: int) -> None:
    """Killed with the process that started it (Linux: by the kernel, at once)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _unless_orphaned(parent)


def lower_priority(niceness: int, autogroup: str = "/proc/self/autogroup") -> None:
    """Run this process at `niceness`, and its session too: where Linux groups the CPU by session first
    (autogroup), a niceness weighs only against the session's own threads, and this process leads a
    session of its own, which would take as much CPU as the API's. Where there is no autogroup, or it
    cannot be set, the process's own niceness is all there is."""
    os.nice(niceness)
    try:
        with open(autogroup, "w") as group:
            group.write(str(niceness))
    except OSError as error:
        log.debug("the worker's session keeps its priority (%s)", error)


def _unless_orphaned(parent: int) -> None:
    if os.getppid() != parent:
        log.error("`insights up` is gone: its worker stops at once, as after a crash")
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    from insights import logs
    from pipeline import failpoints

    parser = argparse.ArgumentParser(prog="python -m insights.worker_process")
    parser.add_argument("--bridge", required=True, help="the owner's socket (metrics)")
    parser.add_argument("--parent", type=int, required=True, help="die with this process")
    parser.add_argument("--niceness", type=int, default=0)
    args = parser.parse_args(argv)
    _die_with(args.parent)
    settings = Settings.from_env()
    logs.configure_logging(settings.log_level, settings.log_format)
    # A crash point takes all of `insights up` down, as a power cut would.
    failpoints.arm(settings.failpoints, together_with=args.parent)
    if args.niceness:
        lower_priority(args.niceness)
    asyncio.run(_serve(settings, args.bridge, args.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
