"""The bodies of the export endpoints: `{"type", "period"}` and `{"period", "include_charts"}`, each with
an optional focus (`artist_id`, `album_id` or `track_id`), checked field by field into values, with a 422
naming the field for anything else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from api.errors import validation_failed
from api.export_focus import focus_field
from api.ingest import decode_json_object, read_body
from schemas.openapi_exports import ENTITY_TYPES, MAX_EXPORT_BODY_BYTES
from schemas.periods import DEFAULT_PERIOD, PERIOD_DAYS, PeriodBounds, period_bounds


@dataclass(frozen=True)
class TableRequest:
    kind: str  # tracks, albums or artists
    bounds: PeriodBounds
    focus: tuple[str, int] | None = None  # ("artist_id", 7): only what belongs to artist 7


@dataclass(frozen=True)
class ReportRequest:
    bounds: PeriodBounds
    include_charts: bool
    focus: tuple[str, int] | None = None


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as `{}` (every field has a default but `type`)."""
    body = await read_body(request, MAX_EXPORT_BODY_BYTES)
    return decode_json_object(body) if body.strip() else {}


def body_period(body: dict[str, Any]) -> PeriodBounds:
    name = body.get("period", DEFAULT_PERIOD)
    if not isinstance(name, str) or name not in PERIOD_DAYS:
        raise validation_failed("period", f"period must be one of {', '.join(PERIOD_DAYS)}.")
    return period_bounds(name, datetime.now(UTC))


async def table_request(request: Request) -> TableRequest:
    body = await json_body(request)
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in ENTITY_TYPES:
        raise validation_failed("type", f"type must be one of {', '.join(ENTITY_TYPES)}.")
    return TableRequest(kind, body_period(body), focus_field(body))


async def report_request(request: Request) -> ReportRequest:
    body = await json_body(request)
    include_charts = body.get("include_charts", False)
    if not isinstance(include_charts, bool):
        raise validation_failed("include_charts", "include_charts must be true or false.")
    return ReportRequest(body_period(body), include_charts, focus_field(body))


async def pdf_request(request: Request) -> ReportRequest:
    body = await json_body(request)
    return ReportRequest(body_period(body), True, focus_field(body))
