"""How the API meets the network: uvicorn's settings, and deadlines for slow or idle connections.

uvicorn closes a kept-alive connection after a quiet spell, but waits forever for a request's headers
or body, and believes X-Forwarded-For from 127.0.0.1. Here a connection gets INSIGHTS_HEADER_TIMEOUT
seconds to send its headers (counted from its start, or from the first byte of each later request),
INSIGHTS_BODY_TIMEOUT seconds for the body after them, and is closed when it misses either; beyond
INSIGHTS_MAX_CONNECTIONS open connections a new one is closed at once; forwarded addresses are
believed only from INSIGHTS_TRUSTED_PROXIES.

A response's head and body leave in one write to the socket, not two (`OneWrite`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from insights.settings import Settings

log = logging.getLogger("insights.http")

MAX_HEADER_BYTES = 64 * 1024  # a request line and headers beyond this close the connection


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000


class OneWrite:
    """A connection's transport that holds what is written until the response is complete (or, for a
    response sent in parts, until the loop's next turn or HELD_BYTES), then writes it to the socket at
    once.

    uvicorn writes a response's head and its body separately, and each write to an idle socket is a
    system call that also runs a local client's receive path: under ingest, up to a third of the
    thread serving HTTP. One write per response halves them and adds no wait, since the response is
    complete when its last part is written (`GuardedProtocol.on_response_complete`). A long response
    (an export) is written on as it grows, so the transport's flow control still holds its sender
    back when the client reads slowly."""

    HELD_BYTES = 64 * 1024

    __slots__ = ("_flushing", "_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._flushing: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._held.append(bytes(data))
        self._held_bytes += len(data)
        if self._held_bytes >= self.HELD_BYTES:
            self.flush()
        elif self._flushing is None:
            self._flushing = self._loop.call_soon(self.flush)

    def flush(self) -> None:
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        if self._held:
            held = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held.clear()
            self._held_bytes = 0
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held.clear()
        self._held_bytes = 0
        self.flush()  # nothing left to write: only drops the flush planned for the next turn
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with deadlines on a request's headers and body and a cap on open
    connections. The deadlines only watch the client: once a request is whole, the app's time is
    its own, and a kept-alive connection's quiet spell is uvicorn's keep-alive timeout."""

    limits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._timed_cycle: object = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, OneWrite(transport, self.loop)))
        if len(self.connections) > self.limits.max_connections:
            log.warning("refused a connection: %d are open already", self.limits.max_connections)
            transport.close()
            return
        self._arm(self.limits.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            # Between requests: these bytes start the next one, or end the body of a request
            # answered before it was read (which uvicorn discards, and which is not headers).
            if cycle is None or not cycle.more_body:
                self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._close("headers over 64 KiB")
            elif self._deadline is None:
                self._arm(self.limits.header_timeout, "headers")
            return
        if cycle is not self._timed_cycle:  # a request's headers are complete
            self._timed_cycle, self._header_bytes = cycle, 0
            if cycle.more_body:
                self._arm(self.limits.body_timeout, "body")
            else:
                self._disarm()
        elif not cycle.more_body:  # its body is complete
            self._disarm()

    def on_response_complete(self) -> None:
        cast(OneWrite, self.transport).flush()
        super().on_response_complete()
        self._disarm()  # quiet from now on is uvicorn's keep-alive timeout

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._close, f"{what} not received in {seconds:g} s")

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _close(self, why: str) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("closed a connection from %s: %s", self.client[0] if self.client else "?", why)
            self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedProtocol]:
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})


GRACEFUL_SHUTDOWN_SECONDS = 10


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    limits = ConnectionLimits(settings.header_timeout, settings.body_timeout, settings.max_connections)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=settings.keep_alive_timeout,
        # A request still running this long after Ctrl-C is cancelled: stopping is bounded.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        log_config=None,
        # uvicorn believes 127.0.0.1 by default: a client on this host (or a proxy that does not set
        # the header) could then choose the address its failed sign-ins are counted under.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
