"""The drain of unread bodies (api/http/unread_body.py) on scripted ASGI messages: what it reads, what it
sends and when it gives up. The same on real sockets: tests/integration/test_refused_bodies.py."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from api.http.unread_body import UnreadBodyMiddleware

ANSWER = b'{"success":false}'


def scope(*headers: tuple[bytes, bytes], method: str = "POST") -> Scope:
    return {"type": "http", "method": method, "path": "/api/v1/events", "headers": list(headers)}


LENGTH = (b"content-length", b"300")


class Client:
    """Hands the body out in the given parts, then (if `stall`) never sends another byte."""

    def __init__(self, parts: list[bytes], *, endless: bool = False, stall: bool = False) -> None:
        self.parts = parts
        self.endless = endless
        self.stall = stall
        self.received = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.received >= len(self.parts) and not self.endless:
            if self.stall:
                await asyncio.Event().wait()
            return {"type": "http.disconnect"}
        part = self.parts[self.received % len(self.parts)]
        self.received += 1
        more = self.endless or self.received < len(self.parts) or self.stall
        return {"type": "http.request", "body": part, "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def refuse_at_once(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"x")]})
    await send({"type": "http.response.body", "body": ANSWER})


async def read_then_answer(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body"):
        pass
    await refuse_at_once(scope, receive, send)


def run(app: Any, client: Client, request: Scope, **bounds: Any) -> list[Message]:
    asyncio.run(UnreadBodyMiddleware(app, **bounds)(request, client.receive, client.send))
    return client.sent


def test_the_rest_of_an_unread_body_is_taken_in_before_the_answer_ends() -> None:
    client = Client([b"a" * 100] * 3)
    sent = run(refuse_at_once, client, scope(LENGTH))
    assert client.received == 3
    assert [(m["type"], m.get("body"), m.get("more_body")) for m in sent] == [
        ("http.response.start", None, None),
        ("http.response.body", ANSWER, True),  # the whole answer first
        ("http.response.body", b"", False),  # its end only once the body is in
    ]


def test_a_chunked_body_is_drained_too() -> None:
    client = Client([b"a" * 100] * 3)
    run(refuse_at_once, client, scope((b"transfer-encoding", b"chunked")))
    assert client.received == 3


def test_the_drain_stops_past_its_byte_bound() -> None:
    client = Client([b"a" * 100], endless=True)
    sent = run(refuse_at_once, client, scope(LENGTH), drain_bytes=250)
    assert client.received == 3  # 300 bytes: the first read past 250
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_client_that_stops_sending_is_waited_for_only_the_drain_time() -> None:
    client = Client([b"a" * 100], stall=True)
    sent = run(refuse_at_once, client, scope(LENGTH), drain_seconds=0.05)
    assert client.received == 1
    assert sent[-1]["more_body"] is False


def test_a_client_expecting_100_continue_is_not_asked_for_the_body_and_told_the_connection_ends() -> None:
    client = Client([b"a" * 100] * 3)
    sent = run(refuse_at_once, client, scope(LENGTH, (b"expect", b"100-continue")))
    assert client.received == 0  # a receive() would have sent it 100 Continue
    assert (b"connection", b"close") in sent[0]["headers"]
    assert [m.get("more_body", False) for m in sent[1:]] == [False]


def test_an_answer_after_the_whole_body_passes_untouched() -> None:
    client = Client([b"a" * 100] * 3)
    sent = run(read_then_answer, client, scope(LENGTH, (b"expect", b"100-continue")))
    assert client.received == 3
    assert sent == [
        {"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"x")]},
        {"type": "http.response.body", "body": ANSWER},
    ]


def test_a_request_without_a_body_passes_untouched() -> None:
    client = Client([])
    sent = run(refuse_at_once, client, scope((b"content-length", b"0"), method="GET"))
    assert client.received == 0
    assert len(sent) == 2 and "more_body" not in sent[1]
