"""The outermost ASGI middleware: gives every request an id (X-Request-ID, accepted or generated,
returned, and attached to every log line written meanwhile) and times it into the latency histogram.

Latency is labelled by the route's template (`/api/v1/.../tracks/{track_id}`), never the raw path.
"""

from __future__ import annotations

import logging
import random
import re
import time
from functools import lru_cache
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insights.logs import REQUEST_ID
from insights.metrics import REQUEST_SECONDS

log = logging.getLogger("insights.http")

HEADER = b"x-request-id"
# A caller's id is kept only if it is short and plain, so it is safe in logs and headers.
ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "unmatched"  # one label for every path no route serves (404s), whatever the path
# Clients choose the method too: anything else is one label, so it cannot multiply the series either.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            text = value.decode("latin-1")
            if ACCEPTABLE_ID.fullmatch(text):
                return text
    # A correlation id, not a secret: 128 random bits without a system call per request.
    return f"{random.getrandbits(128):032x}"


def route_template(scope: Scope) -> str:
    """The path template of the route that served this request: the router records it in the scope;
    a request answered before routing (a 401 of the auth middleware) is matched here the same way."""
    route = scope.get("route")
    if route is None:
        for candidate in getattr(scope.get("app"), "routes", ()):
            if candidate.matches(scope)[0] != Match.NONE:
                route = candidate
                break
    return str(getattr(route, "path", UNMATCHED))


@lru_cache(maxsize=1024)  # bounded: routes x methods x statuses is small
def latency_histogram(method: str, route: str, status: int) -> Any:
    return REQUEST_SECONDS.labels(method, route, str(status))


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            latency_histogram(method, route, status).observe(elapsed)
            level = logging.WARNING if status >= 500 else logging.INFO if status >= 400 else logging.DEBUG
            log.log(level, "%s %s %d %.1f ms", scope["method"], scope["path"], status, elapsed * 1000)
            REQUEST_ID.reset(token)
