"""API tokens: HMAC-signed claims (subject, artists, scopes, expiry) (docs/api.md, Access).

Tokens are signed, not stored, so creating and verifying one needs only the secret. Each token names
the key that signed it (`kid`), so a server can accept the current key and previous ones while
tokens move over to a new key (docs/operations.md, "Rotate the token secret").
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

SCOPES = ("insights:read", "events:write", "catalog:write", "admin")
DEFAULT_DAYS = 90
_ALGORITHM = "HS256"
_ISSUER = "insights"


def key_id(secret: str) -> str:
    """A short public name of a key (its salted hash): says which key signed a token, not the key."""
    return hashlib.sha256(b"insights-key-id:" + secret.encode()).hexdigest()[:16]


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
    return jwt.encode(claims, secret, algorithm=_ALGORITHM, headers={"kid": key_id(secret)})


def signing_keys(token: str, secret: str, previous: Sequence[str]) -> tuple[str, ...]:
    """The accepted keys that may have signed `token`: the one its `kid` names, or for a token made
    before key ids, every accepted key."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as error:
        raise TokenError("The token is not valid.") from error
    keys = (secret, *previous)
    if kid is None:
        return keys
    named = tuple(key for key in keys if key_id(key) == kid)
    if not named:
        raise TokenError("The token was signed with a key this server no longer accepts; ask for a new one.")
    return named


def decode_with_any(token: str, keys: Sequence[str]) -> dict[str, Any]:
    """The claims of `token` signed by one of `keys` (tried in order); PyJWT's error otherwise."""
    for key in keys[:-1]:
        try:
            return decode_with(token, key)
        except jwt.InvalidSignatureError:
            continue
    return decode_with(token, keys[-1])


def decode_with(token: str, key: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[_ALGORITHM], issuer=_ISSUER, options={"require": ["exp", "iat", "sub", "jti"]}
    )
    return claims


def verify_token(token: str, secret: str, previous: Sequence[str] = ()) -> TokenClaims:
    """Checks `token` against the current key `secret`, or one of the `previous` keys still accepted."""
    try:
        claims = decode_with_any(token, signing_keys(token, secret, previous))
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
