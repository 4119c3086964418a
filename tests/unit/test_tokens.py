from datetime import UTC, datetime, timedelta

import jwt
import pytest

from schemas.tokens import TokenError, create_token, verify_token

SECRET = "s" * 48


def test_claims_round_trip() -> None:
    token = create_token(SECRET, subject="ana", artists=[3, 1, 3], scopes=["insights:read"])
    claims = verify_token(token, SECRET)
    assert claims.subject == "ana"
    assert claims.artists == {1, 3}
    assert claims.allows("insights:read")
    assert not claims.allows("events:write")
    assert claims.expires_at - datetime.now(UTC) > timedelta(days=89)


def test_admin_allows_every_scope() -> None:
    claims = verify_token(create_token(SECRET, scopes=["admin"]), SECRET)
    assert all(claims.allows(s) for s in ("insights:read", "events:write", "catalog:write"))


def test_expired_token_is_refused() -> None:
    token = create_token(SECRET, days=1, now=datetime.now(UTC) - timedelta(days=2))
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, SECRET)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        create_token("another secret of sufficient length!!", scopes=["admin"]),
        jwt.encode({"sub": "x", "scopes": ["admin"]}, SECRET, algorithm="HS256"),
    ],
)
def test_forged_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        verify_token(token, SECRET)


def test_unknown_scope_cannot_be_issued() -> None:
    with pytest.raises(ValueError, match="Unknown scope"):
        create_token(SECRET, scopes=["root"])
