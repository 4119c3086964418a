"""`insights token create|inspect|revoke|revocations`: make and read tokens, revoke them through the API.

Revoking goes through the API (POST /api/v1/tokens/revocations) because the running API holds the
store; the command signs itself a short-lived admin token with the local secret. No token command ever
makes a secret: a token signed with a new one would be refused by the server that checks it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from insights.settings import Settings
from schemas.tokens import DEFAULT_DAYS, SCOPES, TokenClaims, TokenError, create_token, verify_token

REVOCATIONS = "/api/v1/tokens/revocations"
DEFAULT_URL = "http://127.0.0.1:8000"
ADMIN_TOKEN_DAYS = 1 / 24 / 12  # five minutes: enough for one command
INSPECT_TIMEOUT_SECONDS = 2.0  # inspect works offline: a missing API only means revocation is unchecked
READS_NOTHING = (
    "A read token without --artist can read nothing (every read would be refused with 403). "
    "Add --artist ID (repeatable) for each artist it may read, or --scope admin to read everything."
)


class CommandError(Exception):
    """A failure to report on stderr with exit code 1 (the message is a sentence, without secrets)."""


def add_token_arguments(
    token: argparse._SubParsersAction[argparse.ArgumentParser],
    add_common: Callable[[argparse.ArgumentParser], None],
) -> None:
    create = token.add_parser("create", help="print a new signed token (one line)")
    create.add_argument(
        "--artist",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="an artist the token may read (repeat for several); a read token needs at least one",
    )
    create.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        metavar="SCOPE",
        help=f"what the token may do (repeatable): {', '.join(SCOPES)}; default insights:read",
    )
    create.add_argument(
        "--days", type=float, default=DEFAULT_DAYS, help="days until it expires (default %(default)s)"
    )
    create.add_argument(
        "--subject",
        default=os.environ.get("USER", "cli"),
        help="who or what the token is for, shown in logs and by `token inspect` (default: $USER)",
    )
    inspect = token.add_parser("inspect", help="show a token's id, scopes, artists, expiry and status")
    inspect.add_argument("token", help="the token to read")
    revoke = token.add_parser("revoke", help="refuse a token from now on, on every API process")
    revoke.add_argument("token", metavar="TOKEN_OR_ID", help="the token itself, or its id")
    revoke.add_argument("--reason", default="", help="why, for the record")
    revocations = token.add_parser("revocations", help="list the revoked tokens")
    for parser in (create, inspect, revoke, revocations):
        add_common(parser)
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    for parser in (inspect, revoke, revocations):
        what = "to check revocation (when it answers)" if parser is inspect else ""
        parser.add_argument("--url", default=DEFAULT_URL, help=f"the API {what}(default %(default)s)")


def token_id_of(token_or_id: str) -> str:
    """A token's `jti` (read without checking the signature: any token may be revoked), or the id."""
    if token_or_id.count(".") != 2:
        return token_or_id
    try:
        return str(jwt.decode(token_or_id, options={"verify_signature": False})["jti"])
    except (jwt.PyJWTError, KeyError) as error:
        raise ValueError("That is neither a token nor a token id.") from error


def claims_json(claims: TokenClaims) -> dict[str, Any]:
    return {
        "token_id": claims.token_id,
        "subject": claims.subject,
        "scopes": sorted(claims.scopes),
        "artists": sorted(claims.artists),
        "expires_at": f"{claims.expires_at:%Y-%m-%dT%H:%M:%SZ}",
    }


def show(fields: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(fields))
        return
    for name, value in fields.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        print(f"{name.replace('_', ' ') + ':':<12}{value}")


def create(args: argparse.Namespace, settings: Settings) -> int:
    scopes = args.scope or ["insights:read"]
    if "insights:read" in scopes and "admin" not in scopes and not args.artist:
        raise ValueError(READS_NOTHING)
    secret = settings.existing_secret()
    token = create_token(secret, subject=args.subject, artists=args.artist, scopes=scopes, days=args.days)
    if args.json:
        fields = claims_json(verify_token(token, secret))
        print(json.dumps({"token": token, **fields, "signed_with": settings.secret_source}))
    else:
        print(token)  # stdout is the token alone, so `TOKEN=$(insights token create ...)` works
        print(f"insights: signed with {settings.secret_source}", file=sys.stderr)
    return 0


def inspect_token(token: str, settings: Settings, url: str, as_json: bool) -> int:
    """Exit 0 only for a token this instance accepts: signed with its secret, unexpired, not revoked."""
    secret = settings.existing_secret()
    try:
        claims = verify_token(token, secret)
    except TokenError as error:
        try:
            raw = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raw = {}
        reason = str(error)
        if "expired" not in reason and raw:
            reason = f"not signed with {settings.secret_source} (or altered)"
        status = "expired" if "expired" in reason else "invalid"
        show({"status": status, "reason": reason, "token_id": raw.get("jti", "?")}, as_json)
        return 1
    revoked, checked = revocation_of(claims.token_id, url, secret)
    fields: dict[str, Any] = {"status": "revoked" if revoked else "valid", **claims_json(claims)}
    if revoked:
        fields |= {"revoked_at": revoked["revoked_at"], "reason": revoked["reason"] or "-"}
    fields["revocation"] = f"checked at {url}" if checked else f"not checked (no API answers at {url})"
    show(fields, as_json)
    return 1 if revoked else 0


def revocation_of(token_id: str, url: str, secret: str) -> tuple[dict[str, Any] | None, bool]:
    """(the revocation of the token or None, whether the API could be asked)."""
    try:
        with admin_client(url, secret, INSPECT_TIMEOUT_SECONDS) as api:
            answer = api.get(REVOCATIONS)
    except httpx.HTTPError:
        return None, False
    if answer.status_code != 200:
        return None, False
    found = [r for r in answer.json()["data"]["revocations"] if r["token_id"] == token_id]
    return (found[0] if found else None), True


def admin_client(url: str, secret: str, timeout: float = 10) -> httpx.Client:
    bearer = create_token(secret, subject="insights-token-command", scopes=["admin"], days=ADMIN_TOKEN_DAYS)
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bearer}"}, timeout=timeout)


def ask(url: str, secret: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `data` of a successful answer; CommandError when the API is away or refuses."""
    try:
        with admin_client(url, secret) as api:
            answer = api.request(method, REVOCATIONS, json=body)
    except httpx.HTTPError as error:
        raise CommandError(
            f"the API at {url} did not answer ({type(error).__name__}); is it running? (--url)"
        ) from error
    if answer.status_code not in (200, 201):
        try:
            message = answer.json().get("message", answer.text)
        except ValueError:
            message = f"HTTP {answer.status_code}"
        raise CommandError(str(message))
    data: dict[str, Any] = answer.json()["data"]
    return data


def revoke_token(args: argparse.Namespace, secret: str) -> int:
    token_id = token_id_of(args.token)
    revocation = ask(args.url, secret, "POST", {"token_id": token_id, "reason": args.reason})
    if args.json:
        print(json.dumps(revocation))
    else:
        print(f"revoked {token_id}; every API process refuses it within seconds")
    return 0


def list_revocations(args: argparse.Namespace, secret: str) -> int:
    revocations = ask(args.url, secret, "GET")["revocations"]
    if args.json:
        print(json.dumps({"revocations": revocations}))
        return 0
    if not revocations:
        print("no token is revoked")
    for revocation in revocations:
        when = datetime.fromisoformat(revocation["revoked_at"]).astimezone(UTC)
        print(f"{revocation['token_id']}  {when:%Y-%m-%d %H:%M:%SZ}  {revocation['reason']}")
    return 0


def run_token_command(args: argparse.Namespace, settings: Settings) -> int:
    command = args.token_command
    try:
        if command == "create":
            return create(args, settings)
        if command == "inspect":
            return inspect_token(args.token, settings, args.url, args.json)
        if command == "revoke":
            return revoke_token(args, settings.existing_secret())
        return list_revocations(args, settings.existing_secret())
    except CommandError as error:
        print(f"insights: {error}", file=sys.stderr)
        return 1
