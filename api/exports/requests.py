"""The bodies of the export endpoints: `{"type", "period", "layout"}` and `{"period", "include_charts"}`,
each with an optional zone and range (`tz`, `from`/`to`, as the read endpoints take them), an optional
focus (`artist_id`, `album_id` or `track_id`) and the breakdowns' `limit`, checked field by field into
values, with a 422 naming the field for anything else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from api.exports.focus import focus_field
from api.http.errors import validation_failed
from api.ingest.endpoints import decode_json_object, read_body
from api.read.range_params import range_of
from schemas.audience import BREAKDOWN_LIMIT, DEFAULT_BREAKDOWN_LIMIT
from schemas.events import whole
from schemas.exports import ENTITY_TYPES, LAYOUTS, MAX_EXPORT_BODY_BYTES
from schemas.local_ranges import LocalRange, RangeError
from schemas.periods import DEFAULT_PERIOD, PERIOD_DAYS


@dataclass(frozen=True)
class TableRequest:
    kind: str  # tracks, albums or artists
    chosen: LocalRange  # the local days of `tz` the figures cover
    focus: tuple[str, int] | None = None  # ("artist_id", 7): only what belongs to artist 7
    layout: str = "entities"  # or "breakdowns": a row per entity, dimension and value
    limit: int = DEFAULT_BREAKDOWN_LIMIT  # values a breakdown ranks; the rest are `other`
    include_breakdowns: bool = False  # JSON entity rows: nest each entity's breakdowns


@dataclass(frozen=True)
class ReportRequest:
    chosen: LocalRange
    include_charts: bool
    focus: tuple[str, int] | None = None
    limit: int = DEFAULT_BREAKDOWN_LIMIT


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as `{}` (every field has a default but `type`)."""
    body = await read_body(request, MAX_EXPORT_BODY_BYTES)
    return decode_json_object(body) if body.strip() else {}


def body_period(body: dict[str, Any]) -> LocalRange:
    """`period` (default 30-days), or `from` and `to`, in the zone `tz` (default UTC)."""
    for name in ("period", "tz", "from", "to"):
        if name in body and not isinstance(body[name], str):
            raise validation_failed(name, f"{name} must be a string.")
    try:
        return range_of(body, "period", PERIOD_DAYS, DEFAULT_PERIOD)[1]
    except RangeError as error:
        raise validation_failed(error.field, error.message) from None


def breakdown_limit(body: dict[str, Any]) -> int:
    """`limit` (default 10): how many values of each dimension get a row of their own."""
    value = whole(body.get("limit", DEFAULT_BREAKDOWN_LIMIT))  # 10.0 is 10, as for ids
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= BREAKDOWN_LIMIT:
        raise validation_failed("limit", f"limit must be an integer from 1 to {BREAKDOWN_LIMIT}.")
    return value


async def table_request(request: Request) -> TableRequest:
    body = await json_body(request)
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in ENTITY_TYPES:
        raise validation_failed("type", f"type must be one of {', '.join(ENTITY_TYPES)}.")
    layout = body.get("layout", "entities")
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise validation_failed("layout", f"layout must be one of {', '.join(LAYOUTS)}.")
    include_breakdowns = body.get("include_breakdowns", False)
    if not isinstance(include_breakdowns, bool):
        raise validation_failed("include_breakdowns", "include_breakdowns must be true or false.")
    limit = breakdown_limit(body)
    return TableRequest(kind, body_period(body), focus_field(body), layout, limit, include_breakdowns)


async def report_request(request: Request) -> ReportRequest:
    body = await json_body(request)
    include_charts = body.get("include_charts", False)
    if not isinstance(include_charts, bool):
        raise validation_failed("include_charts", "include_charts must be true or false.")
    return ReportRequest(body_period(body), include_charts, focus_field(body), breakdown_limit(body))


async def pdf_request(request: Request) -> ReportRequest:
    body = await json_body(request)
    return ReportRequest(body_period(body), True, focus_field(body), breakdown_limit(body))
