"""Token administration (scope `admin`): revoke a token by its id, list the revoked ones.

Tokens are signed, not stored; a token's id is its `jti` claim (`insights token inspect` shows it).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.admin.revocations import Revocation, Revocations
from api.http.errors import validation_failed
from api.http.responses import success
from api.ingest.endpoints import decode_json_object, read_body

REVOCATIONS = "/api/v1/tokens/revocations"
MAX_BODY_BYTES = 4 * 1024
MAX_TOKEN_ID_CHARS = 64
MAX_REASON_CHARS = 200
REVOCATION_FIELDS = {"token_id", "reason"}


def revocations_of(request: Request) -> Revocations:
    revocations: Revocations = request.app.state.revocations
    return revocations


def shown(revocation: Revocation) -> dict[str, str]:
    return {
        "token_id": revocation.token_id,
        "revoked_at": revocation.revoked_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reason": revocation.reason,
    }


async def revoke(request: Request) -> Response:
    body = decode_json_object(await read_body(request, MAX_BODY_BYTES))
    unknown = sorted(body.keys() - REVOCATION_FIELDS)
    if unknown:  # refused, not ignored: a misspelt `reasn` would otherwise drop the reason unseen
        raise validation_failed(
            unknown[0], f"Unknown field '{unknown[0]}': a revocation has only token_id and reason."
        )
    token_id, reason = body.get("token_id"), body.get("reason", "")
    if not isinstance(token_id, str) or not 1 <= len(token_id) <= MAX_TOKEN_ID_CHARS:
        raise validation_failed("token_id", f"token_id must be a string of 1 to {MAX_TOKEN_ID_CHARS} chars.")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise validation_failed("reason", f"reason must be a string of at most {MAX_REASON_CHARS} chars.")
    revocation = await revocations_of(request).revoke(token_id, reason)
    return success(shown(revocation), status_code=201)


async def list_revocations(request: Request) -> Response:
    revoked = await revocations_of(request).all()
    return success({"revocations": [shown(r) for r in revoked]})


async def revocations(request: Request) -> Response:
    return await (revoke(request) if request.method == "POST" else list_revocations(request))


# One route for both methods, so that a 405 on the path lists both in `Allow`.
routes = [Route(REVOCATIONS, revocations, methods=["GET", "POST"])]
