"""The answers outside the figures: the error every endpoint may give, what a write took, the probes'
answers, and the token and Kafka administration bodies (the OpenAPI document is generated from them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from schemas.events import FieldError, FieldWarning
from schemas.fields import Answer, AnyText, Count, Text, doc, one_of

# Status -> error code of the API's errors (docs/api.md); api/http/errors.py renders errors with it.
ERROR_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


class Error(Answer):
    """Every error answer has this shape; no stack trace ever reaches a client."""

    success: Annotated[Literal[False], doc("Always false on an error.")]
    message: Annotated[Text, doc("A sentence for a human.", "Track 999 is not known.")]
    error: Annotated[
        str, one_of(ERROR_CODES.values(), "The machine-readable code; one per HTTP status.", "not_found")
    ]
    errors: (
        Annotated[list[FieldError], doc("Sent with `validation_failed`: one entry per problem.")] | UnsetType
    ) = UNSET
    retry_after: (
        Annotated[
            int,
            Meta(ge=1),
            doc("With `rate_limited` and `unavailable`: seconds to wait, as `Retry-After`.", 12),
        ]
        | UnsetType
    ) = UNSET


class WriteResult(Answer):
    """Valid items were durably written to Kafka (acks=all); invalid ones are reported by index."""

    accepted: Annotated[Count, doc("Items written.", 2)]
    rejected: Annotated[Count, doc("Items refused; each has an entry in `errors`.", 1)]
    errors: Annotated[
        list[Annotated[FieldError, Meta(extra_json_schema={"required": ["index"]})]],
        doc("One entry per refused item, in request order."),
    ]
    warnings: (
        Annotated[
            list[FieldWarning],
            doc(
                "Events only, and only when there is one: each field of an event that is not an event "
                "field, ignored (a misspelt `contry` shows here)."
            ),
        ]
        | UnsetType
    ) = UNSET


# ---- probes ----------------------------------------------------------------------------------------


class Health(Answer):
    """The process is alive."""

    status: Literal["ok"]


UpOrDown = Annotated[str, one_of(("ok", "down"), None, "ok")]


class Checks(Answer):
    """One entry per dependency."""

    kafka: UpOrDown
    clickhouse: UpOrDown
    kafka_identity: (
        Annotated[
            Text,
            doc(
                "`ok`, or why Kafka is not the one the stored offsets belong to (its log was reset or a "
                "topic recreated) and what to do; sent by processes that watch it.",
                "ok",
            ),
        ]
        | UnsetType
    ) = UNSET


class Readiness(Answer):
    """Whether Kafka and ClickHouse both answer, and Kafka is the one the stored offsets belong to."""

    status: Annotated[str, one_of(("ready", "unavailable"), None, "ready")]
    checks: Checks
    warnings: Annotated[
        list[str],
        doc(
            "What does not stop serving but breaks a promise, e.g. replicated ClickHouse tables without "
            "the settings exactly-once needs. Empty when all is well."
        ),
    ]


# ---- token and Kafka administration ----------------------------------------------------------------

TokenId = Annotated[
    str, Meta(min_length=1, max_length=64), doc("The token's id.", "5f0c6b1e9d2a4c58b7e3a1f2d4c6b8a0")
]


class RevocationRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The token to refuse from now on, by its id (its `jti` claim; `insights token inspect TOKEN`
    prints it)."""

    token_id: TokenId
    reason: (
        Annotated[str, Meta(max_length=200), doc("Why, for the record.", "leaked in a screenshot")]
        | UnsetType
    ) = UNSET


class Revocation(Answer):
    """A revoked token: every API process refuses it within about a second."""

    token_id: TokenId
    revoked_at: Annotated[Text, doc("When, RFC 3339 UTC.", "2026-11-26T20:15:00.000000Z")]
    reason: Annotated[AnyText, doc("Why, as given.", "leaked in a screenshot")]


class RevocationList(Answer):
    """Every revoked token, the latest first."""

    revocations: Annotated[list[Revocation], doc("The revoked tokens.")]


class KafkaResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Acknowledge that Kafka's log was reset or a topic recreated on purpose."""

    reason: (
        Annotated[
            str,
            Meta(min_length=1, max_length=200),
            doc("Why, for the record.", "moved to a new Kafka cluster"),
        ]
        | UnsetType
    ) = UNSET


class KafkaReset(Answer):
    """What the acknowledgement did."""

    accepted: Annotated[
        bool, doc("Whether a new epoch was started (false: Kafka matched, nothing to accept).")
    ]
    epoch: Annotated[Count, doc("The epoch now in force.")]
    problem: Annotated[str | None, doc("Why Kafka still does not match, or null when it does.")]
