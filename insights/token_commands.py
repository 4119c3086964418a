"""`insights token create|inspect|revoke|revocations`: make and read tokens, revoke them through the API.

Revoking goes through the API (POST /api/v1/tokens/revocations) because the running API holds the
store; the command signs itself a short-lived admin token with the local secret.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import jwt

from schemas.tokens import TokenError, create_token, verify_token

REVOCATIONS = "/api/v1/tokens/revocations"
ADMIN_TOKEN_DAYS = 1 / 24 / 12  # five minutes: enough for one command


def add_token_arguments(
    token: argparse._SubParsersAction[argparse.ArgumentParser],
    add_common: Callable[[argparse.ArgumentParser], None],
) -> None:
    inspect = token.add_parser("inspect", help="show a token's id, scopes, artists and expiry")
    inspect.add_argument("token")
    revoke = token.add_parser("revoke", help="refuse a token from now on, on every API process")
    revoke.add_argument("token", metavar="TOKEN_OR_ID", help="the token itself, or its id")
    revoke.add_argument("--reason", default="", help="why, for the record")
    revocations = token.add_parser("revocations", help="list the revoked tokens")
    for parser in (inspect, revoke, revocations):
        add_common(parser)
    for parser in (revoke, revocations):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the API (default %(default)s)")


def token_id_of(token_or_id: str) -> str:
    """A token's `jti` (read without checking the signature: any token may be revoked), or the id."""
    if token_or_id.count(".") != 2:
        return token_or_id
    try:
        return str(jwt.decode(token_or_id, options={"verify_signature": False})["jti"])
    except (jwt.PyJWTError, KeyError) as error:
        raise ValueError("That is neither a token nor a token id.") from error


def inspect_token(token: str, secret: str) -> int:
    try:
        claims = verify_token(token, secret)
        status = "valid"
    except TokenError as error:
        status = str(error)
        try:
            raw = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            print(f"status:   {status}")
            return 1
        print(f"status:   {status}")
        print(f"id:       {raw.get('jti', '?')}")
        return 1
    print(f"status:   {status}")
    print(f"id:       {claims.token_id}")
    print(f"subject:  {claims.subject}")
    print(f"scopes:   {', '.join(sorted(claims.scopes))}")
    print(f"artists:  {', '.join(str(a) for a in sorted(claims.artists)) or '-'}")
    print(f"expires:  {claims.expires_at:%Y-%m-%d %H:%M:%SZ}")
    return 0


def admin_client(url: str, secret: str) -> httpx.Client:
    bearer = create_token(secret, subject="insights-token-command", scopes=["admin"], days=ADMIN_TOKEN_DAYS)
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bearer}"}, timeout=10)


def api_failure(error: Exception, url: str) -> int:
    print(f"insights: the API at {url} did not answer ({type(error).__name__}); is it running?")
    return 1


def revoke_token(token_or_id: str, reason: str, url: str, secret: str) -> int:
    token_id = token_id_of(token_or_id)
    try:
        with admin_client(url, secret) as api:
            answer = api.post(REVOCATIONS, json={"token_id": token_id, "reason": reason})
    except httpx.HTTPError as error:
        return api_failure(error, url)
    if answer.status_code != 201:
        print(f"insights: {answer.json().get('message', answer.text)}")
        return 1
    print(f"revoked {token_id}; every API process refuses it within seconds")
    return 0


def list_revocations(url: str, secret: str) -> int:
    try:
        with admin_client(url, secret) as api:
            answer = api.get(REVOCATIONS)
    except httpx.HTTPError as error:
        return api_failure(error, url)
    if answer.status_code != 200:
        print(f"insights: {answer.json().get('message', answer.text)}")
        return 1
    revocations = answer.json()["data"]["revocations"]
    if not revocations:
        print("no token is revoked")
    for revocation in revocations:
        when = datetime.fromisoformat(revocation["revoked_at"]).astimezone(UTC)
        print(f"{revocation['token_id']}  {when:%Y-%m-%d %H:%M:%SZ}  {revocation['reason']}")
    return 0


def run_token_command(args: argparse.Namespace, secret: str) -> int:
    command = args.token_command
    if command == "inspect":
        return inspect_token(args.token, secret)
    if command == "revoke":
        return revoke_token(args.token, args.reason, args.url, secret)
    if command == "revocations":
        return list_revocations(args.url, secret)
    scopes = args.scope or ["insights:read"]
    print(create_token(secret, subject=args.subject, artists=args.artist, scopes=scopes, days=args.days))
    return 0
