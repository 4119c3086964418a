"""Runs the product: `up` (local Kafka + worker + API in one process), `api` and `worker` alone.

Every mode starts its parts in order, serves until SIGINT/SIGTERM, then stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import uvicorn

from api.app import ApiOptions, create_app
from api.http.limits import Limits
from api.ingest.publisher import Publisher, ensure_topic
from api.read.changes import ChangeFeed, TrackChanges
from api.read.listener_blocks import keeping_done
from api.read.watermark import Watermark, WatermarkFeed
from insights import consumer_group
from insights.dev.generate import run_generate
from insights.dev.kafka_local import LocalKafka
from insights.http_server import GRACEFUL_SHUTDOWN_SECONDS, uvicorn_config
from insights.kafka_identity import IdentityGuard
from insights.loop_core import LoopCore
from insights.loop_lag import LoopLagMonitor
from insights.loop_priority import LoopPriority
from insights.metrics import serve_metrics
from insights.migrate import migrate
from insights.pipeline_monitor import PipelineMonitor
from insights.settings import Settings
from insights.stopping import STOP_STEP_SECONDS, exit_if_left_behind, stop_step
from insights.store import Store
from insights.worker_process import STOP_SECONDS as WORKER_STOP_SECONDS
from insights.worker_process import WorkerProcess
from pipeline.worker import Worker
from schemas.tokens import create_token
from schemas.topics import CATALOG_TOPIC, CHANGES_TOPIC, DLQ_TOPIC, EVENTS_TOPIC

log = logging.getLogger("insights")

TOPIC_RETENTION_MS = str(7 * 24 * 3600 * 1000)
CHANGES_RETENTION_MS = 3600 * 1000


@contextlib.asynccontextmanager
async def kafka_bootstrap(
    settings: Settings, local: bool, core: LoopCore | None = None
) -> AsyncIterator[str]:
    """The configured Kafka, or (for `up` without INSIGHTS_KAFKA_BOOTSTRAP) a local broker we own."""
    if settings.kafka_bootstrap or not local:
        if not settings.kafka_bootstrap:
            raise SystemExit("Set INSIGHTS_KAFKA_BOOTSTRAP=host:port to the Kafka to use.")
        yield settings.kafka_bootstrap
        return
    child_setup = core.child_setup if core is not None else None
    partitions = settings.topic_partitions
    kafka = LocalKafka(
        settings.data_dir / "kafka",
        partitions=partitions,
        child_setup=child_setup,
        java_options=settings.kafka_java_options,
    )
    if core is not None:
        core.include(lambda: kafka.pid)
    try:
        yield await asyncio.to_thread(kafka.start)
    finally:
        await asyncio.to_thread(kafka.stop)


@contextlib.asynccontextmanager
async def migrated_store(
    settings: Settings, bootstrap: str | None, *, writes_yield: bool = False
) -> AsyncIterator[Store]:
    """The store, migrated; with `writes_yield` (the worker and the API in one process), the worker's
    statements in the embedded engine run at `settings.writes_niceness`: by default they yield the CPU
    to the requests' (bench/mixed_load.py: at niceness 19 a thread weighs about a seventieth of a
    request's thread, so the writes take the CPU the requests leave)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.clickhouse_dsn, writes_niceness=settings.writes_niceness if writes_yield else 0)
    try:
        members = consumer_group.counter(bootstrap, store.embedded)
        applied = await store.run(partial(migrate, store, group_members=members))
        if applied:
            log.info("applied migrations: %s", ", ".join(m.name for m in applied))
        yield store
    finally:
        store.close()


@contextlib.asynccontextmanager
async def kafka_and_store(
    settings: Settings, local_kafka: bool, core: LoopCore | None, *, writes_yield: bool
) -> AsyncIterator[tuple[str, Store]]:
    """Kafka and the migrated store. The embedded engine needs nothing of Kafka to migrate (no other
    process can be writing it), so there the two start side by side: Kafka's start is mostly its JVM
    starting, the store's the engine opening and the migrations. Either failing, what started stops."""
    async with contextlib.AsyncExitStack() as stack:
        kafka = kafka_bootstrap(settings, local_kafka, core)
        if not settings.embedded_clickhouse:  # migrating asks Kafka who is in the consumer group
            bootstrap = await stack.enter_async_context(kafka)
            store = await stack.enter_async_context(
                migrated_store(settings, bootstrap, writes_yield=writes_yield)
            )
        else:
            kafka_started = asyncio.ensure_future(stack.enter_async_context(kafka))
            await asyncio.sleep(0)  # Kafka's thread is under way before the engine opens on this one
            try:
                store = await stack.enter_async_context(
                    migrated_store(settings, None, writes_yield=writes_yield)
                )
            except BaseException:
                # Kafka is waited for, so that one that started is on the stack and stops; this error,
                # not Kafka's, is the one to report.
                with contextlib.suppress(Exception):
                    await kafka_started
                raise
            bootstrap = await kafka_started
        yield bootstrap, store


async def ensure_topics(settings: Settings, bootstrap: str) -> None:
    await ensure_topic(
        bootstrap, EVENTS_TOPIC, settings.topic_partitions, **{"retention.ms": TOPIC_RETENTION_MS}
    )
    await ensure_topic(bootstrap, DLQ_TOPIC, 1)
    # One partition: the catalog is small, and its offsets then order every write (newest wins).
    await ensure_topic(bootstrap, CATALOG_TOPIC, 1, **{"cleanup.policy": "compact"})
    # Read only as they are written (api/read/changes.py): an hour of notices is plenty to keep.
    await ensure_topic(bootstrap, CHANGES_TOPIC, 1, **{"retention.ms": str(CHANGES_RETENTION_MS)})


KEEPING_GRACE_SECONDS = 10.0


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM; the handlers stay for the whole run, so a second Ctrl-C
    during shutdown cannot interrupt the orderly stop (Kafka last)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def requested() -> None:
        if stop.is_set():
            log.warning("still stopping, please wait…")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, requested)
    return stop


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: `run` owns SIGINT/SIGTERM and stops every part."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


DEMO_EVENTS = 60_000
DEMO_TRACKS = 600


async def load_demo(settings: Settings, store: Store) -> None:
    """Fill a fresh install through the public API, so the first look shows real charts."""
    if (await store.aquery_rows("SELECT count() FROM tracks"))[0][0]:
        log.info("demo: the catalog is not empty, nothing loaded")
        return
    bearer = create_token(settings.secret(), subject="demo", scopes=["admin"], days=1)
    url = f"http://{settings.host}:{settings.port}"
    code = await asyncio.to_thread(run_generate, url, bearer, DEMO_EVENTS, DEMO_TRACKS, None, 1, 400)
    if code == 0:
        admin = create_token(settings.secret(), subject="demo-admin", scopes=["admin"], days=7)
        print(
            f"\ndemo data loaded; try artist 1:\n  curl -H 'Authorization: Bearer {admin}' "
            f"{url}/api/v1/producer-intelligence/insights/artists/1\n",
            flush=True,
        )


def api_options(settings: Settings, metrics_elsewhere: bool = False) -> ApiOptions:
    limits = Limits(
        read=settings.rate_limit_read,
        export=settings.rate_limit_export,
        ingest=settings.rate_limit_ingest,
        auth_failures=settings.auth_failure_limit,
    )
    return ApiOptions(
        limits=limits,
        cors_origins=settings.cors_origins,
        previous_secrets=settings.previous_secrets,
        metrics_route=not metrics_elsewhere,
        realtime_unflushed=settings.realtime_unflushed,
    )


async def serve_api(
    settings: Settings,
    store: Store,
    bootstrap: str,
    stop: asyncio.Event,
    demo: bool = False,
    identity: IdentityGuard | None = None,
    core: LoopCore | None = None,
    priority: LoopPriority | None = None,
) -> None:
    publisher = Publisher(bootstrap)
    await publisher.start()
    changes = TrackChanges()
    feed = ChangeFeed(bootstrap, CHANGES_TOPIC, changes)
    await feed.start()
    watermark = Watermark()
    rounds = WatermarkFeed(store, bootstrap, watermark, identity)
    await rounds.start()
    for favoured in (core, priority):
        if favoured is not None:
            favoured.follow(lambda: watermark.through)
    metrics_elsewhere = serve_process_metrics(settings)
    options = api_options(settings, metrics_elsewhere)
    app = create_app(store, publisher, settings.secret(), options, changes, identity, watermark)
    server = QuietServer(uvicorn_config(app, settings))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise SystemExit(f"The API could not listen on {settings.host}:{settings.port}.")
            await asyncio.sleep(0.05)
        log.info("Insights API serving on http://%s:%d", settings.host, settings.port)
        print_ready(settings)
        demo_task = asyncio.create_task(load_demo(settings, store)) if demo else None
        await stop.wait()
        if demo_task is not None:
            demo_task.cancel()
    finally:
        server.should_exit = True
        # uvicorn cancels the requests still running after its own grace period.
        await stop_step("the HTTP server", serving, GRACEFUL_SHUTDOWN_SECONDS + STOP_STEP_SECONDS)
        # What the last reads started keeping (listener windows, chart bucket listeners) lands before
        # the store closes; it only saves time, so a slow write is left behind, not waited for.
        await stop_step("the listener windows being kept", keeping_done(), KEEPING_GRACE_SECONDS)
        await stop_step("the complete-through rounds", rounds.stop())
        await stop_step("the change feed", feed.stop())
        await stop_step("the Kafka publisher", publisher.stop())


def print_ready(settings: Settings) -> None:
    print(ready_banner(settings, sys.argv[0]), flush=True)


def ready_banner(settings: Settings, argv0: str) -> str:
    """Where to look next: the dashboard, the docs, and a token command ready to paste."""
    command = argv0 if Path(argv0).name == "insights" else "insights"
    with contextlib.suppress(ValueError):
        command = str(Path(command).relative_to(Path.cwd()))
    data_dir = "" if settings.data_dir == Path(".insights").resolve() else f" --data-dir {settings.data_dir}"
    url = f"http://{settings.host}:{settings.port}"
    return (
        f"\nInsights is ready on {url}\n"
        f"  dashboard:     {url}/dashboard/\n"
        f"  API docs:      {url}/docs\n"
        f"  artist token:  {command} token create{data_dir} --artist 1    (reads artist 1)\n"
        f"  admin token:   {command} token create{data_dir} --scope admin\n"
        "  stop:          Ctrl-C\n"
    )


def serve_process_metrics(settings: Settings) -> bool:
    """With INSIGHTS_METRICS_PORT, serve /metrics there (a worker alone has no other HTTP server;
    an API then leaves it off its own port). Returns whether it does."""
    port = settings.metrics_port
    if port is None:
        return False
    serve_metrics(port)
    log.info("metrics on http://0.0.0.0:%d/metrics", port)
    return True


async def run(settings: Settings, *, api: bool, worker: bool, local_kafka: bool, demo: bool = False) -> None:
    stop = stop_on_signals()
    # `kill -USR1 <pid>` prints every thread's stack to stderr: what a process that will not stop is
    # waiting on.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # With the API and the worker on one machine, the loop serving HTTP gets a core of its own.
    core = LoopCore.for_this_process(settings.loop_core) if api and worker else None
    if core is not None:
        core.start()
    writes_yield = api and worker
    async with kafka_and_store(settings, local_kafka, core, writes_yield=writes_yield) as (bootstrap, store):
        await ensure_topics(settings, bootstrap)
        identity = IdentityGuard(store, bootstrap)
        await identity.start()
        pipeline: Worker | WorkerProcess | None = None
        if worker and api:
            # Beside the API, the worker runs in a process of its own (insights/worker_process.py).
            child_setup = core.child_setup if core is not None else None
            process = WorkerProcess(settings, store, bootstrap, settings.writes_niceness, child_setup)
            if core is not None:
                core.include(lambda: process.pid)
            pipeline = process
        elif worker:
            pipeline = Worker(settings, store, bootstrap, identity)
        if pipeline is not None:
            await pipeline.start()
        monitor = PipelineMonitor(store, bootstrap)
        await monitor.start()
        lag = LoopLagMonitor("api" if api else "worker")
        await lag.start()
        # What start-up made (modules, functions, the Faust app: about 150,000 objects) lives as long
        # as the process. Frozen, the collector's full passes no longer walk it: each such pass holds
        # every request of this process, and walking it took 60-100 ms here (BENCHMARKS.md).
        gc.freeze()
        # ... and its priority over the machine's other threads, from now on: what start-up made keeps
        # the process's own.
        priority = LoopPriority.for_this_process(settings.loop_niceness) if api and worker else None
        if priority is not None and not priority.start():
            priority = None
        try:
            if api:
                await serve_api(settings, store, bootstrap, stop, demo, identity, core, priority)
            else:
                serve_process_metrics(settings)
                log.info("worker consuming %s from %s", EVENTS_TOPIC, bootstrap)
                await stop.wait()
        finally:
            await stop_step("the loop lag monitor", lag.stop())
            await stop_step("the pipeline monitor", monitor.stop())
            if pipeline is not None:
                # A worker process that does not stop within its own bound is killed.
                await stop_step("the worker", pipeline.stop(), WORKER_STOP_SECONDS + STOP_STEP_SECONDS)
            await stop_step("the Kafka identity check", identity.stop())
    if core is not None:
        core.stop()
    if priority is not None:
        priority.stop()
    log.info("stopped")
    exit_if_left_behind()
