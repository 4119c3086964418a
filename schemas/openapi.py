"""The OpenAPI 3.1 description of the HTTP contract as plain data.

Served by api/pages/docs.py as /openapi.json and rendered as /docs; the component schemas live in
schemas/openapi_components.py.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from schemas.events import MAX_EVENTS_PER_BATCH
from schemas.openapi_audience import BREAKDOWN_TEXT, LISTING_TEXT
from schemas.openapi_audience import PARAMETERS as AUDIENCE_PARAMETERS
from schemas.openapi_audience import SCHEMAS as AUDIENCE_SCHEMAS
from schemas.openapi_components import (
    CACHE_HEADERS,
    ERROR_CODES,
    MAX_BODY_BYTES,
    PARAMETERS,
    PERIOD_TEXT,
    RATE_LIMIT_HEADERS,
    RESPONSES,
    SCHEMAS,
    TIMEFRAME_TEXT,
    Schema,
    error_response,
    ref,
)
from schemas.openapi_exports import ACCESS_TEXT, EXPORT, MAX_EXPORT_BODY_BYTES
from schemas.openapi_exports import SCHEMAS as EXPORT_SCHEMAS

INSIGHTS = "/api/v1/producer-intelligence/insights"
BEARER = "bearerAuth"

CODES_TEXT = ", ".join(f"{status} `{code}`" for status, code in ERROR_CODES.items())

DESCRIPTION = f"""Streaming analytics for music creators: send listening events and catalog updates, \
read plays, listeners, engagement, growth, charts and realtime figures per track, album and artist.

Authentication: every path under `/api/` needs `Authorization: Bearer <token>`, a signed token made \
with `insights token create --scope SCOPE [--artist ID]...`. Each endpoint names the scope it needs; \
`admin` has them all. A read token lists the artists it may read: a track is readable if any of its \
artists is listed, an album if its artist is, an artist if listed. An unknown id is 404, a known one \
that is not yours 403.

Success bodies are `{{"success": true, "data": {{...}}}}`. Errors are `{{"success": false, "message", \
"error"}}` with one code per status: {CODES_TEXT}; a validation error also lists \
`errors: [{{field, message}}]`.

Periods: {PERIOD_TEXT}

Counting: a repeated `event_id` counts once; `heartbeat` events count only toward realtime \
`active_listeners`."""

TAGS = [
    {"name": "Health", "description": "Probes and metrics for operators; no token needed."},
    {
        "name": "Ingest",
        "description": "Write listening events and the catalog. A 202 means every accepted item is "
        "durably in Kafka (acks=all); invalid items are reported per index, the valid ones still taken.",
    },
    {"name": "Tracks", "description": "Figures of one track."},
    {"name": "Albums", "description": "Figures over all the tracks of an album."},
    {"name": "Artists", "description": "Figures over every track that lists an artist, and collaborations."},
    {"name": "Exports", "description": "Everything a token may read, as CSV, JSON, a JSON report or a PDF."},
    {"name": "Tokens", "description": "Token administration: revoke a token by its id."},
    {"name": "Docs", "description": "This description, as OpenAPI JSON and as a page."},
]

METRICS_TEXT = """Figures for the period (`period`, default `30-days`):

- `plays.total`: every `play` event ever; `plays.period`: `play` events with `occurred_at` in the period.
- `listeners.total`: distinct `listener_id` over all `play` events ever; `listeners.unique`: distinct \
listeners of the period's plays.
- `engagement.likes` / `engagement.reposts`: `like` / `repost` events in the period.
- `growth.plays_change`: (period - previous) / previous * 100, rounded to one decimal, where previous is \
the equal-length period just before; null when previous is 0. `growth.listeners_change` likewise on \
`listeners.unique`."""

CHART_TEXT = f"""Gap-filled UTC buckets, oldest first, `t` = bucket start, from the bucket holding the \
period's start to the bucket holding now. {TIMEFRAME_TEXT} `listeners` are distinct per bucket."""


def component(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def success(status: str, data: Schema, description: str) -> Schema:
    schema = {
        "type": "object",
        "required": ["success", "data"],
        "properties": {"success": {"const": True, "description": "Always true on success."}, "data": data},
        "additionalProperties": False,
    }
    return {status: answer(description, schema)}


ERROR_RESPONSES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    413: "PayloadTooLarge",
    422: "ValidationFailed",
    429: "RateLimited",
    503: "Unavailable",
    500: "ServerError",
}


def errors(*statuses: int) -> Schema:
    """The shared error responses for these statuses, and 500, which any endpoint may answer."""
    return {str(status): component("responses", ERROR_RESPONSES[status]) for status in (*statuses, 500)}


def operation(
    tag: str,
    operation_id: str,
    summary: str,
    description: str,
    responses: Schema,
    *,
    scope: str | None,
    parameters: tuple[str, ...] = (),
    body: Schema | None = None,
) -> Schema:
    if scope is not None:
        description += f"\n\nNeeds a token with the scope `{scope}` (or `admin`)."
    op: Schema = {
        "tags": [tag],
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "security": [{BEARER: [scope]}] if scope else [],
    }
    if parameters:
        op["parameters"] = [component("parameters", name) for name in parameters]
    if body is not None:
        op["requestBody"] = body
    if scope is not None:
        # Every answer to a token carries its rate limit; beyond it, 429.
        for status, response in responses.items():
            if status.startswith("2"):  # (304 is a shared component that lists them already)
                response["headers"] = headers(RATE_LIMIT_HEADERS) | response.get("headers", {})
        responses = responses | {"429": component("responses", "RateLimited")}
    op["responses"] = responses
    return op


def headers(meanings: dict[str, str]) -> Schema:
    return {
        name: {"description": meaning, "schema": {"type": "string"}} for name, meaning in meanings.items()
    }


def json_body(schema: str, description: str, required: bool = True) -> Schema:
    return {
        "required": required,
        "description": description,
        "content": {"application/json": {"schema": ref(schema)}},
    }


def write_operation(operation_id: str, summary: str, description: str, schema: str, scope: str) -> Schema:
    return operation(
        "Ingest",
        operation_id,
        summary,
        description,
        success("202", ref("WriteResult"), "Accepted: the valid items are durably in Kafka.")
        | errors(401, 403, 413, 422, 503),
        scope=scope,
        body=json_body(schema, f"At most {MAX_BODY_BYTES // 1024 // 1024} MiB of JSON."),
    )


def read_operation(
    tag: str,
    operation_id: str,
    summary: str,
    description: str,
    data: str,
    parameters: tuple[str, ...],
) -> Schema:
    figures = success("200", ref(data), "The figures.")
    figures["200"]["headers"] = headers(CACHE_HEADERS)
    return operation(
        tag,
        operation_id,
        summary,
        description + "\n\nCached: send the `ETag` back in `If-None-Match` to get 304 while it holds.",
        figures | {"304": component("responses", "NotModified")} | errors(401, 403, 404, 422),
        scope="insights:read",
        parameters=(*parameters, "IfNoneMatch"),
    )


def answer(description: str, schema: Schema, media: str = "application/json") -> Schema:
    return {"description": description, "content": {media: {"schema": schema}}}


def public(
    tag: str, operation_id: str, summary: str, description: str, responses: Schema
) -> dict[str, Schema]:
    return {"get": operation(tag, operation_id, summary, description, responses, scope=None)}


def health_paths() -> dict[str, Schema]:
    retry_after = {"description": "Seconds to wait before asking again.", "schema": {"type": "string"}}
    return {
        "/healthz": public(
            "Health",
            "healthz",
            "Liveness",
            "Answers 200 while the process serves requests; checks nothing else.",
            {"200": answer("Alive.", ref("Health"))},
        ),
        "/readyz": public(
            "Health",
            "readyz",
            "Readiness",
            "Answers 200 when both Kafka and ClickHouse answer a real round trip, else 503.",
            {
                "200": answer("Ready.", ref("Readiness")),
                "503": answer("A dependency is down; `checks` says which.", ref("Readiness"))
                | {"headers": {"Retry-After": retry_after}},
            },
        ),
        "/metrics": public(
            "Health",
            "metrics",
            "Metrics",
            "The process's counters (ingest outcomes, worker writes, duplicates, dead letters, retries) "
            "in the Prometheus text format. Counts only, never data; scrape it from inside the network.",
            {"200": answer("The counters.", {"type": "string"}, "text/plain")},
        ),
    }


def docs_paths() -> dict[str, Schema]:
    return {
        "/openapi.json": public(
            "Docs",
            "openapiJson",
            "OpenAPI document",
            "This description of the API as an OpenAPI 3.1 document.",
            {"200": answer("The document.", {"type": "object"})},
        ),
        "/docs": public(
            "Docs",
            "docsPage",
            "Documentation page",
            "The same description as a self-contained HTML page.",
            {"200": answer("The page.", {"type": "string"}, "text/html")},
        ),
    }


def ingest_paths() -> dict[str, Schema]:
    return {
        "/api/v1/events": {
            "post": write_operation(
                "postEvents",
                "Send listening events",
                f"1 to {MAX_EVENTS_PER_BATCH} events per request. Each valid event is written to Kafka, "
                "each invalid one reported with its index in `errors`; if none is valid the answer is "
                "422. If Kafka is down the answer is 503 and nothing of the batch is accepted: retry it "
                "whole (repeated `event_id`s count once).",
                "EventBatch",
                "events:write",
            )
        },
        "/api/v1/catalog": {
            "post": write_operation(
                "postCatalog",
                "Create or update artists, albums and tracks",
                "Upserts: the newest write of an id wins. Invalid items are reported with their list "
                "position (`field` like `tracks[0].title`); if none is valid the answer is 422.",
                "CatalogUpdate",
                "catalog:write",
            )
        },
    }


def token_paths() -> dict[str, Schema]:
    revocations = "/api/v1/tokens/revocations"
    return {
        revocations: {
            "post": operation(
                "Tokens",
                "revokeToken",
                "Revoke a token",
                "Every API process refuses the token within about a second (each keeps the revoked ids "
                "in memory and reloads them every second). Revoking twice is harmless.",
                success("201", ref("Revocation"), "Revoked.") | errors(401, 403, 413, 422, 503),
                scope="admin",
                body=json_body("RevocationRequest", "The token's id and, if you like, why."),
            ),
            "get": operation(
                "Tokens",
                "listRevocations",
                "List revoked tokens",
                "Every revoked token, the latest first.",
                success("200", ref("RevocationList"), "The revoked tokens.") | errors(401, 403, 503),
                scope="admin",
            ),
        }
    }


def kafka_paths() -> dict[str, Schema]:
    return {
        "/api/v1/kafka/reset": {
            "post": operation(
                "Tokens",
                "acceptKafkaReset",
                "Accept a Kafka reset",
                "When Kafka's log was lost or a topic recreated, ingest answers 503 and the worker writes "
                "nothing until an operator says the reset was deliberate: this starts a new epoch for the "
                "Kafka now answering, and counting resumes (`insights kafka accept-reset` calls it). "
                "Harmless when Kafka matches.",
                success("200", ref("KafkaReset"), "Done.") | errors(401, 403, 404, 413, 422, 503),
                scope="admin",
                body=json_body("KafkaResetRequest", "Why, if you like."),
            ),
        }
    }


def insights_paths() -> dict[str, Schema]:
    analytics = ("Period", "Tz", "From", "To")
    charts = ("Timeframe", "Tz", "From", "To", "Interval")
    over = "over all the {}'s tracks; listeners are distinct across the tracks, never summed.\n\n"
    operations = [
        (
            "/tracks/{trackId}",
            read_operation(
                "Tracks",
                "trackAnalytics",
                "Track analytics",
                METRICS_TEXT,
                "TrackAnalytics",
                ("TrackId", *analytics),
            ),
        ),
        (
            "/tracks/{trackId}/charts",
            read_operation(
                "Tracks", "trackChart", "Track chart", CHART_TEXT, "TrackChart", ("TrackId", *charts)
            ),
        ),
        (
            "/tracks/{trackId}/realtime",
            read_operation(
                "Tracks",
                "trackRealtime",
                "Track realtime",
                "The last hour by minute. `active_listeners`: distinct listeners with any `play` or "
                "`heartbeat` in the last 5 minutes; `plays_last_5m` / `plays_last_60m` by `occurred_at`; "
                "`series`: 60 one-minute buckets ending with the current minute.",
                "TrackRealtime",
                ("TrackId",),
            ),
        ),
        (
            "/albums/{albumId}",
            read_operation(
                "Albums",
                "albumAnalytics",
                "Album analytics",
                "The track figures "
                + over.format("album")
                + METRICS_TEXT
                + "\n\n`tracks`: every track of the album with its period plays and listeners, most "
                "played first.",
                "AlbumAnalytics",
                ("AlbumId", *analytics),
            ),
        ),
        (
            "/albums/{albumId}/charts",
            read_operation(
                "Albums",
                "albumChart",
                "Album chart",
                "The track chart " + over.format("album") + CHART_TEXT,
                "AlbumChart",
                ("AlbumId", *charts),
            ),
        ),
        (
            "/artists/{artistId}",
            read_operation(
                "Artists",
                "artistAnalytics",
                "Artist analytics",
                "The track figures over every track that lists the artist; listeners are distinct "
                "across the tracks, never summed.\n\n" + METRICS_TEXT + "\n\n`top_tracks`: up to 10 of "
                "the artist's tracks, most played in the period first.",
                "ArtistAnalytics",
                ("ArtistId", *analytics),
            ),
        ),
        (
            "/artists/{artistId}/charts",
            read_operation(
                "Artists",
                "artistChart",
                "Artist chart",
                "The track chart over every track that lists the artist.\n\n" + CHART_TEXT,
                "ArtistChart",
                ("ArtistId", *charts),
            ),
        ),
        (
            "/artists/{artistId}/collaborations",
            read_operation(
                "Artists",
                "artistCollaborations",
                "Artist collaborations",
                "`total_collaborations`: tracks the artist shares with at least one other artist. "
                "`top_collaborators`: up to 10 artists by shared tracks, then plays. "
                "`collaboration_tracks`: every shared track with its all-time plays, most played first.",
                "ArtistCollaborations",
                ("ArtistId",),
            ),
        ),
    ]
    return {INSIGHTS + path: {"get": op} for path, op in operations}


def audience_paths() -> dict[str, Schema]:
    breakdown = ("Dimension", "Period", "Tz", "From", "To", "BreakdownLimit")
    paths: dict[str, Schema] = {}
    owners = (
        ("Tracks", "track", "TrackId"),
        ("Albums", "album", "AlbumId"),
        ("Artists", "artist", "ArtistId"),
    )
    for tag, owner, parameter in owners:
        over = "" if owner == "track" else f" Over all the {owner}'s tracks; listeners distinct across them."
        paths[f"{INSIGHTS}/{owner}s/{{{owner}Id}}/breakdown"] = {
            "get": read_operation(
                tag,
                f"{owner}Breakdown",
                f"{owner.capitalize()} breakdown by country, source or platform",
                BREAKDOWN_TEXT + over,
                f"{owner.capitalize()}Breakdown",
                (parameter, *breakdown),
            )
        }
    kinds = (("Tracks", "tracks", "title"), ("Albums", "albums", "title"), ("Artists", "artists", "name"))
    for tag, kind, text in kinds:
        paths[f"{INSIGHTS}/{kind}"] = {
            "get": operation(
                tag,
                f"list{kind.capitalize()}",
                f"List your {kind}",
                LISTING_TEXT.format(text),
                success("200", ref(f"{kind.capitalize()[:-1]}List"), "A page.") | errors(401, 403, 422),
                scope="insights:read",
                parameters=("Q", "ListLimit", "Cursor"),
            )
        }
    return paths


def export_operation(
    operation_id: str, summary: str, description: str, body: str | None, responses: Schema
) -> Schema:
    request = None
    if body is not None:
        # A body whose every field has a default may be left out: no body is `{}`.
        optional = not EXPORT_SCHEMAS[body].get("required")
        request = json_body(
            body,
            f"JSON, at most {MAX_EXPORT_BODY_BYTES // 1024} KiB; an empty body is `{{}}`"
            + (", and so is no body at all." if optional else "."),
            required=not optional,
        )
    # A body may name the entity on screen (artist_id, album_id, track_id): unknown, it is 404.
    refusals = errors(401, 403, 404, 413, 422) if body is not None else errors(401, 403)
    if body is not None:
        refusals["413"] = error_response(
            f"`payload_too_large`: the body is larger than {MAX_EXPORT_BODY_BYTES // 1024} KiB."
        )
    return operation(
        "Exports",
        operation_id,
        summary,
        description + "\n\n" + ACCESS_TEXT,
        responses | refusals,
        scope="insights:read",
        body=request,
    )


DISPOSITION = {
    "Content-Disposition": {
        "description": "`attachment` with a file name: `insights-<type>-<period>-<YYYY-MM-DD>.<ext>` "
        "(`<type>-breakdowns` for that layout).",
        "schema": {"type": "string"},
    }
}


def file_answer(description: str, media: str) -> Schema:
    return {"200": answer(description, {"type": "string"}, media) | {"headers": DISPOSITION}}


def export_paths() -> dict[str, Schema]:
    return {
        EXPORT + "/formats": {
            "get": export_operation(
                "exportFormats",
                "Export formats",
                "The formats the export endpoints produce.",
                None,
                {"200": answer("The formats.", ref("ExportFormats"))},
            )
        },
        EXPORT + "/csv": {
            "post": export_operation(
                "exportCsv",
                "Export rows as CSV",
                "One row per readable entity of `type`, most played in the period first (then by id): "
                "`<type>_id`, `title` (`name` for artists), what tells it apart (a track's `album_id`, "
                "`album`, `artist_ids`, `artists`; an album's `artist_id`, `artist`), `plays`, "
                "`plays_total`, `listeners`, `likes`, `reposts`, the period's `from` and `to` dates and "
                "`tz`, then `listening_qualified_plays`, `listening_total_ms` and `listening_avg_ms`; "
                'the same figures as the single-entity endpoints. With `"layout": "breakdowns"`, '
                "instead a row per entity, dimension (country, source, platform) and value: the "
                "entity's id and title or name, `dimension`, `slice` (`ranked`, `other`, `unknown`), "
                "`rank`, `value`, `value_name`, `plays`, `listeners`, `share`, `from`, `to`, `tz` (the "
                "breakdown endpoints' figures, `limit` values ranked). `artist_id`, `album_id` or `track_id` "
                "in the body narrows it to what belongs to that entity (the view on screen). UTF-8, a "
                "header row, CRLF line ends, streamed. A text cell "
                "starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so a "
                "spreadsheet shows it instead of running it.",
                "TableExportRequest",
                file_answer("The CSV file.", "text/csv"),
            )
        },
        EXPORT + "/json": {
            "post": export_operation(
                "exportJson",
                "Export rows as JSON",
                "The rows of the CSV export as `{success, data: {type, period, from, to, tz, layout, "
                "rows}}`, streamed; a track's `artist_ids` and `artists` are arrays. An entity row "
                "carries `listening` as an object, and with `include_breakdowns` its `breakdowns` by "
                "country, source and platform (as the breakdown endpoints answer them, `limit` values "
                "ranked); the `breakdowns` "
                "layout gives the CSV's rows, with null `rank` and `value` for `other` and `unknown`.",
                "TableExportRequest",
                {"200": success("200", ref("ExportRows"), "The rows.")["200"] | {"headers": DISPOSITION}},
            )
        },
        EXPORT + "/report": {
            "post": export_operation(
                "exportReport",
                "Comprehensive JSON report",
                "Totals and growth per artist, album and track, their listening and their breakdowns by "
                "country, source and platform (also over everything together, in `summary`), rankings, "
                "collaborations, and the chart series when asked; every figure as the single-entity "
                "and breakdown endpoints answer it.",
                "ReportRequest",
                success("200", ref("Report"), "The report."),
            )
        },
        EXPORT + "/pdf": {
            "post": export_operation(
                "exportPdf",
                "PDF report",
                "The report as a PDF: title page (artist, period, generated-at), summary figures with "
                "growth, listening time, a plays-and-listeners chart over the period, a top-tracks chart, "
                "where and how they listen (countries by name, sources and platforms, as bars with their "
                "plays, listeners and share), tables per album and track, and collaborations. The file "
                "is named `insights-report-<artist>-<period>-"
                "<YYYY-MM-DD>.pdf`.",
                "PdfRequest",
                file_answer("The PDF document.", "application/pdf"),
            )
        },
    }


def openapi_document(server_url: str | None = None, today: date | None = None) -> dict[str, Any]:
    """The whole document; `server_url` (e.g. http://127.0.0.1:8000) when it is known, else relative.

    The event's example happens at 00:00Z of `today` (the current UTC day by default), and the example
    date is `today`: the API refuses events older than 400 days and ranges older than 731 days, so a
    fixed date would expire."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Insights API", "version": "1", "description": DESCRIPTION},
        "tags": TAGS,
        "paths": health_paths()
        | ingest_paths()
        | insights_paths()
        | audience_paths()
        | export_paths()
        | token_paths()
        | kafka_paths()
        | docs_paths(),
        "components": {
            "schemas": SCHEMAS | EXPORT_SCHEMAS | AUDIENCE_SCHEMAS,
            "parameters": PARAMETERS | AUDIENCE_PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A token from `insights token create`, HS256-signed with the "
                    "server's secret, carrying its scopes and readable artists.",
                }
            },
        },
    }
    if server_url is not None:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    document = copy.deepcopy(document)  # callers may change their copy; the module's parts stay intact
    day = today or datetime.now(UTC).date()
    schemas = document["components"]["schemas"]
    schemas["Event"]["properties"]["occurred_at"]["examples"] = [f"{day.isoformat()}T00:00:00Z"]
    schemas["LocalDate"]["examples"] = [day.isoformat()]
    return document
