"""The local Kafka launcher against the real Apache Kafka jars: start, round trip, restart, cleanup.

One broker is shared by the module (each start costs seconds); tests that stop it start it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from insights.dev import kafka_local
from insights.dev.kafka_local import KafkaLaunchError, LocalKafka, ensure_kafka_jars

pytestmark = pytest.mark.integration

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17+ on PATH")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    if shutil.which("java") is None:
        pytest.skip("needs Java 17+ on PATH")
    kafka = LocalKafka(tmp_path_factory.mktemp("shared") / "kafka", partitions=3)
    kafka.start()
    yield kafka
    kafka.stop()


# --- helpers ---


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def produce(bootstrap: str, topic: str, values: list[bytes], partitions: int = 3) -> None:
    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            if topic not in await admin.list_topics():
                await admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(topic, value)
        finally:
            await producer.stop()

    asyncio.run(run())


def consume(bootstrap: str, topic: str, count: int, timeout: float = 20.0) -> list[bytes]:
    """The first `count` values of `topic`, read from the beginning by a consumer group."""

    async def run() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"test-{topic}-{time.monotonic_ns()}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        values: list[bytes] = []
        try:
            deadline = time.monotonic() + timeout
            while len(values) < count and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                values += [m.value for records in batches.values() for m in records if m.value]
            if values:
                await consumer.commit()
                partitions = consumer.assignment()
                committed = [await consumer.committed(tp) or 0 for tp in partitions]
                assert sum(committed) == len(values)
        finally:
            await consumer.stop()
        return values

    return asyncio.run(run())


# --- the shared broker ---


def test_start_serves_on_loopback_and_writes_a_pid_file(broker: LocalKafka) -> None:
    assert broker.bootstrap.startswith("127.0.0.1:")
    assert broker.pid is not None and running(broker.pid)
    assert broker.pid_file.read_text().split()[0] == str(broker.pid)
    assert broker.start() == broker.bootstrap  # already running: a no-op


def test_produce_and_consume_round_trip(broker: LocalKafka) -> None:
    values = [f"message {i}".encode() for i in range(50)]
    produce(broker.bootstrap, "round-trip", values)
    assert sorted(consume(broker.bootstrap, "round-trip", len(values))) == sorted(values)


def test_stop_leaves_no_process_and_restart_keeps_messages(broker: LocalKafka) -> None:
    produce(broker.bootstrap, "durable", [b"kept across restarts"])
    pid = broker.pid
    assert pid is not None

    broker.stop()
    assert not running(pid)
    assert not broker.pid_file.exists()
    broker.stop()  # idempotent

    broker.start()
    assert broker.pid != pid
    assert consume(broker.bootstrap, "durable", 1) == [b"kept across restarts"]


def test_a_port_taken_while_kafka_starts_means_a_start_on_other_ports(
    broker: LocalKafka, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    produce(broker.bootstrap, "moved", [b"kept on the new port"])
    broker.stop()
    remembered = int(broker.bootstrap.rpartition(":")[2])
    # Another program binds the remembered port after the launcher found it free.
    monkeypatch.setattr(kafka_local, "_port_free", lambda port: port == remembered or free(port))
    with socket.socket() as taker:
        taker.bind(("127.0.0.1", remembered))
        taker.listen()
        with caplog.at_level(logging.WARNING, logger="insights.dev.kafka_local"):
            bootstrap = broker.start()
    assert bootstrap == broker.bootstrap and not bootstrap.endswith(f":{remembered}")
    assert "took Kafka's port" in caplog.text
    assert consume(bootstrap, "moved", 1) == [b"kept on the new port"]


def test_chosen_ports_are_free_and_below_the_range_outgoing_connections_use() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert kafka_local.ephemeral_low() == low
    ports = {kafka_local.unused_port() for _ in range(50)}
    assert all(1024 <= port < low and free(port) for port in ports)
    assert len(ports) > 40  # spread, so two launchers at once rarely pick the same
    assert not {kafka_local.unused_port(avoid=ports) for _ in range(20)} & ports
    within = range(low // 4, low // 4 + 100)
    assert all(kafka_local.unused_port(among=within) in within for _ in range(20))


def test_stale_pid_file_of_a_dead_process_is_removed(broker: LocalKafka) -> None:
    broker.stop()
    broker.pid_file.write_text(f"{dead_pid()}\n{dead_pid()}\n")

    broker.start()
    assert broker.pid_file.read_text().split()[0] == str(broker.pid)


def test_live_broker_left_by_a_crashed_parent_is_stopped(
    broker: LocalKafka, caplog: pytest.LogCaptureFixture
) -> None:
    orphan = broker.pid
    assert orphan is not None
    # The process that started it is gone; only the pid file and the broker remain.
    broker.pid_file.write_text(f"{orphan}\n{dead_pid()}\n")

    successor = LocalKafka(broker.data_dir, partitions=3)
    with caplog.at_level(logging.WARNING, logger="insights.dev.kafka_local"):
        successor.start()
    try:
        assert not running(orphan)
        assert f"pid {orphan}" in caplog.text
        produce(successor.bootstrap, "after-takeover", [b"still works"])
        assert consume(successor.bootstrap, "after-takeover", 1) == [b"still works"]
    finally:
        successor.stop()
    broker.start()  # leave the shared broker running for the other tests


def test_broker_of_another_running_process_is_not_touched(broker: LocalKafka) -> None:
    other_owner = subprocess.Popen(["sleep", "60"])
    original = broker.pid_file.read_text()
    try:
        broker.pid_file.write_text(f"{broker.pid}\n{other_owner.pid}\n")
        with pytest.raises(KafkaLaunchError, match=f"another running process \\(pid {other_owner.pid}"):
            LocalKafka(broker.data_dir).start()
        assert broker.pid is not None and running(broker.pid)
    finally:
        broker.pid_file.write_text(original)
        other_owner.kill()
        other_owner.wait()


# --- brokers of their own ---


@needs_java
def test_kafka_dies_with_a_sigkilled_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from insights.dev.kafka_local import LocalKafka
        kafka = LocalKafka(Path(sys.argv[1]))
        kafka.start()
        print(kafka.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "kafka")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = parent.stdout.readline() if parent.stdout else ""
        assert line.strip().isdigit(), parent.stderr.read() if parent.stderr else ""
        kafka_pid = int(line)
        assert running(kafka_pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    while running(kafka_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(kafka_pid)


def test_log_dir_locked_by_another_process_names_that_process(tmp_path: Path) -> None:
    lock_file = tmp_path / "kafka" / "data" / ".lock"
    lock_file.parent.mkdir(parents=True)
    lock_file.touch()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'r+'); "
            "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
            str(lock_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(KafkaLaunchError, match=f"locked by process {holder.pid}"):
            LocalKafka(tmp_path / "kafka").start()
    finally:
        holder.kill()
        holder.wait()


# --- missing tools ---


def test_missing_java_says_how_to_install_it_or_use_an_existing_kafka(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(KafkaLaunchError) as raised:
        LocalKafka(tmp_path / "kafka").start()
    message = str(raised.value)
    assert "java" in message.lower() and "install" in message.lower()
    assert "INSIGHTS_KAFKA_BOOTSTRAP" in message


def test_missing_maven_says_how_to_install_it_or_use_an_existing_kafka(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KafkaLaunchError) as raised:
        ensure_kafka_jars(tmp_path / "empty-cache")
    message = str(raised.value)
    assert "maven" in message.lower() and "INSIGHTS_KAFKA_BOOTSTRAP" in message
    assert not list((tmp_path / "empty-cache").glob("*/.complete"))


@needs_java
def test_jars_are_fetched_once_then_served_from_the_cache() -> None:
    libs = ensure_kafka_jars()
    started = time.monotonic()
    assert ensure_kafka_jars() == libs
    assert time.monotonic() - started < 0.5
    assert list(libs.glob("kafka_2.13-*.jar"))
    assert list(libs.glob("log4j-core-*.jar"))
    assert os.access(libs, os.R_OK)
