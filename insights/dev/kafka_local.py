"""A local single-node Apache Kafka (KRaft) for `insights up` and the integration tests.

Fetches the official broker jars once through Maven, then runs them as a child process that dies
with its parent.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import ctypes
import fcntl
import hashlib
import json
import logging
import os
import queue
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from insights.settings import Settings, kafka_java_options

log = logging.getLogger(__name__)

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
_HOST = "127.0.0.1"
_BIND_ATTEMPTS = 3  # starts on other ports when a program takes ours first
_EXISTING_KAFKA_HINT = (
    "Or set INSIGHTS_KAFKA_BOOTSTRAP=host:port to use an existing Kafka instead of a local one."
)
_INSTALL_HINTS = {
    "java": "Install Java 17 or newer (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless; "
    "Fedora: sudo dnf install java-17-openjdk-headless; macOS: brew install openjdk@17).",
    "mvn": "Install Apache Maven, needed once to fetch the Kafka jars (Debian/Ubuntu: sudo apt-get "
    "install maven; Fedora: sudo dnf install maven; macOS: brew install maven).",
}


class _PortTaken(Exception):
    """Kafka could not bind a port we chose: another program took it first."""


class KafkaLaunchError(RuntimeError):
    """The local Kafka could not be fetched or started; the message says why and what to do."""


# --- jars -------------------------------------------------------------------------------------


def kafka_version() -> str:
    """The Kafka version the manifest (deploy/kafka/pom.xml) pins."""
    pom = _manifest_file("pom.xml").read_text()
    if found := re.search(r"<insights\.kafka\.version>\s*([^<\s]+)\s*<", pom):
        return found[1]
    raise KafkaLaunchError(f"{MANIFEST_DIR / 'pom.xml'} does not set insights.kafka.version")


def ensure_kafka_jars(cache_dir: Path | None = None) -> Path:
    """Fetch the jars once into a cache; return the libs dir.

    The cache is <root>/<version>/libs, root being `cache_dir`, else $INSIGHTS_KAFKA_CACHE, else
    ~/.cache/insights/kafka. Idempotent and fast when cached (a marker file is written only after a
    complete fetch); safe when two processes race (file lock).
    """
    pom = _manifest_file("pom.xml")
    version = kafka_version()
    home = _cache_root(cache_dir) / version
    libs, marker = home / "libs", home / ".complete"
    # The marker holds the manifest's digest, so editing the pom (e.g. log4j) refetches.
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _read_text(marker) == digest:
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(home / ".lock"):
        if _read_text(marker) == digest:  # another process fetched while we waited
            return libs
        mvn = _require_tool("mvn")
        log.info("fetching Apache Kafka %s (first run only)…", version)
        started = time.monotonic()
        staging = home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        command = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"]
        command += [f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        except subprocess.TimeoutExpired as slow:
            raise KafkaLaunchError(
                f"Maven took over 30 minutes to fetch Apache Kafka {version}; check network "
                f"access to Maven Central. {_EXISTING_KAFKA_HINT}"
            ) from slow
        if done.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            output = _tail((done.stdout + done.stderr).splitlines(), 25)
            raise KafkaLaunchError(
                f"Maven could not fetch Apache Kafka {version} (exit {done.returncode}); check "
                f"network access to Maven Central.\n{output}\n{_EXISTING_KAFKA_HINT}"
            )
        marker.unlink(missing_ok=True)
        shutil.rmtree(libs, ignore_errors=True)
        for archive in home.glob("classes-*.jsa"):  # recorded from the previous jars
            archive.unlink()
        staging.rename(libs)
        marker.write_text(digest)
        log.info("fetched Apache Kafka %s in %.1f s", version, time.monotonic() - started)
    return libs


def _cache_root(cache_dir: Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else Settings.from_env().kafka_cache


def _manifest_file(name: str) -> Path:
    path = MANIFEST_DIR / name
    if not path.is_file():
        raise KafkaLaunchError(f"the Kafka manifest {path} is missing from this installation")
    return path


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _require_tool(name: str) -> str:
    found = shutil.which(name)
    java_home = os.environ.get("JAVA_HOME")
    if found is None and name == "java" and java_home and os.access(f"{java_home}/bin/java", os.X_OK):
        found = f"{java_home}/bin/java"
    if found is None:
        raise KafkaLaunchError(
            f"`{name}` was not found on PATH; the local Kafka needs it. "
            f"{_INSTALL_HINTS[name]} {_EXISTING_KAFKA_HINT}"
        )
    return found


def _find_java() -> tuple[str, str]:
    """The java command, and a short fingerprint of its exact build."""
    java = _require_tool("java")
    done = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    major = 0 if found is None else int(found[1])
    if major == 1 and found is not None and found[2]:
        major = int(found[2])  # "1.8.0_372" is Java 8
    if major < 17:
        raise KafkaLaunchError(
            f"Kafka needs Java 17 or newer, but {java} is "
            f"{'Java ' + str(major) if major else 'not a working Java'}. "
            f"{_INSTALL_HINTS['java']} {_EXISTING_KAFKA_HINT}"
        )
    return java, hashlib.sha256(f"{java}\n{done.stderr}".encode()).hexdigest()[:12]


# --- the broker -------------------------------------------------------------------------------


class LocalKafka:
    """One broker+controller on loopback whose data lives in `data_dir` (e.g. <data dir>/kafka)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        heap_mb: int = 512,
        partitions: int = 6,
        child_setup: Callable[[], None] | None = None,
        java_options: Sequence[str] | None = None,
    ) -> None:
        """`child_setup` runs in the broker's process before Java starts (e.g. the CPUs it may use);
        `java_options` are added to the JVM's own (by default INSIGHTS_KAFKA_JAVA_OPTIONS')."""
        self.data_dir = Path(data_dir).resolve()
        self.java_options = tuple(kafka_java_options(os.environ) if java_options is None else java_options)
        self._child_setup = child_setup
        self.heap_mb = heap_mb
        self.partitions = partitions
        self._requested_port = port
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._recording_archive: Path | None = None
        self.log_dir = self.data_dir / "data"  # Kafka's log.dirs: the topic data itself
        self.logs_dir = self.data_dir / "logs"  # what the broker says: kafka.log, stdout.log
        self.pid_file = self.data_dir / "kafka.pid"
        self._state_file = self.data_dir / "kafka.json"
        self._properties = self.data_dir / "server.properties"

    @property
    def bootstrap(self) -> str:
        if self._port is None:
            raise KafkaLaunchError("the local Kafka has not been started")
        return f"{_HOST}:{self._port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker (fetching and formatting on first use); return its bootstrap."""
        if self._process is not None and self._process.poll() is None:
            return self.bootstrap
        java, java_build = _find_java()
        libs = ensure_kafka_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        self._clear_stale_broker()
        state = self._load_state()
        for _ in range(_BIND_ATTEMPTS):
            try:
                return f"{_HOST}:{self._launch(java, java_build, libs, state, timeout)}"
            except _PortTaken:
                log.warning("another program took Kafka's port while it started; picking others")
                state.pop("port", None)
                state.pop("controller_port", None)
        raise KafkaLaunchError(
            f"another program took Kafka's ports as it started, {_BIND_ATTEMPTS} times in a row "
            f"(logs in {self.logs_dir})"
        )

    def _launch(self, java: str, java_build: str, libs: Path, state: dict[str, Any], timeout: float) -> int:
        """Start the broker on the remembered (or new) ports and wait until it serves; raises
        `_PortTaken` when another program bound one of them between our choice and Kafka's bind."""
        port, controller_port = self._choose_ports(state)
        state.update(port=port, controller_port=controller_port)
        _write_atomically(self._state_file, json.dumps(state, indent=2) + "\n")
        _write_atomically(self._properties, self._server_properties(port, controller_port))
        if not (self.log_dir / "meta.properties").exists():
            self._format_storage(java, libs, state["cluster_id"])

        log.info("starting Kafka %s on %s:%d…", kafka_version(), _HOST, port)
        started = time.monotonic()
        kafka_log = self.logs_dir / "kafka.log"
        log_offset = kafka_log.stat().st_size if kafka_log.exists() else 0
        with (self.logs_dir / "stdout.log").open("wb") as stdout:
            command = [*self._java_command(java, libs), *self._class_archive(libs, java_build)]
            command += ["kafka.Kafka", str(self._properties)]
            self._process = _spawn(command, stdout, self._child_setup)
        self._port = port
        _running.add(self)
        _write_atomically(self.pid_file, f"{self._process.pid}\n{os.getpid()}\n")

        deadline = started + timeout
        while not _broker_ready(port):
            if (code := self._process.poll()) is not None:
                self._forget_process()
                tail = self._log_tail(log_offset)
                if "Address already in use" in tail and self._requested_port is None:
                    raise _PortTaken
                raise KafkaLaunchError(
                    f"Kafka exited with code {code} while starting; its last log lines:\n"
                    f"{tail}\n(full logs in {self.logs_dir})"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise KafkaLaunchError(
                    f"Kafka did not become ready on {self.bootstrap} within {timeout:.0f} s; its "
                    f"last log lines:\n{self._log_tail(log_offset)}\n(full logs in {self.logs_dir})"
                )
            time.sleep(0.2)
        log.info("Kafka ready on %s (%.1f s)", self.bootstrap, time.monotonic() - started)
        return port

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (Kafka shuts down cleanly), then SIGKILL after `timeout`. Idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kafka (pid %d) ignored SIGTERM for %.0f s; killing it", process.pid, timeout)
                process.kill()
                process.wait()
            log.info("Kafka stopped")
            self._keep_recorded_archive()
        self._forget_process()

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- internals ---

    def _forget_process(self) -> None:
        if self._process is not None and _read_pids(self.pid_file)[0] == self._process.pid:
            self.pid_file.unlink(missing_ok=True)
        self._process = None
        _running.discard(self)

    def _clear_stale_broker(self) -> None:
        """Stop a broker a crashed run left behind on this data dir; refuse to share the dir."""
        kafka_pid, owner_pid = _read_pids(self.pid_file)
        if kafka_pid is not None and alive(kafka_pid) and self._is_our_broker(kafka_pid):
            if owner_pid not in (None, os.getpid()) and alive(owner_pid):
                raise KafkaLaunchError(
                    f"Kafka (pid {kafka_pid}) on {self.data_dir} belongs to another running "
                    f"process (pid {owner_pid}); stop it first or use another data dir."
                )
            log.warning("stopping Kafka (pid %d) left behind by an earlier run", kafka_pid)
            _terminate(kafka_pid)
        elif kafka_pid is not None:
            log.info("removing stale Kafka pid file %s (pid %d is gone)", self.pid_file, kafka_pid)
        self.pid_file.unlink(missing_ok=True)
        holder = _lock_holder(self.log_dir / ".lock")
        if holder is not None:
            raise KafkaLaunchError(
                f"Kafka's log dir {self.log_dir} is locked by process {holder} "
                f"({_cmdline(holder)[:120] or 'unknown'}); stop that process or use another data dir."
            )

    def _is_our_broker(self, pid: int) -> bool:
        args = _cmdline(pid)
        return "kafka.Kafka" in args and str(self._properties) in args

    def _load_state(self) -> dict[str, Any]:
        with suppress(FileNotFoundError, ValueError):
            state: dict[str, Any] = json.loads(self._state_file.read_text())
            if isinstance(state.get("cluster_id"), str):
                return state
        meta = _read_text(self.log_dir / "meta.properties") or ""
        found = re.search(r"^cluster\.id=(\S+)$", meta, re.MULTILINE)
        return {"cluster_id": found[1] if found else _new_cluster_id()}

    def _choose_ports(self, state: dict[str, Any]) -> tuple[int, int]:
        """Reuse the remembered ports when free, so clients configured earlier still connect."""
        if self._requested_port is not None:
            if not _port_free(self._requested_port):
                raise KafkaLaunchError(
                    f"port {self._requested_port} on {_HOST} is already in use by another program"
                )
            port = self._requested_port
        else:
            port = _reuse_or_pick(state.get("port"), avoid=set())
        return port, _reuse_or_pick(state.get("controller_port"), avoid={port})

    def _server_properties(self, port: int, controller_port: int) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{_HOST}:{controller_port}",
            "listeners": f"PLAINTEXT://{_HOST}:{port},CONTROLLER://{_HOST}:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{_HOST}:{port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": str(self.partitions),
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",  # 50 by default: slow first group join
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # After a crash the restarted broker waits out its old session before it may register
            # again: 9 s by default, which made a post-crash start take ~13 s instead of ~3 s.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "1000",
            "auto.create.topics.enable": "true",
            "log.retention.hours": "168",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),  # 128 MiB by default
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        header = "# Generated by insights/dev/kafka_local.py on every start; edits are lost.\n"
        return header + "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java_command(self, java: str, libs: Path) -> list[str]:
        return [
            java,
            f"-Xmx{self.heap_mb}m",
            f"-Xms{self.heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            *self.java_options,
            f"-Dlog4j2.configurationFile={_manifest_file('log4j2.properties')}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            f"{libs}/*",  # expanded by java itself
        ]

    def _class_archive(self, libs: Path, java_build: str) -> list[str]:
        """Options to start from a class-data-sharing archive of Kafka's classes (~30% faster
        start: ~3 s instead of ~4 s on 2 cores), or to record one when this run exits cleanly."""
        archive = libs.parent / f"classes-{java_build}.jsa"
        if archive.exists():  # a stale or foreign archive is refused by the JVM, not fatal
            return [f"-XX:SharedArchiveFile={archive}"]
        for partial in libs.parent.glob("classes-*.partial"):  # from runs that were killed
            owner = partial.suffixes[-2].lstrip(".")
            if not (owner.isdigit() and alive(int(owner))):
                partial.unlink(missing_ok=True)
        self._recording_archive = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
        return [f"-XX:ArchiveClassesAtExit={self._recording_archive}"]

    def _keep_recorded_archive(self) -> None:
        recorded, self._recording_archive = self._recording_archive, None
        if recorded is not None and recorded.exists():
            recorded.replace(recorded.with_suffix("").with_suffix(""))  # drop .<pid>.partial

    def _format_storage(self, java: str, libs: Path, cluster_id: str) -> None:
        log.info("formatting Kafka storage in %s (first run only)", self.log_dir)
        command = [*self._java_command(java, libs), "kafka.tools.StorageTool", "format"]
        command += ["--cluster-id", cluster_id, "--config", str(self._properties)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            output = _tail(_without_stack_frames(done.stdout + done.stderr), 20)
            raise KafkaLaunchError(f"formatting Kafka storage in {self.log_dir} failed:\n{output}")

    def _log_tail(self, kafka_log_offset: int) -> str:
        lines: list[str] = []
        with suppress(FileNotFoundError), (self.logs_dir / "kafka.log").open("rb") as handle:
            handle.seek(kafka_log_offset)
            lines += handle.read().decode(errors="replace").splitlines()
        lines += (_read_text(self.logs_dir / "stdout.log") or "").splitlines()
        return _tail(_without_stack_frames("\n".join(lines)), 30) or "(no output)"


_running: weakref.WeakSet[LocalKafka] = weakref.WeakSet()


@atexit.register
def _stop_running_brokers() -> None:
    for kafka in list(_running):
        kafka.stop()


# --- processes --------------------------------------------------------------------------------


class _Spawner:
    """Forks children from one thread that lives as long as the process.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so a broker started from a
    short-lived worker thread (asyncio.to_thread, an executor) would be killed with that thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def run(self, job: Callable[[], Any]) -> Any:
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="kafka-spawner", daemon=True)
                self._thread.start()
        result: Future[Any] = Future()
        self._jobs.put((job, result))
        return result.result()

    def _serve(self) -> None:
        while True:
            job, result = self._jobs.get()
            try:
                result.set_result(job())
            except BaseException as error:  # handed back to the caller
                result.set_exception(error)


_spawner = _Spawner()


def _spawn(
    command: list[str], stdout: Any, child_setup: Callable[[], None] | None = None
) -> subprocess.Popen[bytes]:
    die_with_parent = _die_with_parent()

    def setup() -> None:
        if die_with_parent is not None:
            die_with_parent()
        if child_setup is not None:
            child_setup()

    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            process_group=0,  # a terminal's Ctrl-C reaches us, and we stop Kafka in order
            preexec_fn=setup,
        )

    result: subprocess.Popen[bytes] = _spawner.run(popen)
    return result


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has the kernel SIGKILL the child when we die, even by SIGKILL (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, not in the child
    parent = os.getpid()

    def setup() -> None:
        prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # we died between fork and prctl
            os._exit(1)

    return setup


def _terminate(pid: int, timeout: float = 30.0) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)
    raise KafkaLaunchError(f"could not stop the leftover Kafka process {pid}")


def alive(pid: int) -> bool:
    """Whether process `pid` runs (not a zombie); our own exited child is reaped on the way."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _read_pids(pid_file: Path) -> tuple[int | None, int | None]:
    numbers = [int(word) for word in (_read_text(pid_file) or "").split() if word.isdigit()]
    return (numbers[0] if numbers else None, numbers[1] if len(numbers) > 1 else None)


def _lock_holder(lock_file: Path) -> int | None:
    """The pid holding Kafka's POSIX lock (Java FileChannel.tryLock = fcntl) on `lock_file`."""
    if not sys.platform.startswith("linux") or not lock_file.exists():
        return None
    with lock_file.open("rb") as handle:
        # struct flock on 64-bit Linux: short type, short whence, off_t start, off_t len, pid_t pid
        query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(handle, fcntl.F_GETLK, query)
    lock_type, _, _, _, holder = struct.unpack("hhqqi4x", answer)
    return None if lock_type == fcntl.F_UNLCK else holder


# --- network ----------------------------------------------------------------------------------


def _broker_ready(port: int) -> bool:
    """The broker serves metadata and consumer groups: what producers and Faust need first.

    Asking for a group coordinator also makes the broker create __consumer_offsets now, so the
    first consumer does not log GroupCoordinatorNotAvailable errors while it is created.
    """
    try:  # a closed port answers at once; only a listening broker is worth a Kafka client
        socket.create_connection((_HOST, port), timeout=2.0).close()
    except OSError:
        return False
    return asyncio.run(_serves_groups(f"{_HOST}:{port}"))


async def _serves_groups(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="insights-launcher", request_timeout_ms=2000
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()  # the live (unfenced) brokers
        await admin.find_coordinator("insights-launcher")  # raises until the coordinator is loaded
    except (KafkaError, OSError):
        return False
    finally:
        with suppress(Exception):
            await admin.close()
    return len(cluster["brokers"]) > 0


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kafka's own listener
        try:
            probe.bind((_HOST, port))
        except OSError:
            return False
    return True


def _reuse_or_pick(remembered: object, avoid: set[int]) -> int:
    if isinstance(remembered, int) and remembered not in avoid and _port_free(remembered):
        return remembered
    return unused_port(avoid)


def unused_port(avoid: Collection[int] = (), among: range | None = None) -> int:
    """A free local port for a server to bind soon, chosen below the kernel's ephemeral range: from
    `among`, by default the upper half of the ports below it.

    A port found by binding port 0 comes from that range, from which the kernel also gives the
    local ports of outgoing connections: one made by any program between our choice and the
    server's bind takes the port from it (Kafka's JVM needs seconds to bind)."""
    low = ephemeral_low()
    if among is None:
        among = range(max(1024, low // 2), low)
    while True:
        port = random.choice(among) if len(among) >= 16 else _kernel_port()  # noqa: S311
        if port not in avoid and _port_free(port):
            return port


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _kernel_port() -> int:
    with socket.socket() as probe:
        probe.bind((_HOST, 0))
        port: int = probe.getsockname()[1]
    return port


# --- small helpers ----------------------------------------------------------------------------


def _new_cluster_id() -> str:
    """A random id in Kafka's Uuid text form (URL-safe base64, no padding, no leading dash)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def _without_stack_frames(text: str) -> list[str]:
    return [line for line in text.splitlines() if not re.match(r"\s+(at |\.\.\. \d+ more)", line)]


def _tail(lines: list[str], count: int) -> str:
    return "\n".join(line for line in lines[-count:])
