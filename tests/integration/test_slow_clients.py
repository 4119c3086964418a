"""The API's server against slow, idle and too many clients, and forwarded addresses: a real uvicorn
server configured as `insights up` and `insights api` configure it, spoken to over raw sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from insights.http_server import uvicorn_config
from insights.settings import Settings
from tests.integration.harness import free_port

pytestmark = pytest.mark.integration

TIMEOUT = 1  # seconds, for headers, body and keep-alive alike: the tests wait on the close, not on it
BOUND = 6.0  # a close later than this is a failure (the default timeouts are 5 to 30 s)


async def echo(request: Request) -> Response:
    try:
        body = await request.body()
    except ClientDisconnect:  # the server closed a body that came too slowly: what a test waits for
        return Response(status_code=400)
    client = request.client.host if request.client else None
    return JSONResponse({"client": client, "bytes": len(body)})


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """Two servers: one with the default trust (none), one trusting 127.0.0.1 as its proxy."""
    app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])
    ports, running = {}, []
    for name, proxies in (("plain", ""), ("proxied", "127.0.0.1")):
        port = free_port()
        env = {
            "INSIGHTS_HEADER_TIMEOUT": str(TIMEOUT),
            "INSIGHTS_BODY_TIMEOUT": str(TIMEOUT),
            "INSIGHTS_KEEP_ALIVE_TIMEOUT": str(TIMEOUT),
            "INSIGHTS_MAX_CONNECTIONS": "8",
            "INSIGHTS_TRUSTED_PROXIES": proxies,
        }
        settings = Settings.from_env(env=env, data_dir=tmp_path_factory.mktemp(name), port=port)
        server = uvicorn.Server(uvicorn_config(app, settings))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        ports[name] = port
        running.append((server, thread))
    yield ports
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND + 2)
    return sock


def seconds_until_closed(sock: socket.socket) -> float:
    """Reads (and drops) whatever the server sends until it closes the connection."""
    started = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def request(port: int, raw: bytes) -> bytes:
    """Sends one request with `Connection: close` and returns the whole answer."""
    with connect(port) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_a_connection_that_never_sends_a_request_is_closed(servers: dict[str, int]) -> None:
    with connect(servers["plain"]) as sock:
        assert seconds_until_closed(sock) < BOUND


def test_a_request_whose_headers_never_finish_is_closed(servers: dict[str, int]) -> None:
    with connect(servers["plain"]) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert seconds_until_closed(sock) < BOUND


def test_a_body_that_never_finishes_is_closed(servers: dict[str, int]) -> None:
    with connect(servers["plain"]) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        assert seconds_until_closed(sock) < BOUND


def test_an_idle_kept_alive_connection_is_closed_after_its_answer(servers: dict[str, int]) -> None:
    with connect(servers["plain"]) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b" 200 " in sock.recv(65536).split(b"\r\n")[0] + b" "
        assert seconds_until_closed(sock) < BOUND


def test_a_steady_client_is_served_and_headers_over_64_kib_are_refused(servers: dict[str, int]) -> None:
    whole = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    answer = request(servers["plain"], whole)
    assert answer.startswith(b"HTTP/1.1 200") and b'"bytes":3' in answer
    with connect(servers["plain"]) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):  # 100 KiB of headers, sent at once: closed on size, not on time
                sock.sendall(b"X-Big: " + b"a" * 1017 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        seconds_until_closed(sock)
        assert time.monotonic() - started < 0.8 * TIMEOUT


def test_connections_beyond_the_limit_are_closed_at_once(servers: dict[str, int]) -> None:
    held = [connect(servers["plain"]) for _ in range(8)]
    try:
        deadline = time.monotonic() + BOUND
        with connect(servers["plain"]) as extra:
            assert seconds_until_closed(extra) < 0.5 * TIMEOUT
        assert time.monotonic() < deadline
        held[0].sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")  # the ones let in are served
        assert held[0].recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(servers: dict[str, int]) -> None:
    forwarded = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n"
    # By default no proxy is trusted, not even one on this host: the peer's own address counts.
    assert b'"client":"127.0.0.1"' in request(servers["plain"], forwarded)
    assert b'"client":"203.0.113.9"' in request(servers["proxied"], forwarded)


def test_the_default_timeouts_are_bounded(tmp_path: Path) -> None:
    config = uvicorn_config(None, Settings.from_env(env={}, data_dir=tmp_path))
    limits = config.http.limits  # type: ignore[union-attr]
    assert limits.header_timeout <= 10 and limits.body_timeout <= 30 and config.timeout_keep_alive <= 5
    assert limits.max_connections == 1000 and config.proxy_headers is False
