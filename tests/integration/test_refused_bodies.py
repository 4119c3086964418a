"""A body the API refuses still gets its answer to the client, over real sockets to a real uvicorn
server: whatever the client sends (Content-Length, chunked, `Expect: 100-continue`), whether it keeps
the connection or asks to close it, 30 of 30 oversized batches see their 413 (or the 401 that comes
before the body is read), never a connection reset."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from api.app import ApiOptions
from api.ingest.endpoints import MAX_BODY_BYTES
from insights.store import Store
from tests.integration.conftest import ExternalKafka
from tests.integration.harness import UNLIMITED, token
from tests.integration.served_api import ServedApi

pytestmark = pytest.mark.integration

EVENTS = "/api/v1/events"
TIMES = 30


def batch_of(size: int) -> bytes:
    """A batch of valid events, `size` bytes or a little more: refused for its size alone."""
    event = {
        "event_id": "e" * 60,
        "type": "play",
        "track_id": 1,
        "listener_id": "l" * 120,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    count = size // len(json.dumps(event)) + 1
    return json.dumps({"events": [event] * count}).encode()


OVERSIZED = batch_of(1_700_000)
assert len(OVERSIZED) > MAX_BODY_BYTES


@pytest.fixture(scope="module")
def api(session_kafka: ExternalKafka, embedded_store: Store) -> Iterator[ServedApi]:
    with ServedApi(embedded_store, session_kafka.bootstrap, ApiOptions(limits=UNLIMITED)) as served:
        yield served


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, object]
    headers: dict[str, str]


def headers_for(status: int, connection: str) -> dict[str, str]:
    """401 comes from a request without a token, 413 from one with a token that may write."""
    headers = {"Content-Type": "application/json", "Connection": connection}
    if status == 413:
        headers["Authorization"] = f"Bearer {token('events:write')}"
    return headers


# ---- clients -------------------------------------------------------------------------------------


def post_with_http_client(api: ServedApi, headers: dict[str, str]) -> Answer:
    """Python's standard client: sends the whole body, then reads the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    try:
        connection.request("POST", EVENTS, body=OVERSIZED, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, json.loads(response.read()), dict(response.headers))
    finally:
        connection.close()


def post_with_urllib(api: ServedApi, headers: dict[str, str]) -> Answer:
    """urllib, which always asks the server to close the connection after the answer."""
    request = urllib.request.Request(api.url + EVENTS, data=OVERSIZED, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # never 2xx here
            return Answer(response.status, json.loads(response.read()), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, json.loads(error.read()), dict(error.headers))


def read_head(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str]]:
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed before an answer")
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {name.lower(): value for name, value in fields.items()}


def read_answer(sock: socket.socket, buffer: bytearray, status: int, fields: dict[str, str]) -> Answer:
    length = int(fields["content-length"])
    while len(buffer) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed in the middle of the answer")
        buffer += data
    return Answer(status, json.loads(bytes(buffer[:length])), fields)


def post_raw(api: ServedApi, headers: dict[str, str], *, chunked: bool, expect: bool) -> Answer:
    """A client on a bare socket, chunked or with `Expect: 100-continue` (sending the body only when
    the server asks for it, as curl does)."""
    head = [f"POST {EVENTS} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(OVERSIZED)}")
    if expect:
        head.append("Expect: 100-continue")
    pieces = [OVERSIZED[i : i + 65536] for i in range(0, len(OVERSIZED), 65536)]
    body = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n" if chunked else OVERSIZED
    with socket.create_connection(("127.0.0.1", api.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        buffer = bytearray()
        if expect:
            status, fields = read_head(sock, buffer)
            if status != 100:  # a final answer instead of 100 Continue: the body is not wanted
                return read_answer(sock, buffer, status, fields)
        sock.sendall(body)
        status, fields = read_head(sock, buffer)
        return read_answer(sock, buffer, status, fields)


CLIENTS = {
    "http.client": post_with_http_client,
    "urllib": post_with_urllib,
    "chunked": lambda api, headers: post_raw(api, headers, chunked=True, expect=False),
    "expect-100": lambda api, headers: post_raw(api, headers, chunked=False, expect=True),
    "chunked-expect-100": lambda api, headers: post_raw(api, headers, chunked=True, expect=True),
}


# ---- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("connection", ["keep-alive", "close"])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_every_oversized_batch_gets_its_413_whatever_the_client(
    api: ServedApi, client: str, connection: str
) -> None:
    outcomes = []
    for _ in range(TIMES):
        try:
            answer = CLIENTS[client](api, headers_for(413, connection))
            outcomes.append(f"{answer.status} {answer.body['error']}")
        except OSError as error:  # a reset, a broken pipe: what a client must never see instead
            outcomes.append(type(error).__name__)
    assert outcomes == ["413 payload_too_large"] * TIMES


@pytest.mark.parametrize("client", ["http.client", "urllib", "chunked"])
def test_a_request_refused_before_its_body_is_read_gets_its_401(api: ServedApi, client: str) -> None:
    outcomes = []
    for _ in range(TIMES):
        try:
            answer = CLIENTS[client](api, headers_for(401, "close"))
            outcomes.append(f"{answer.status} {answer.body['error']}")
        except OSError as error:
            outcomes.append(type(error).__name__)
    assert outcomes == ["401 unauthorized"] * TIMES


def test_a_kept_connection_serves_the_next_request_after_a_refused_body(api: ServedApi) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    try:
        connection.request("POST", EVENTS, body=OVERSIZED, headers=headers_for(413, "keep-alive"))
        refused = connection.getresponse()
        assert (refused.status, json.loads(refused.read())["error"]) == (413, "payload_too_large")
        connection.request("POST", EVENTS, body=batch_of(1000), headers=headers_for(413, "keep-alive"))
        accepted = connection.getresponse()
        assert accepted.status == 202, accepted.read()
        assert json.loads(accepted.read())["data"]["rejected"] == 0
    finally:
        connection.close()


def test_a_client_that_expects_100_continue_is_not_asked_for_a_refused_body(api: ServedApi) -> None:
    with socket.create_connection(("127.0.0.1", api.port), timeout=30) as sock:
        head = [
            f"POST {EVENTS} HTTP/1.1",
            "Host: 127.0.0.1",
            f"Authorization: Bearer {token('events:write')}",
            f"Content-Length: {len(OVERSIZED)}",
            "Expect: 100-continue",
        ]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        buffer = bytearray()
        status, fields = read_head(sock, buffer)
        answer = read_answer(sock, buffer, status, fields)
        assert (answer.status, answer.body["error"]) == (413, "payload_too_large")
        # The connection cannot carry another request (the server would read it as the body it
        # never asked for): the answer says so, and the server closes it.
        assert fields["connection"] == "close"
        assert sock.recv(1) == b""
