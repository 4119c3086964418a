"""The worker's statements, run by the process that owns the embedded engine.

chDB opens a data directory from one process only. In `insights up` that process serves the API, and
the worker runs in a process of its own (insights/worker_process.py), so that its Python (Kafka,
Faust, decoding, building columns) never takes the interpreter from the requests. Its statements
cross over here: the worker's `Store` has a `bridge://` DSN, and each of its threads gets a
`BridgeClient`, a connection to a thread of the owning process with a ClickHouse client of its own.
So a thread's session (its temporary tables) lives as long as before, and the owner runs the
statements as writes (`Store.mark_writer_thread`: at the worker's lower priority).

An insert crosses as the Native-format bytes clickhouse-connect would have written, built by the
worker's process (with the column types the owner reads once per table): the owner's Python only
hands them to the engine. Serializing the columns there held the interpreter for milliseconds at a
time, and every request of the owning process waited behind it.

The socket lives in a private directory (mode 0700) and a connection is served only after its first
frame carries the token the owner made for its child: nothing is unpickled before that.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import pickle
import secrets
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver import exceptions
from clickhouse_connect.driver.insert import InsertContext
from clickhouse_connect.driver.transform import NativeTransform

from insights.dev.kafka_local import alive

log = logging.getLogger(__name__)

SCHEME = "bridge://"
TOKEN_ENV = "INSIGHTS_STORE_BRIDGE_TOKEN"  # noqa: S105  (the variable's name)
STATEMENTS, METRICS = b"statements", b"metrics"
HELLO_SECONDS = 5.0  # a connection that has not said who it is by then is dropped
HELLO_BYTES = 256  # nor one whose first frame is longer than a token and a role

_LENGTH = struct.Struct("!Q")
# Errors that cross the bridge as themselves, so that callers handle them as before.
_ERRORS: dict[str, type[Exception]] = {
    error.__name__: error
    for error in (
        exceptions.OperationalError,
        exceptions.DatabaseError,
        exceptions.DataError,
        exceptions.ProgrammingError,
        exceptions.InternalError,
        exceptions.NotSupportedError,
        exceptions.InterfaceError,
    )
}


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(payload)))
    sock.sendall(payload)


def _receive_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise ConnectionError("the other end closed the bridge")
        got += n
    return buffer


def receive_frame(sock: socket.socket, max_size: int | None = None) -> bytes:
    (size,) = _LENGTH.unpack(_receive_exactly(sock, _LENGTH.size))
    if max_size is not None and size > max_size:
        raise ConnectionError(f"a frame of {size} bytes, above {max_size}")
    return bytes(_receive_exactly(sock, size))


def send_object(sock: socket.socket, value: Any) -> None:
    send_frame(sock, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def receive_object(sock: socket.socket) -> Any:
    return pickle.loads(receive_frame(sock))  # noqa: S301  (only after the token: our own child)


def connect(path: str, token: str, role: bytes) -> socket.socket:
    """A connection to the owner at `path`, introduced as `role`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        send_frame(sock, token.encode() + b" " + role)
    except OSError:
        sock.close()
        raise
    return sock


class _Rows:
    """What `Store.query_rows` reads of a clickhouse-connect query result."""

    def __init__(self, rows: list[Any]) -> None:
        self.result_rows = rows


class BridgeClient:
    """The part of a clickhouse-connect client the `Store` uses, run by the owning process."""

    def __init__(self, path: str, token: str) -> None:
        self._sock = connect(path, token, STATEMENTS)
        self._types: dict[tuple[str, tuple[str, ...]], list[Any]] = {}

    def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        try:
            send_object(self._sock, (op, args, kwargs))
            outcome, value = receive_object(self._sock)
        except OSError as error:
            raise exceptions.OperationalError("The store's process is not reachable.") from error
        if outcome == "ok":
            return value
        name, message = value
        raise _ERRORS.get(name, exceptions.DatabaseError)(message)

    def query(
        self, sql: str, parameters: dict[str, Any] | None = None, query_formats: dict[str, str] | None = None
    ) -> _Rows:
        return _Rows(self._call("query", sql, parameters=parameters, query_formats=query_formats))

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> None:
        self._call("command", sql, parameters=parameters)

    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        column_oriented: bool = False,
        settings: dict[str, Any] | None = None,
    ) -> None:
        names = tuple(column_names)
        types = self._types.get((table, names))
        if types is None:
            types = [get_from_name(name) for name in self._call("types", table, names)]
            self._types[(table, names)] = types
        context = InsertContext(table, names, types, data, column_oriented=column_oriented)
        chunks = NativeTransform.build_insert(context)
        first = next(chunks, b"")  # it starts with the INSERT statement, for HTTP: cut before joining
        body = b"".join((first[first.index(b"\n") + 1 :], *chunks))
        self._call("insert_native", table, names, body, settings)

    def close(self) -> None:
        self._sock.close()


DIR_PREFIX = "insights-bridge-"  # then the owner's process id


def sweep_bridge_dirs(temp: str | None = None) -> list[Path]:
    """Remove the socket directories of bridges whose owner is no longer running (one killed cannot
    remove its own); return them. Only this user's can be listed and removed (each is mode 0700)."""
    swept = []
    for path in Path(temp or tempfile.gettempdir()).glob(f"{DIR_PREFIX}*-*"):
        pid = path.name.removeprefix(DIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)) and path.stat().st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
            swept.append(path)
    return swept


class BridgeServer:
    """Serves the statements of the worker process on `dsn`, with `store` (the engine's owner).

    A connection introduced as `METRICS` is handed to `on_metrics` (insights/worker_process.py)."""

    def __init__(self, store: Any, on_metrics: Callable[[socket.socket], None]) -> None:
        self._store = store
        self._on_metrics = on_metrics
        sweep_bridge_dirs()
        self._dir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-"))  # mode 0700
        self.path = str(self._dir / "store.sock")
        self.token = secrets.token_hex(16)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(64)
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting = threading.Thread(target=self._accept, name="store-bridge", daemon=True)
        self._accepting.start()

    @property
    def dsn(self) -> str:
        return SCHEME + self.path

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # closed
            number += 1
            with self._lock:
                self._connections.add(sock)
            name = f"store-bridge-{number}"
            threading.Thread(target=self._serve, args=(sock,), name=name, daemon=True).start()

    def _introduced(self, sock: socket.socket) -> bytes | None:
        sock.settimeout(HELLO_SECONDS)
        token, _, role = receive_frame(sock, HELLO_BYTES).partition(b" ")
        sock.settimeout(None)
        if not hmac.compare_digest(token, self.token.encode()):
            log.warning("store bridge: a connection without the token was refused")
            return None
        return role

    def _serve(self, sock: socket.socket) -> None:
        handed_over = False
        try:
            role = self._introduced(sock)
            if role == METRICS:
                self._on_metrics(sock)
                handed_over = True
            elif role == STATEMENTS:
                self._statements(sock)
        except OSError:
            pass  # the worker closed its end, or stopped
        finally:
            if not handed_over:
                self._forget(sock)

    def _statements(self, sock: socket.socket) -> None:
        self._store.mark_writer_thread()
        client = self._store.client()
        while True:
            op, args, kwargs = receive_object(sock)
            try:
                with self._store.under_way():  # the worker's own store logs it when slow
                    value = self._run(client, op, args, kwargs)
            except Exception as error:  # sent back to the caller, whose retries decide
                send_object(sock, ("error", (type(error).__name__, str(error))))
            else:
                send_object(sock, ("ok", value))

    @staticmethod
    def _run(client: Any, op: str, args: Any, kwargs: Any) -> Any:
        if op == "query":
            return client.query(*args, **kwargs).result_rows
        if op == "command":
            client.command(*args, **kwargs)
            return None
        if op == "types":
            table, names = args
            return [t.name for t in client.create_insert_context(table, names).column_types]
        if op == "insert_native":
            table, names, body, settings = args
            client.raw_insert(table, names, body, settings=settings, fmt="Native")
            return None
        raise exceptions.ProgrammingError(f"unknown bridge operation {op!r}")

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)
        sock.close()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)
