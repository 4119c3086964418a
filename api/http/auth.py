"""Bearer-token authentication for every /api/ route, and the scope each route family needs.

ASGI middleware, so handlers find verified claims in `request.state.claims` and never check tokens.
A token is checked in memory only: its signature and expiry, then the revoked set (api/admin/revocations.py).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from starlette.types import ASGIApp, Receive, Scope, Send

from api.admin.revocations import Revocations
from api.http.errors import ApiError, error_response, unauthorized
from api.http.limits import SignInThrottle
from schemas.tokens import TokenClaims, TokenError, verify_token

# Longest prefix first; every /api/ path must match one.
REQUIRED_SCOPES: tuple[tuple[str, str], ...] = (
    ("/api/v1/producer-intelligence/", "insights:read"),
    ("/api/v1/events", "events:write"),
    ("/api/v1/catalog", "catalog:write"),
    ("/api/v1/tokens", "admin"),
    ("/api/v1/kafka", "admin"),
    ("/api/", ""),  # any valid token: an unknown path then answers 404
)


def required_scope(path: str) -> str | None:
    if not path.startswith("/api/"):
        return None
    return next(scope for prefix, scope in REQUIRED_SCOPES if path.startswith(prefix))


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    return None


@functools.lru_cache(maxsize=10_000)
def verified(token: str, secret: str, previous: tuple[str, ...]) -> TokenClaims:
    """Signature checks cost about 0.1 ms: a token seen before is not checked again. Only valid
    tokens are kept (a failed check raises), and expiry is checked on every request anyway. Bounded
    by entries: only tokens this deployment signed get in, so each is of a size it chose."""
    return verify_token(token, secret, previous)


def client_address(scope: Scope) -> str:
    """The peer's address; a forwarded one only from the proxies the operator trusts, which the
    server resolves before the app sees the request (INSIGHTS_TRUSTED_PROXIES, insights/http_server.py)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        secret: str,
        revocations: Revocations,
        throttle: SignInThrottle,
        previous_secrets: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self._secret = secret
        self._previous = previous_secrets
        self._revocations = revocations
        self._throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        needed = required_scope(scope["path"]) if scope["type"] == "http" else None
        if needed is None:
            await self.app(scope, receive, send)
            return
        try:
            claims = self.authenticate(scope, needed)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)

    def authenticate(self, scope: Scope, needed: str) -> TokenClaims:
        token = bearer_token(scope)
        if token is None:
            raise unauthorized("Send a token in the header 'Authorization: Bearer <token>'.")
        try:
            claims = verified(token, self._secret, self._previous)
            if claims.expires_at <= datetime.now(UTC):
                raise TokenError("The token has expired.")
            if claims.token_id in self._revocations:
                raise TokenError("The token has been revoked.")
        except TokenError as error:
            # Only failing attempts are throttled, after the check: a valid token always passes, so
            # failures from a shared address (a NAT, a proxy) never lock out the others behind it.
            address = client_address(scope)
            self._throttle.check(address)
            self._throttle.failed(address)
            raise unauthorized(str(error)) from error
        if needed and not claims.allows(needed):
            raise ApiError(403, f"This token lacks the scope {needed!r} that this endpoint needs.")
        return claims
