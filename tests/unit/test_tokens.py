from datetime import UTC, datetime, timedelta

import jwt
import pytest

from schemas.tokens import TokenError, create_token, key_id, verify_token

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


OLD, NEW, RETIRED = "o" * 48, "n" * 48, "r" * 48


def test_a_token_names_its_key_without_revealing_it() -> None:
    header = jwt.get_unverified_header(create_token(NEW))
    assert header["kid"] == key_id(NEW) != key_id(OLD)
    assert NEW not in header["kid"]


def test_a_rotation_keeps_tokens_of_the_previous_key_until_it_is_retired() -> None:
    before = create_token(OLD, subject="player")
    after = create_token(NEW, subject="player")
    # Rotating: the new key signs, the old one is still accepted.
    assert verify_token(before, NEW, previous=[OLD]).subject == "player"
    assert verify_token(after, NEW, previous=[OLD]).subject == "player"
    # Retired: only the old key's tokens stop working.
    with pytest.raises(TokenError, match="no longer accepts"):
        verify_token(before, NEW)
    assert verify_token(after, NEW).subject == "player"


def test_a_token_from_before_key_ids_is_accepted_under_any_accepted_key() -> None:
    claims = {"iss": "insights", "sub": "old", "jti": "1", "iat": 1, "exp": 4_000_000_000}
    legacy = jwt.encode(claims, OLD, algorithm="HS256")
    assert verify_token(legacy, NEW, previous=[RETIRED, OLD]).subject == "old"
    with pytest.raises(TokenError, match="not valid"):
        verify_token(legacy, NEW, previous=[RETIRED])
    expired = jwt.encode(claims | {"exp": 2}, OLD, algorithm="HS256")
    with pytest.raises(TokenError, match="expired"):
        verify_token(expired, NEW, previous=[OLD])


def test_a_token_naming_an_accepted_key_but_signed_by_another_is_refused() -> None:
    forged = jwt.encode({"sub": "x"}, RETIRED, algorithm="HS256", headers={"kid": key_id(NEW)})
    with pytest.raises(TokenError, match="not valid"):
        verify_token(forged, NEW, previous=[OLD])
