"""API tokens: HMAC-signed claims (subject, artists, scopes, expiry) per ARCHITECTURE §5 and §6.3.

Tokens are signed, not stored, so creating and verifying one needs only the secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

SCOPES = ("insights:read", "events:write", "catalog:write", "admin")
DEFAULT_DAYS = 90
_ALGORITHM = "HS256"
_ISSUER = "insights"


class TokenError(ValueError):
    """The token is missing, malformed, badly signed or expired; the message is safe to show."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    artists: frozenset[int]
    scopes: frozenset[str]
    expires_at: datetime
    token_id: str

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def create_token(
    secret: str,
    *,
    subject: str = "cli",
    artists: Iterable[int] = (),
    scopes: Iterable[str] = ("insights:read",),
    days: float = DEFAULT_DAYS,
    now: datetime | None = None,
) -> str:
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in SCOPES]
    if unknown:
        raise ValueError(f"Unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}.")
    if days <= 0:
        raise ValueError("A token must live at least a moment: --days must be positive.")
    now = now or datetime.now(UTC)
    claims = {
        "iss": _ISSUER,
        "sub": subject,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=days)).timestamp()),
        "artists": sorted({int(a) for a in artists}),
        "scopes": scope_list,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(token: str, secret: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise TokenError("The token has expired.") from error
    except jwt.PyJWTError as error:
        raise TokenError("The token is not valid.") from error
    artists, scopes = claims.get("artists", []), claims.get("scopes", [])
    if not (isinstance(artists, list) and all(isinstance(a, int) for a in artists)):
        raise TokenError("The token is not valid.")
    if not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
        raise TokenError("The token is not valid.")
    return TokenClaims(
        subject=str(claims["sub"]),
        artists=frozenset(artists),
        scopes=frozenset(scopes),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        token_id=str(claims["jti"]),
    )
