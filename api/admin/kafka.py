"""Kafka identity administration (scope `admin`): acknowledge a deliberate Kafka reset.

When Kafka's log was lost or a topic recreated, ingest refuses with 503 and the worker writes nothing
(insights/kafka_identity.py). If the reset was deliberate, this starts a new epoch for the Kafka now
answering: counting resumes, and everything stored afterwards orders after everything before.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.errors import ApiError, unavailable, validation_failed
from api.http.responses import success
from api.ingest.endpoints import decode_json_object, read_body
from insights.kafka_identity import IdentityGuard, accept_reset
from insights.store import Store

KAFKA_RESET = "/api/v1/kafka/reset"
MAX_BODY_BYTES = 4 * 1024
MAX_REASON_CHARS = 200


async def reset(request: Request) -> Response:
    body = decode_json_object(await read_body(request, MAX_BODY_BYTES))
    reason = body.get("reason", "acknowledged by an operator")
    if not isinstance(reason, str) or not 1 <= len(reason) <= MAX_REASON_CHARS:
        raise validation_failed("reason", f"reason must be a string of 1 to {MAX_REASON_CHARS} chars.")
    guard: IdentityGuard | None = request.app.state.identity
    if guard is None:
        raise ApiError(404, "This API does not watch Kafka's identity.")
    verdict = await guard.check()
    accepted = False
    if not verdict.ok:  # with nothing to accept (Kafka matches), a repeated request changes nothing
        store: Store = request.app.state.store
        try:
            observed = await guard.observe()
        except Exception as error:
            raise unavailable("Kafka is not reachable right now.") from error
        await store.run(accept_reset, store, observed, reason)
        verdict, accepted = await guard.check(), True
    return success({"accepted": accepted, "epoch": verdict.epoch, "problem": verdict.problem})


routes = [Route(KAFKA_RESET, reset, methods=["POST"])]
