"""Makes an answer given before the request body was read (401, 413, 422, 429...) reach the client.

Closing a connection whose unread body is still arriving makes the kernel reset it, and a reset can
destroy the answer before the client reads it: the client then retries a request that can never pass.
So once such an answer is written, the rest of the body is read and dropped (up to DRAIN_BYTES, for at
most DRAIN_SECONDS) before the answer is finished and the server may close; nothing read is kept.
A client that sent `Expect: 100-continue` and was never asked for its body sends none: its answer says
`Connection: close` instead, since the connection cannot carry another request after a body never sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_BYTES = 8 * 1024 * 1024  # a refused body up to 8 MiB past what was read is still taken in
DRAIN_SECONDS = 10.0


def has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


def expects_continue(scope: Scope) -> bool:
    return any(n == b"expect" and v.lower() == b"100-continue" for n, v in scope.get("headers", ()))


@dataclass
class BodyProgress:
    asked: bool = False  # the app called receive(): the server has sent any 100 Continue
    ended: bool = False  # the last part of the body (or the client's disconnect) was received
    drain: bool = False  # the answer started before the body ended: take the rest in before finishing
    end_held: bool = False  # the answer is written but for its end, which waits for the drain


class UnreadBodyMiddleware:
    def __init__(
        self, app: ASGIApp, drain_bytes: int = DRAIN_BYTES, drain_seconds: float = DRAIN_SECONDS
    ) -> None:
        self.app = app
        self.drain_bytes = drain_bytes
        self.drain_seconds = drain_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        body = BodyProgress()

        async def tracked_receive() -> Message:
            body.asked = True
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                body.ended = True
            return message

        async def send_holding_the_end(message: Message) -> None:
            if message["type"] == "http.response.start" and not body.ended:
                if expects_continue(scope) and not body.asked:
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
                else:
                    body.drain = True
            elif message["type"] == "http.response.body" and body.drain and not message.get("more_body"):
                # The whole answer goes out now, so a client that reads while it sends sees it at once;
                # only its end (which lets the server close) waits for the drain.
                message = {**message, "more_body": True}
                body.end_held = True
            await send(message)

        await self.app(scope, tracked_receive, send_holding_the_end)
        if body.end_held:
            await self.drain(tracked_receive, body)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def drain(self, receive: Receive, body: BodyProgress) -> None:
        taken = 0
        try:
            async with asyncio.timeout(self.drain_seconds):
                while not body.ended and taken <= self.drain_bytes:
                    taken += len((await receive()).get("body", b""))
        except TimeoutError:
            pass  # a client this slow gets the connection closed, as it would without the answer
