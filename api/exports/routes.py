"""The export endpoints under /insights/export/: formats, CSV and JSON rows, the JSON
report and the PDF report. Exports hold exactly what the token may read."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.exports.focus import resolve_focus
from api.exports.pdf.document import render_pdf
from api.exports.report import build_report, subject_slug
from api.exports.requests import TableRequest, pdf_request, report_request, table_request
from api.exports.tables import Row, breakdown_pages, csv_chunks, describer, json_chunks, row_pages
from api.http.access import claims_of
from api.http.errors import validation_failed
from api.http.responses import JSONResponse, success
from api.read.analytics_routes import catalog_of
from insights.store import Store
from schemas.local_ranges import LocalRange

EXPORT = "/api/v1/producer-intelligence/insights/export"

FORMATS = [
    {
        "id": "csv",
        "name": "CSV",
        "description": "One row per track, album or artist you may read (or of the artist, album or "
        "track in focus), most played first, with its album and artists, period plays, all-time plays, "
        "unique listeners, likes, reposts, the dates and zone covered (any zone and range: tz, "
        'from, to) and the listening figures; or, with layout "breakdowns", a row per entity and '
        "country, source or platform with its plays, listeners and share. UTF-8 with a header row; "
        "streamed, so any size works; text cells that a spreadsheet would run as a formula start with "
        "an apostrophe.",
    },
    {
        "id": "json",
        "name": "JSON",
        "description": "The same rows as the CSV export, as JSON, each entity with its listening (and, "
        "with include_breakdowns, its breakdowns by country, source and platform). POST /export/report "
        "gives the comprehensive JSON report instead: totals, growth, listening, breakdowns, rankings, "
        "collaborations and chart series.",
    },
    {
        "id": "pdf",
        "name": "PDF report",
        "description": "A printable report: title page, summary figures with growth, a plays-and-listeners "
        "chart over the period, a top-tracks chart, where and how they listen (listening time, "
        "countries, sources, platforms), tables per album and track, and collaborations.",
    },
]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def attachment(kind: str, chosen: LocalRange, extension: str) -> dict[str, str]:
    """`insights-<kind>-<period>-<last day>`, or `-<from>-to-<to>` for a range, then the zone unless UTC."""
    last = chosen.last.isoformat()
    covered = (
        f"{chosen.first.isoformat()}-to-{last}" if chosen.period == "custom" else f"{chosen.period}-{last}"
    )
    zone = "" if chosen.utc else "-" + re.sub(r"[^A-Za-z0-9_]+", "-", chosen.tz)
    name = f"insights-{kind}-{covered}{zone}.{extension}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def export_formats(request: Request) -> Response:
    # `formats` at the top level as the seed API answered, and in `data` like every other success body.
    return JSONResponse({"success": True, "data": {"formats": FORMATS}, "formats": FORMATS})


async def started(pages: AsyncIterator[list[Row]]) -> AsyncIterator[list[Row]]:
    """The pages, with the first one fetched before the answer starts: a store that is down (or any
    error) then still gets a proper error answer; later failures can only cut the stream short."""
    first = await anext(pages, None)

    async def rest() -> AsyncIterator[list[Row]]:
        if first is not None:
            yield first
        async for page in pages:
            yield page

    return rest()


async def table_pages(request: Request, wanted: TableRequest) -> AsyncIterator[list[Row]]:
    """The pages of the export: entity rows (with their breakdowns if asked), or, for the `breakdowns`
    layout, a row per entity, dimension and value."""
    focus = await resolve_focus(request, wanted.focus)
    describe = describer(wanted.kind, await catalog_of(request).snapshot())
    only = focus.ids(wanted.kind) if focus is not None else None
    by_value = wanted.layout == "breakdowns"
    limit = wanted.limit if wanted.include_breakdowns or by_value else None
    claims, chosen = claims_of(request), wanted.chosen
    pages = row_pages(store_of(request), wanted.kind, claims, chosen, describe, only, breakdown_limit=limit)
    return await started(breakdown_pages(wanted.kind, pages) if by_value else pages)


async def export_csv(request: Request) -> Response:
    wanted = await table_request(request)
    if wanted.include_breakdowns and wanted.layout == "entities":
        raise validation_failed(
            "include_breakdowns",
            'A CSV has the breakdowns as rows of their own: ask for "layout": "breakdowns".',
        )
    name = wanted.kind if wanted.layout == "entities" else f"{wanted.kind}-breakdowns"
    return StreamingResponse(
        csv_chunks(wanted.kind, await table_pages(request, wanted), wanted.layout),
        media_type="text/csv; charset=utf-8",
        headers=attachment(name, wanted.chosen, "csv"),
    )


async def export_json(request: Request) -> Response:
    wanted = await table_request(request)
    name = wanted.kind if wanted.layout == "entities" else f"{wanted.kind}-breakdowns"
    pages = await table_pages(request, wanted)
    return StreamingResponse(
        json_chunks(wanted.kind, wanted.chosen, pages, wanted.layout),
        media_type="application/json",
        headers=attachment(name, wanted.chosen, "json"),
    )


async def export_report(request: Request) -> Response:
    wanted = await report_request(request)
    focus = await resolve_focus(request, wanted.focus)
    report = await build_report(
        store_of(request),
        catalog_of(request),
        claims_of(request),
        wanted.chosen,
        wanted.include_charts,
        focus,
        wanted.limit,
    )
    return success(report)


async def export_pdf(request: Request) -> Response:
    wanted = await pdf_request(request)
    focus = await resolve_focus(request, wanted.focus)
    report = await build_report(
        store_of(request), catalog_of(request), claims_of(request), wanted.chosen, True, focus, wanted.limit
    )
    laid_out = msgspec.to_builtins(report)
    # Layout is CPU work: a worker thread keeps the event loop answering other requests meanwhile.
    document = await anyio.to_thread.run_sync(render_pdf, laid_out)
    return Response(
        document,
        media_type="application/pdf",
        headers=attachment(f"report-{subject_slug(laid_out)}", wanted.chosen, "pdf"),
    )


routes = [
    Route(EXPORT + "/formats", export_formats, methods=["GET"]),
    Route(EXPORT + "/csv", export_csv, methods=["POST"]),
    Route(EXPORT + "/json", export_json, methods=["POST"]),
    Route(EXPORT + "/report", export_report, methods=["POST"]),
    Route(EXPORT + "/pdf", export_pdf, methods=["POST"]),
]
