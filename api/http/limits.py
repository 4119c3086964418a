"""Per-token request limits (docs/api.md, Limits) and the throttle on failed sign-ins.

Counts live in this process: with M API replicas behind a load balancer a token gets up to M times its
limit (docs/api.md says how to size them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import ApiError, error_response
from schemas.openapi import INSIGHTS
from schemas.tokens import TokenClaims

WINDOW_SECONDS = 60
EXPORTS = INSIGHTS + "/export/"


@dataclass(frozen=True)
class Limits:
    """Requests a minute per token for each family of endpoints, and failed sign-ins per address."""

    read: int = 500
    export: int = 30
    ingest: int = 60_000  # requests (of up to 1,000 events each) a minute: 1,000 a second
    auth_failures: int = 20


@dataclass(frozen=True)
class Quota:
    """Where a key stands in its current window; renders the X-RateLimit-* headers."""

    limit: int
    used: int
    reset_at: float  # unix seconds

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


# Keys (tokens, client addresses) each counter follows at once: about 200 bytes apiece, 20 MB at most.
MAX_KEYS = 100_000


class WindowCounter:
    """Counts hits per key in fixed windows of a minute, each starting at the key's first hit.

    Bounded: beyond `max_keys` keys in their windows, the oldest window is forgotten (its key starts
    afresh), so a flood of new keys (addresses of a botnet, say) cannot grow it without end."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self._clock = clock
        self._max_keys = max_keys
        self._windows: dict[Hashable, tuple[float, int]] = {}
        self._next_prune = 0.0

    def hit(self, key: Hashable) -> Quota:
        return self._count(key, 1)

    def peek(self, key: Hashable) -> Quota:
        return self._count(key, 0)

    def _count(self, key: Hashable, hits: int) -> Quota:
        now = self._clock()
        self._prune(now)
        started, used = self._windows.get(key, (now, 0))
        if now >= started + WINDOW_SECONDS:
            started, used = now, 0
        if hits:
            if key not in self._windows and len(self._windows) >= self._max_keys:
                del self._windows[next(iter(self._windows))]  # dicts keep insertion order: oldest first
            self._windows[key] = (started, used + hits)
        return Quota(self.limit, used + hits, started + WINDOW_SECONDS)

    def __len__(self) -> int:
        return len(self._windows)

    def _prune(self, now: float) -> None:
        # Forgetting finished windows keeps memory bounded by the keys seen in the last minute.
        if now < self._next_prune:
            return
        self._next_prune = now + WINDOW_SECONDS
        self._windows = {k: w for k, w in self._windows.items() if now < w[0] + WINDOW_SECONDS}


def rate_limited(quota: Quota, now: float, message: str) -> ApiError:
    seconds = quota.retry_after(now)
    return ApiError(
        429,
        message.format(seconds=seconds),
        headers=quota.headers() | {"Retry-After": str(seconds)},
        retry_after=seconds,
    )


def family(path: str) -> str | None:
    """Which limit a path counts against; None for paths without a token (health, docs)."""
    if path.startswith(EXPORTS):
        return "export"
    if path.startswith("/api/v1/events") or path.startswith("/api/v1/catalog"):
        return "ingest"
    if path.startswith("/api/"):
        return "read"
    return None


class RateLimitMiddleware:
    """Runs after authentication: counts the request against its token's limit, answers 429 beyond
    it, and puts the X-RateLimit-* headers on every response of a limited family."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.counters = {
            "read": WindowCounter(limits.read),
            "export": WindowCounter(limits.export),
            "ingest": WindowCounter(limits.ingest),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        claims: TokenClaims | None = scope.get("state", {}).get("claims")
        kind = family(scope["path"]) if scope["type"] == "http" else None
        if claims is None or kind is None:
            await self.app(scope, receive, send)
            return
        quota = self.counters[kind].hit(claims.token_id)
        if quota.exceeded:
            message = f"This token made more than {quota.limit} {kind} requests this minute; "
            error = rate_limited(quota, time.time(), message + "retry in {seconds} s.")
            await error_response(error)(scope, receive, send)
            return
        headers = [(k.lower().encode(), v.encode()) for k, v in quota.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SignInThrottle:
    """Failed sign-ins per client address: beyond the limit, the address's failing attempts get 429
    for the rest of its window, so guessing tokens gains nothing; a valid token is never refused."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time) -> None:
        self._failures = WindowCounter(limit, clock)
        self._clock = clock

    def check(self, address: str) -> None:
        quota = self._failures.peek(address)
        if quota.used >= quota.limit:
            message = "Too many failed sign-ins from this address; retry in {seconds} s."
            raise rate_limited(quota, self._clock(), message)

    def failed(self, address: str) -> None:
        self._failures.hit(address)
