"""The response cache of the Insights GET endpoints: strong ETags, 304s, and one computation per
answer and max-age however many clients poll it (docs/api.md, Caching).

A handler opts in by answering 200 with `Cache-Control: private, max-age=N` after `api.http.access.authorize`
recorded who may read the entity. The answer is then kept for N seconds under its path and query, so no
kept answer is older than its max-age; every request for it is still checked against those readers.
Anything else the cache should know of an answer, the handler says in one `Keeping` on the request
(`keep`); nothing travels in headers.

An answer that names the moment it describes (realtime's `as_of`) changes every second even when its
figures do not; its handler gives the figures' fingerprint (`with_figures`), and a recomputed answer
with the same figures keeps the earlier representation (bytes, `as_of`, ETag), which is still true. So
idle polling with If-None-Match gets 304s there too.

An answer may also say how to tell that it no longer holds (`holds`: that a change notice named one of
its tracks since it was read). Realtime's is then computed again at the next request, however young,
so a poller sees a flushed play at once. An analytics answer is still served, and computed again in the
background once it is `refresh_after` seconds old, so a change shows within the 2-s promise while a
popular answer's pollers never wait for it.

Analytics and charts say how complete they are (`complete_through`, api/read/complete_through.py): their
handler gives the claim's JSON text and a way to renew it. A kept answer's claim is renewed at most
every RESTAMP_SECONDS while its figures still hold (the body changes there, and with it the ETag), and
a recomputed answer with the same figures keeps the earlier representation while its claim is younger
than that: the ETag of an idle answer changes at most every RESTAMP_SECONDS.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.access import Readers, forbidden
from api.http.background import in_background
from api.http.errors import error_response
from api.http.recent import Recent
from schemas.openapi import INSIGHTS
from schemas.tokens import TokenClaims

# What the kept answers may weigh in all, in bytes: bodies, headers, keys, and ENTRY_BYTES apiece for
# the objects around them (so many small answers are bounded as well as a few large ones).
MAX_BYTES = 64 * 1024 * 1024
ENTRY_BYTES = 1024
# A kept answer still asked for once this share of its max-age has passed is computed again in the
# background while it is served, so pollers of a busy answer never wait for its recomputation.
REFRESH_AHEAD = 0.75
STAMP_KEY = b'"complete_through":'
RESTAMP_SECONDS = 2.0
_MAX_AGE = re.compile(r"\bprivate\b.*\bmax-age=(\d+)")

Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Keeping:
    """What a handler tells the cache of its answer beyond the response itself."""

    figures: bytes = b""  # a fingerprint of the figures, for an answer that also names its moment
    stamp: bytes = b""  # the JSON text of its `complete_through`, as the body holds it
    restamp: Callable[[], str | None] | None = None  # a later claim's JSON text, while the answer holds
    holds: Callable[[], bool] | None = None  # False once the answer's rows may have changed
    # None: an answer that no longer holds is not served; else it is, and is refreshed once this old
    refresh_after: float | None = None


NOTHING_TO_KEEP = Keeping()


def keep(request: Request, keeping: Keeping) -> None:
    request.state.keeping = keeping


@dataclass(frozen=True)
class Entry:
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # the handler's, without content-length
    etag: str
    max_age: int
    created: float  # on the cache's clock
    readers: Readers
    figures: bytes = b""  # the handler's fingerprint of the figures, if it sent one
    route: Any = None  # the route that made it: a kept answer is served before routing (metrics label)
    stamp: bytes = b""  # the JSON text of its `complete_through`, b"" if it has none
    stamped_at: float = 0.0  # when that claim was made or last renewed, on the cache's clock
    restamp: Callable[[], str | None] | None = None  # a later claim's JSON text, while it holds
    holds: Callable[[], bool] | None = None  # the handler's (Keeping.holds)
    refresh_after: float | None = None  # the handler's (Keeping.refresh_after)


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def with_figures(
    request: Request, response: Response, figures: Any, holds: Callable[[], bool] | None = None
) -> Response:
    """Marks an answer whose body is `figures` plus the moment it describes, and that is kept only
    while `holds()` (see above)."""
    encoded = msgspec.json.encode(figures)
    keep(request, Keeping(figures=hashlib.blake2b(encoded, digest_size=16).digest(), holds=holds))
    return response


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: If-None-Match compares weakly, so a W/ prefix is ignored."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def entry_bytes(key: Key, entry: Entry) -> int:
    path, query = key
    key_bytes = len(path) + sum(len(name) + len(value) for name, value in query)
    header_bytes = sum(len(name) + len(value) for name, value in entry.headers)
    return ENTRY_BYTES + key_bytes + header_bytes + len(entry.body)


class ResponseCache:
    """Fresh entries by key, least recently used dropped beyond `max_bytes` (entry_bytes)."""

    def __init__(self, max_bytes: int = MAX_BYTES, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: Recent[Key, Entry] = Recent(max_bytes, entry_bytes)
        self.computed = 0  # answers made by handlers (for tests and benchmarks)

    def get(self, key: Key) -> Entry | None:
        """The fresh entry of `key`; an expired one (or one that no longer holds) stays (until pushed
        out) for `previous`."""
        entry = self._entries.peek(key)
        if entry is None or self.clock() - entry.created >= entry.max_age:
            return None
        if entry.holds is not None and entry.refresh_after is None and not entry.holds():
            return None
        return self._entries.get(key)

    def due(self, entry: Entry) -> bool:
        """Whether `entry` is to be computed again ahead of its expiry: it is old enough, or it no
        longer holds and is past its `refresh_after`."""
        age = self.clock() - entry.created
        if age >= REFRESH_AHEAD * entry.max_age:
            return True
        return (
            entry.holds is not None
            and entry.refresh_after is not None
            and age >= entry.refresh_after
            and not entry.holds()
        )

    def previous(self, key: Key) -> Entry | None:
        return self._entries.peek(key)

    def put(self, key: Key, entry: Entry) -> None:
        self._entries.put(key, entry)

    @property
    def size(self) -> int:
        """What the kept answers weigh now, in bytes (entry_bytes)."""
        return self._entries.weight


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class CacheMiddleware:
    """Serves cached answers, and makes concurrent requests for a missing one wait for a single
    computation (so 1,000 dashboards polling a track cost one query per max-age). An answer still
    polled near the end of its max-age is refreshed in the background (REFRESH_AHEAD): no kept
    answer is served past its max-age, and no poller waits while a fresh one is made."""

    def __init__(self, app: ASGIApp, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache
        self._flights: dict[Key, asyncio.Future[Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(INSIGHTS + "/")
        ):
            await self.app(scope, receive, send)
            return
        query = tuple(sorted(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)))
        key: Key = (scope["path"], query)
        entry = self.cache.get(key)
        if entry is None and key in self._flights:
            entry = await asyncio.shield(self._flights[key])
            if entry is None:  # that answer was not cacheable (an error): make this one afresh
                await self.app(scope, receive, send)
                return
        if entry is None:
            entry = await self._compute(key, self._take_off(key), scope, receive, send)
            if entry is None:
                return
        elif self._refresh_due(key, entry, scope):
            self._refresh(key, scope)
        await self._serve(self._restamped(key, entry), scope, receive, send)

    def _restamped(self, key: Key, entry: Entry) -> Entry:
        """`entry` with its `complete_through` renewed, when its claim is old and the answer holds."""
        now = self.cache.clock()
        if entry.restamp is None or now - entry.stamped_at < RESTAMP_SECONDS:
            return entry
        later = entry.restamp()
        if later is None:
            renewed = replace(entry, stamped_at=now)
        else:
            stamp = later.encode()
            body = entry.body.replace(STAMP_KEY + entry.stamp, STAMP_KEY + stamp, 1)
            renewed = replace(entry, body=body, etag=strong_etag(body), stamp=stamp, stamped_at=now)
        self.cache.put(key, renewed)
        return renewed

    def _refresh_due(self, key: Key, entry: Entry, scope: Scope) -> bool:
        """Near its expiry, not being computed already, and asked for by a token that may read it."""
        return (
            key not in self._flights
            and self.cache.due(entry)
            and entry.readers.allow(scope["state"]["claims"])
        )

    def _refresh(self, key: Key, scope: Scope) -> None:
        """Compute `key` again in the background, as the request in `scope` would (its token and all);
        what the handler answers goes only to the cache."""
        background = dict(scope, state=dict(scope.get("state", {})))

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            pass

        # The flight is registered now, not when the task first runs: requests arriving meanwhile see
        # it and neither start another refresh nor compute it themselves.
        flight = self._take_off(key)
        # On failure the next request after expiry computes it, and reports the error.
        in_background(
            self._compute(key, flight, background, no_body, discard), "refreshing a kept answer failed"
        )

    def _take_off(self, key: Key) -> asyncio.Future[Entry | None]:
        """Registers the one computation of `key` in flight, for concurrent requests to wait for."""
        flight: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        return flight

    async def _compute(
        self, key: Key, flight: asyncio.Future[Entry | None], scope: Scope, receive: Receive, send: Send
    ) -> Entry | None:
        """Runs the handler for the flight of `key` (from _take_off); returns the entry to serve, or None
        once a non-cacheable answer is sent."""
        entry = None
        try:
            messages: list[Message] = []

            async def capture(message: Message) -> None:
                messages.append(message)

            await self.app(scope, receive, capture)
            self.cache.computed += 1
            entry = self._entry(scope, messages)
            previous = self.cache.previous(key)
            if entry and previous and entry.figures and entry.figures == previous.figures:
                if not entry.stamp:
                    entry = replace(previous, created=entry.created, readers=entry.readers, holds=entry.holds)
                elif entry.created - previous.stamped_at < RESTAMP_SECONDS:
                    # The same figures under a claim still young: the earlier bytes and ETag stay.
                    entry = replace(
                        previous,
                        created=entry.created,
                        readers=entry.readers,
                        restamp=entry.restamp,
                        holds=entry.holds,
                    )
            if entry is None:
                for message in messages:
                    await send(message)
            else:
                self.cache.put(key, entry)
            return entry
        finally:
            del self._flights[key]
            flight.set_result(entry)

    def _entry(self, scope: Scope, messages: list[Message]) -> Entry | None:
        start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
        state = scope.get("state", {})
        readers: Readers | None = state.get("readers")
        keeping: Keeping = state.get("keeping", NOTHING_TO_KEEP)
        cache_control = next((v for k, v in start["headers"] if k == b"cache-control"), b"").decode()
        max_age = _MAX_AGE.search(cache_control)
        if start["status"] != 200 or readers is None or max_age is None:
            return None
        headers = tuple((k, v) for k, v in start["headers"] if k != b"content-length")
        figures = keeping.figures
        if keeping.stamp:  # the figures are the body without its claim
            figures = strong_etag(body.replace(STAMP_KEY + keeping.stamp, STAMP_KEY, 1)).encode()
        created = self.cache.clock()
        return Entry(
            body,
            headers,
            strong_etag(body),
            int(max_age[1]),
            created,
            readers,
            figures,
            scope.get("route"),
            keeping.stamp,
            created,
            keeping.restamp if keeping.stamp else None,
            keeping.holds,
            keeping.refresh_after,
        )

    async def _serve(self, entry: Entry, scope: Scope, receive: Receive, send: Send) -> None:
        claims: TokenClaims = scope["state"]["claims"]
        if not entry.readers.allow(claims):
            await error_response(forbidden(entry.readers))(scope, receive, send)
            return
        scope["route"] = entry.route
        age = int(self.cache.clock() - entry.created)
        headers = [
            *entry.headers,
            (b"etag", entry.etag.encode()),
            (b"age", str(age).encode()),
            (b"vary", b"Authorization"),
        ]
        if_none_match = header(scope, b"if-none-match")
        if if_none_match is not None and etag_matches(if_none_match, entry.etag):
            kept = [(k, v) for k, v in headers if k != b"content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(entry.body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
