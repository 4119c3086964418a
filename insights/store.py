"""The one way to reach ClickHouse: a clickhouse-connect client per thread, made from the DSN.

The same code serves chDB (`chdb:///path`, in-process) and a server (`http://...`); both are sync
clients, so async code calls them through a small thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver import binding as client_binding
from clickhouse_connect.driver import options as client_options
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from insights.loop_priority import unraised
from insights.store_bridge import SCHEME, BridgeClient

T = TypeVar("T")

log = logging.getLogger(__name__)

# A request waits this long for a read at most, then answers 503 (the statement may still finish).
QUERY_TIMEOUT_SECONDS = 20.0


# A statement slower than this is logged (its text only: values travel as parameters, never in it).
SLOW_STATEMENT_SECONDS = 1.0
BINARY = {"String": "bytes"}  # clickhouse-connect's query_formats: strings read as bytes


# How long closing the store waits for statements still running on threads it does not own (the store
# bridge's, serving a worker process that is gone): a client is never closed under its own statement.
CLOSE_WAIT_SECONDS = 30.0


# On a ClickHouse server, what exactly-once needs if the tables are replicated (docs/operations.md,
# "Move to a ClickHouse cluster"): an insert is acknowledged once a majority of replicas has it, and
# a read refuses replicas missing an acknowledged insert, so a worker always reads its own writes.
# Both are ignored by tables that are not replicated, so they are always set on a server.
SERVER_SETTINGS = {"insert_quorum": "auto", "select_sequential_consistency": 1}


def replication_warning(replicated_tables: int, insert_quorum: str, sequential: str) -> str | None:
    """Why a replicated store cannot keep the exactly-once promise with these session settings."""
    if replicated_tables and (insert_quorum in ("", "0") or sequential in ("", "0")):
        return (
            f"ClickHouse has {replicated_tables} replicated table(s) but this session runs with"
            f" insert_quorum={insert_quorum or '0'} and select_sequential_consistency={sequential or '0'}:"
            " a worker may not read its own writes after a hand-over. Allow these settings in the"
            " user's profile (see docs/operations.md)."
        )
    return None


def leave_data_frames_out() -> None:
    """Tells clickhouse-connect that numpy, pandas, pyarrow and polars are absent. On a process's first
    insert it imports whichever it finds, only to ask whether it was given a data frame; Insights
    never gives one, and chDB's package installs them: 0.4 s (seconds on a loaded machine) at the
    first claim of every worker start, and 77 MiB in each process. Insights runs without them
    (tests/integration/test_chdb_without_dataframes.py)."""
    for name in ("np", "pd", "pd_time_test", "arrow", "pl"):
        if name not in vars(client_options):  # already resolved: in use by someone, left as it is
            setattr(client_options, name, None)


leave_data_frames_out()


# Statement texts whose parameter places are remembered (`remember_parameter_places`): the statements
# are constants, or put together from a few constant parts, so a few hundred cover every one.
REMEMBERED_STATEMENTS = 1024


def remember_parameter_places() -> None:
    """Has clickhouse-connect find a statement's `{name:Type}` places once per text, not at every call.
    It looks for them twice a call, and where the text has a quote or a comment before its last place
    (most of Insights' statements: `'uniqExactState'`, a time zone's name) it reads the text character
    by character in Python: 0.2-1 ms of the interpreter's time a statement (a popular album's
    listener merge, about 1 ms of its 35), with the GIL held. Only what is found is remembered, for
    texts only (statements that carry binary values look again), so what is sent is the same. A
    clickhouse-connect without that function as it is now (1.13: the text and the binary values' names)
    is left as it is (tests/unit/test_parameter_places.py)."""
    find = getattr(client_binding, "_server_bind_matches", None)
    if find is None or hasattr(find, "original") or len(inspect.signature(find).parameters) != 2:
        return

    @functools.lru_cache(maxsize=REMEMBERED_STATEMENTS)
    def found(query: str) -> tuple[tuple[str, str], ...]:
        return tuple(find(query, ()))

    def places(query: str, binary_names: Any) -> list[tuple[str, str]]:
        return list(find(query, binary_names) if binary_names else found(query))

    places.original = find  # type: ignore[attr-defined]
    client_binding._server_bind_matches = places


remember_parameter_places()


class StoreUnavailable(RuntimeError):
    """ClickHouse could not be reached or refused a statement; safe to show (no DSN in it)."""


class Store:
    def __init__(
        self, dsn: str, *, threads: int = 4, writes_niceness: int = 0, bridge_token: str | None = None
    ) -> None:
        """`writes_niceness` (embedded engine only): the OS niceness, 1 to 19, the engine runs the
        statements of writer threads at, and its background merges of the parts they write, so that
        beside the API (`insights up`) the worker's flushes take the CPU the requests leave, rather
        than a share of what they need. The merges' niceness is the engine's configuration: it holds
        when this store's first client opens the engine of the process.

        A `bridge://` DSN (with `bridge_token`) reaches the embedded engine of the process that owns
        it: `insights up`'s worker process stores that way (insights/store_bridge.py)."""
        self._dsn = dsn
        self._bridge_token = bridge_token
        self._writes_niceness = writes_niceness if self.embedded else 0
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        # Threads the event loop starts would take its priority (insights/loop_priority.py): not theirs.
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="clickhouse", initializer=unraised)
        # The worker's writes have threads of their own: in one process with the API (`insights up`),
        # a burst of slow reads queued on the pool must never hold a flush back (freshness under load).
        self._writes = self.writer_pool(2, "clickhouse-writes")
        # So do the quick reads (a track's last hour, the catalog's marker: a few milliseconds each):
        # a realtime poll never waits in line behind a burst of long figures statements.
        self._quick = ThreadPoolExecutor(threads, thread_name_prefix="clickhouse-quick", initializer=unraised)
        self._running = 0  # statements under way, on any thread
        self._idle = threading.Condition()

    def writer_pool(self, threads: int, name: str) -> ThreadPoolExecutor:
        """Threads for the worker's statements (see `writes_niceness`)."""
        return ThreadPoolExecutor(threads, thread_name_prefix=name, initializer=self.mark_writer_thread)

    def mark_writer_thread(self) -> None:
        """The calling thread's statements are the worker's (see `writes_niceness`)."""
        unraised()
        self._local.writer = True

    @property
    def dsn(self) -> str:
        return self._dsn

    @property
    def writes_niceness(self) -> int:
        return self._writes_niceness

    @property
    def embedded(self) -> bool:
        """The engine in this process, or another's through the bridge (`insights up`'s worker)."""
        return self._dsn.startswith(("chdb:", SCHEME))

    def client(self) -> Client:
        """This thread's client, created on first use."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            settings: dict[str, Any] | None = None if self.embedded else SERVER_SETTINGS
            if self._writes_niceness and getattr(self._local, "writer", False):
                # The engine sets it on every thread of the statement, and restores it after.
                settings = {"os_thread_priority": self._writes_niceness}
            if self._dsn.startswith(SCHEME):
                client = cast(Client, BridgeClient(self._dsn.removeprefix(SCHEME), self._bridge_token or ""))
            elif self._writes_niceness:
                # The first client opens the engine: its background merges of the parts flushes
                # write run at the same niceness.
                options = {"config-file": self._engine_config()}
                client = clickhouse_connect.get_client(dsn=self._dsn, settings=settings, chdb_options=options)
            else:
                client = clickhouse_connect.get_client(dsn=self._dsn, settings=settings)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
            # A client lives as long as its thread and holds about 5,000 objects (one per server
            # setting, and theirs); a process makes a dozen. Like what start-up made, they are frozen
            # out of the collector, whose full passes would otherwise walk them all, holding every
            # request of the process meanwhile.
            gc.freeze()
        return client

    def _engine_config(self) -> str:
        """The embedded engine's configuration, beside its data: its merges at `writes_niceness`."""
        path = Path(urlparse(self._dsn).path) / "insights-engine.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        nice = self._writes_niceness
        config = (
            "<clickhouse>\n"
            f"    <os_threads_nice_value_merge_mutate>{nice}</os_threads_nice_value_merge_mutate>\n"
            "</clickhouse>\n"
        )
        if not path.exists() or path.read_text() != config:
            path.write_text(config)
        return str(path)

    @contextmanager
    def under_way(self) -> Iterator[None]:
        """Counts a statement as running until it returns, on whichever thread (see close)."""
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    @contextmanager
    def watched(self, statement: str) -> Iterator[None]:
        """A statement of this store's: under way (see close), and logged when slow."""
        began = time.perf_counter()
        try:
            with self.under_way():
                yield
        finally:
            spent = time.perf_counter() - began
            if spent >= SLOW_STATEMENT_SECONDS:
                shown = " ".join(statement.split())[:160]
                log.warning("slow ClickHouse statement (%.1f s): %s", spent, shown)

    # Sync API, for the CLI, migrations and the worker's own threads.
    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """`binary`: strings come as bytes (serialised states), not decoded as text."""
        formats = BINARY if binary else None
        with self.watched(sql):
            result = self.client().query(sql, parameters=parameters, query_formats=formats)
            return [tuple(row) for row in result.result_rows]

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> None:
        with self.watched(sql):
            self.client().command(sql, parameters=parameters)

    def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        with self.watched(f"INSERT INTO {table}"):
            self.client().insert(table, rows, column_names=list(columns), settings=settings)

    def session_table(self, ddl: str) -> None:
        """Create a temporary table of this thread's client session once (`ddl`: IF NOT EXISTS)."""
        made: set[str] | None = getattr(self._local, "session_tables", None)
        if made is None:
            made = self._local.session_tables = set()
        if ddl not in made:
            self.command(ddl)
            made.add(ddl)

    def forget_session_tables(self) -> None:
        """After a failure: the session (on a server, it expires when idle) may have lost them."""
        self._local.session_tables = set()

    def insert_columns(self, table: str, data: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Insert `data` given as one sequence per column (no per-row transposing in Python)."""
        with self.watched(f"INSERT INTO {table}"):
            self.client().insert(table, data, column_names=list(columns), column_oriented=True)

    # Async API: the same calls, run on the pool so the event loop never blocks.
    async def run(self, fn: Callable[..., T], *args: Any, quick: bool = False) -> T:
        """`fn(*args)` on the reads' threads; `quick`: on the quick reads' own (see __init__)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._quick if quick else self._pool, partial(fn, *args))

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """As `run`, on the writes' own threads (the worker's flushes and progress)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writes, partial(fn, *args))

    async def aquery_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, *, quick: bool = False, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """`quick`: a statement of a few milliseconds whatever the data (one track's last hour, a
        marker), run on threads that the long statements never hold. `binary`: as query_rows."""
        try:
            # Not asyncio.wait_for: on Python 3.11 it drops a cancellation that arrives as the statement
            # returns, and the cancelled task goes on (a stopping loop would wait on it for ever).
            async with asyncio.timeout(QUERY_TIMEOUT_SECONDS):
                return await self.run(self.query_rows, sql, parameters, binary, quick=quick)
        except OperationalError as error:
            # The server is unreachable or overloaded (not a bad query): callers answer 503.
            raise StoreUnavailable("ClickHouse is not reachable right now.") from error
        except TimeoutError as error:
            raise StoreUnavailable("ClickHouse did not answer in time.") from error

    async def ainsert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        try:
            await self.run(self.insert, table, rows, columns)
        except OperationalError as error:
            raise StoreUnavailable("ClickHouse is not reachable right now.") from error

    def replication_warning(self) -> str | None:
        """A warning when the tables are replicated but this session lacks the settings it needs."""
        if self.embedded:
            return None
        ((replicated, quorum, sequential),) = self.query_rows(
            "SELECT (SELECT count() FROM system.replicas WHERE database = currentDatabase()),"
            " toString(getSetting('insert_quorum')), toString(getSetting('select_sequential_consistency'))"
        )
        return replication_warning(int(replicated), str(quorum), str(sequential))

    async def ping(self) -> bool:
        try:
            rows = await self.aquery_rows("SELECT 1")
        except Exception:
            return False
        return rows == [(1,)]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._quick.shutdown(wait=True)
        self._writes.shutdown(wait=True)
        with self._idle:
            if not self._idle.wait_for(lambda: self._running == 0, CLOSE_WAIT_SECONDS):
                # A client is not closed under its statement (chDB's close would wait for it): the
                # process ends anyway.
                log.warning(
                    "%d ClickHouse statement(s) still running; their clients are left open", self._running
                )
                return
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
