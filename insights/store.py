"""The one way to reach ClickHouse: a clickhouse-connect client per thread, made from the DSN.

The same code serves chDB (`chdb:///path`, in-process) and a server (`http://...`); both are sync
clients, so async code calls them through a small thread pool.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

T = TypeVar("T")

# A request waits this long for a read at most, then answers 503 (the statement may still finish).
QUERY_TIMEOUT_SECONDS = 20.0


class StoreUnavailable(RuntimeError):
    """ClickHouse could not be reached or refused a statement; safe to show (no DSN in it)."""


class Store:
    def __init__(self, dsn: str, *, threads: int = 4) -> None:
        self._dsn = dsn
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="clickhouse")

    @property
    def embedded(self) -> bool:
        return self._dsn.startswith("chdb:")

    def client(self) -> Client:
        """This thread's client, created on first use."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = clickhouse_connect.get_client(dsn=self._dsn)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    # Sync API, for the CLI, migrations and the worker's own threads.
    def query_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.client().query(sql, parameters=parameters).result_rows]

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> None:
        self.client().command(sql, parameters=parameters)

    def insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        self.client().insert(table, rows, column_names=list(columns))

    # Async API: the same calls, run on the pool so the event loop never blocks.
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(fn, *args))

    async def aquery_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return await asyncio.wait_for(self.run(self.query_rows, sql, parameters), QUERY_TIMEOUT_SECONDS)
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

    async def ping(self) -> bool:
        try:
            rows = await self.aquery_rows("SELECT 1")
        except Exception:
            return False
        return rows == [(1,)]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
