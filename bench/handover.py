"""Workers joining and leaving under steady traffic: how long a hand-over takes, and that nothing is
lost or counted twice.

One process runs up to three workers of one consumer group (each its own Faust app and group member)
on one embedded engine, against a local Kafka, while a producer writes --rate events/s to
`insights.events` (batches of 1,000 events, one message each, as ingest writes them). The schedule:
one worker; a second joins; a third joins; the first leaves; the second leaves, about --seconds/6
apart, with traffic throughout (so a run lasts a little longer than --seconds). For each change, the
hand-over time of each partition that moved is the time from the change (join or leave called) to the
new owner's first durable flush of that partition; the table shows the slowest partition of each
change. At the end every published event must be counted once (checked against the rollups).

Rerun: `.venv/bin/python bench/handover.py [--rate 50000] [--seconds 60] [--partitions 6]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from insights.dev.kafka_local import LocalKafka
from insights.migrate import migrate
from insights.runner import ensure_topics
from insights.settings import Settings
from insights.store import Store
from pipeline.worker import Worker
from schemas.topics import EVENTS_TOPIC

BATCH = 1_000


def body(n: int, now: datetime) -> bytes:
    """A batch message of BATCH events (plays, likes and heartbeats over 10,000 tracks)."""
    at = (now - timedelta(seconds=n % 3600)).isoformat()
    kinds = ("play", "play", "like", "heartbeat")
    events = ",".join(
        f'{{"event_id":"{uuid.uuid4().hex}","type":"{kinds[i % 4]}","track_id":{1 + (n + i) % 10_000},'
        f'"listener_id":"l{(n * 7 + i) % 50_000}","occurred_at":"{at}"}}'
        for i in range(BATCH)
    )
    return f"[{events}]".encode()


class Watched:
    """A worker, and when each partition got its first durable flush since the worker claimed it."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.first_flush: dict[int, float] = {}
        flush = worker.sink.flush

        def timed(batch: Any) -> Any:
            result = flush(batch)
            now = time.perf_counter()
            for item in batch:
                self.first_flush.setdefault(item.partition, now)
            return result

        worker.sink.flush = timed  # type: ignore[method-assign]
        claim = worker.sink.claim

        def claimed(partitions: Any, generation: int) -> set[int]:
            won = claim(partitions, generation)
            for partition in won:
                self.first_flush.pop(partition, None)
            return won

        worker.sink.claim = claimed  # type: ignore[method-assign]


async def produce(bootstrap: str, rate: int, stop: asyncio.Event, sent: list[int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started, now = time.perf_counter(), datetime.now(UTC)
        while not stop.is_set():
            n = sent[0]
            await producer.send(EVENTS_TOPIC, body(n, now), key=uuid.uuid4().bytes)
            sent[0] += BATCH
            await asyncio.sleep(max(0.0, started + sent[0] / rate - time.perf_counter()))
        await producer.flush()
    finally:
        await producer.stop()


async def run(args: argparse.Namespace, bootstrap: str, data_dir: Path) -> None:
    store = Store(f"chdb://{data_dir / 'clickhouse'}")
    migrate(store)
    settings = Settings.from_env(env={"INSIGHTS_TOPIC_PARTITIONS": str(args.partitions)}, data_dir=data_dir)
    await ensure_topics(settings, bootstrap)
    watched: list[Watched] = []

    def owners() -> dict[int, Watched]:
        return {p: w for w in watched for p in w.worker.sink.owned}

    async def change(what: str, action: Any) -> None:
        before = owners()
        began = time.perf_counter()
        await action()
        deadline = began + 120
        while time.perf_counter() < deadline:
            now = owners()
            moved = {p: w for p, w in now.items() if before.get(p) is not w}
            if len(now) == args.partitions and all(p in w.first_flush for p, w in moved.items()):
                slowest = max((w.first_flush[p] - began for p, w in moved.items()), default=0.0)
                print(f"  {what:<24} {len(moved)} partitions moved, slowest hand-over {slowest:5.1f} s")
                return
            await asyncio.sleep(0.05)
        print(f"  {what:<24} not settled within 120 s")

    async def join() -> None:
        worker = Watched(Worker(settings, store, bootstrap))
        watched.append(worker)
        await worker.worker.start()

    def leave(index: int) -> Any:
        async def stop() -> None:
            worker = watched.pop(index)
            await worker.worker.stop()

        return stop

    sent, stop = [0], asyncio.Event()
    producing = asyncio.create_task(produce(bootstrap, args.rate, stop, sent))
    began = time.perf_counter()
    step = args.seconds / 6  # traffic goes on through every change, and a step after the last one
    for what, action in (
        ("1st worker starts", join),
        ("2nd worker joins (2)", join),
        ("3rd worker joins (3)", join),
        ("1st worker leaves (2)", leave(0)),
        ("2nd worker leaves (1)", leave(0)),
    ):
        await change(what, action)
        await asyncio.sleep(step)
    stop.set()
    await producing
    seconds = time.perf_counter() - began
    survivor = watched[0].worker
    expected = sent[0]
    began = time.perf_counter()
    while True:
        counted = store.query_rows(
            "SELECT (SELECT sum(plays) + sum(likes) + sum(reposts) FROM track_totals)"
            " + (SELECT count() FROM events WHERE type = 'heartbeat')"
        )[0][0]
        if counted >= expected or time.perf_counter() - began > 300:
            break
        await asyncio.sleep(1)
    await survivor.stop()
    store.close()
    print(f"published {expected:,} events at {args.rate:,}/s for {seconds:.0f} s; counted {counted:,}")
    print("exact" if counted == expected else f"NOT EXACT: {counted - expected:+,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--verbose", action="store_true", help="log the workers' claims and retries")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.verbose:
        logging.getLogger("pipeline").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="insights-handover-") as tmp:
        kafka = LocalKafka(Path(tmp) / "kafka", partitions=args.partitions)
        bootstrap = kafka.start()
        try:
            asyncio.run(run(args, bootstrap, Path(tmp)))
        finally:
            kafka.stop()


if __name__ == "__main__":
    main()
