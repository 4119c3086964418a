"""The OpenAPI 3.1 description of the HTTP contract: the operations are written here, the schemas of
their bodies generated from the types that state them (msgspec Structs in schemas/).

Served by api/pages/docs.py as /openapi.json and rendered as /docs.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, NamedTuple

import msgspec
from msgspec import Meta

from schemas import answers, audience, catalog, events, exports, figures
from schemas.audience import (
    BREAKDOWN_LIMIT,
    DEFAULT_BREAKDOWN_LIMIT,
    DEFAULT_LIST_LIMIT,
    DIMENSIONS,
    LIST_LIMIT,
)
from schemas.events import MAX_BODY_BYTES
from schemas.exports import (
    EXPORT,
    MAX_EXPORT_BODY_BYTES,
    ONE_FOCUS_AT_MOST,
    RULES_BETWEEN_FIELDS,
    WHOLE_EXAMPLES,
)
from schemas.fields import INTERVALS, TODAY, Day, Id, Period, Timeframe, Tz
from schemas.openapi_words import ACCESS_TEXT, CACHED_TEXT, DESCRIPTION, OPERATION_TEXT, TAGS
from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME

Schema = dict[str, Any]
Body = type[msgspec.Struct]

INSIGHTS = "/api/v1/producer-intelligence/insights"
BEARER = "bearerAuth"

# ---- the bodies: every type an operation names, and the types they hold, become components ---------

BODIES: tuple[Body, ...] = (
    answers.Error,
    answers.WriteResult,
    answers.Health,
    answers.Readiness,
    answers.RevocationRequest,
    answers.Revocation,
    answers.RevocationList,
    answers.KafkaResetRequest,
    answers.KafkaReset,
    events.Event,
    events.EventBatch,
    catalog.CatalogArtist,
    catalog.CatalogAlbum,
    catalog.CatalogTrack,
    catalog.CatalogUpdate,
    figures.TrackAnalytics,
    figures.AlbumAnalytics,
    figures.ArtistAnalytics,
    figures.TrackChart,
    figures.AlbumChart,
    figures.ArtistChart,
    figures.TrackRealtime,
    figures.ArtistCollaborations,
    audience.TrackBreakdown,
    audience.AlbumBreakdown,
    audience.ArtistBreakdown,
    audience.TrackList,
    audience.AlbumList,
    audience.ArtistList,
    exports.ExportFormats,
    exports.TableExportRequest,
    exports.CsvExportRequest,
    exports.ReportRequest,
    exports.PdfRequest,
    *exports.ROWS,
    exports.ExportRows,
    exports.Report,
)

# What JSON Schema states and a type cannot: rules between fields (a catalog update needs one valid item
# in some list; an export names one entity at most; a CSV's breakdowns are rows), and the export bodies'
# whole examples.
BEYOND_TYPES: dict[str, Schema] = {
    "CatalogUpdate": {
        "anyOf": [
            {"required": [name], "properties": {name: {"contains": {"$ref": f"#/components/schemas/{item}"}}}}
            for name, item in (
                ("artists", "CatalogArtist"),
                ("albums", "CatalogAlbum"),
                ("tracks", "CatalogTrack"),
            )
        ]
    },
    **{
        name: ONE_FOCUS_AT_MOST | RULES_BETWEEN_FIELDS.get(name, {}) | {"examples": [example]}
        for name, example in WHOLE_EXAMPLES.items()
    },
}


@functools.cache
def schemas() -> dict[str, Schema]:
    _, generated = msgspec.json.schema_components(BODIES, ref_template="#/components/schemas/{name}")
    return {name: unwrapped(schema) | BEYOND_TYPES.get(name, {}) for name, schema in generated.items()}


def unwrapped(schema: Schema) -> Schema:
    """A body's description is its docstring, wrapped for the source: one line per paragraph here."""
    if "description" not in schema:
        return schema
    return schema | {"description": re.sub(r"(?<!\n)\n(?!\n)", " ", schema["description"])}


def ref(body: Body) -> Schema:
    return {"$ref": f"#/components/schemas/{body.__name__}"}


# ---- parameters, headers and the shared answers ----------------------------------------------------


def parameter(name: str, where: str, description: str, kind: Any, **extra: Any) -> Schema:
    """A parameter whose schema is generated from its type; `extra` adds `default` or `example`."""
    schema = msgspec.json.schema(kind) | ({"default": extra.pop("default")} if "default" in extra else {})
    schema.pop("examples", None)  # a parameter's example is its own, or its default
    return (
        {"name": name, "in": where, "required": where == "path", "description": description}
        | {"schema": schema}
        | extra
    )


def path_id(name: str, what: str, example: int) -> Schema:
    described = f"The {what}'s id, 1 to 2^63-1; anything else is answered 422."
    return parameter(name, "path", described, Id, example=example)


PARAMETERS: dict[str, Schema] = {
    "TrackId": path_id("trackId", "track", 101),
    "AlbumId": path_id("albumId", "album", 10),
    "ArtistId": path_id("artistId", "artist", 1),
    "Period": parameter(
        "period",
        "query",
        "The period the figures cover. Anything else is answered 422.",
        Period,
        default=DEFAULT_PERIOD,
    ),
    "Timeframe": parameter(
        "timeframe",
        "query",
        "The days the chart covers. Anything else is answered 422.",
        Timeframe,
        default=DEFAULT_TIMEFRAME,
    ),
    "Tz": parameter(
        "tz",
        "query",
        "The zone whose calendar days, hours, weeks and months the answer counts; an unknown zone is "
        "answered 422.",
        Tz,
        default="UTC",
    ),
    # Without examples: the document's examples are sent together, and a range given both as `period`
    # and as `from`/`to` is refused.
    "From": parameter(
        "from",
        "query",
        "With `to`, instead of `period`/`timeframe`: the first local date of the range (not before "
        "2000-01-01; a range spans at most 731 days). The previous range, for growth, is the same number "
        "of days just before it.",
        Day,
    ),
    "To": parameter(
        "to", "query", "With `from`: the last local date of the range, included, not after today.", Day
    ),
    "Interval": parameter(
        "interval",
        "query",
        "The bucket size: `hour` (ranges up to 31 days), `day`, `week` (ISO, from Monday 00:00 local) or "
        "`month`; by default hour up to 7 days, day up to 90, week beyond.",
        Annotated[str, Meta(extra_json_schema={"enum": list(INTERVALS)})],
    ),
    "IfNoneMatch": parameter(
        "If-None-Match",
        "header",
        "The `ETag` of an answer you hold: while it is still the answer, you get 304 and no body.",
        str,
    ),
    "Dimension": parameter(
        "dimension",
        "query",
        "What to group the plays by. Required.",
        Annotated[str, Meta(extra_json_schema={"enum": list(DIMENSIONS)})],
        required=True,
    ),
    "BreakdownLimit": parameter(
        "limit",
        "query",
        "How many values get a row of their own; the rest are `other`.",
        Annotated[int, Meta(ge=1, le=BREAKDOWN_LIMIT)],
        default=DEFAULT_BREAKDOWN_LIMIT,
    ),
    "Q": parameter(
        "q",
        "query",
        "Keep the items whose title or name contains this, in any case.",
        Annotated[str, Meta(max_length=256)],
    ),
    "ListLimit": parameter(
        "limit",
        "query",
        "Items per page.",
        Annotated[int, Meta(ge=1, le=LIST_LIMIT)],
        default=DEFAULT_LIST_LIMIT,
    ),
    "ArtistFilter": parameter(
        "artist_id",
        "query",
        "Keep the items of this artist: the tracks that list it, or its albums. Only what the token may"
        " read; an artist with none gives an empty page. With `album_id`: that album's tracks that list"
        " the artist.",
        Id,
    ),
    "AlbumFilter": parameter(
        "album_id",
        "query",
        "Keep the tracks of this album (that the token may read).",
        Id,
    ),
    "Cursor": parameter(
        "cursor",
        "query",
        "The `next_cursor` of the previous page (empty or left out: the first page); anything else is"
        " answered 422.",
        str,
    ),
}

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests a minute this token may make to this family of endpoints.",
    "X-RateLimit-Remaining": "Requests left in the current minute.",
    "X-RateLimit-Reset": "When the current minute ends, in unix seconds.",
}
CACHE_HEADERS = {
    "ETag": "A strong validator of this answer; send it back in `If-None-Match`.",
    "Cache-Control": "`private, max-age=N`: the answer may be kept N seconds.",
    "Age": "Seconds since the server computed this answer (never more than max-age).",
}


def headers(meanings: dict[str, str]) -> Schema:
    return {
        name: {"description": meaning, "schema": {"type": "string"}} for name, meaning in meanings.items()
    }


def answer(description: str, schema: Schema, media: str = "application/json") -> Schema:
    return {"description": description, "content": {media: {"schema": schema}}}


def error_response(
    description: str, schema: Schema | None = None, named: dict[str, str] | None = None
) -> Schema:
    response = answer(description, schema or ref(answers.Error))
    return response | ({"headers": headers(named)} if named else {})


RESPONSES: dict[str, Schema] = {
    "Unauthorized": error_response(
        "`unauthorized`: no bearer token, or one that is malformed, badly signed or expired.",
        named={"WWW-Authenticate": 'Always `Bearer realm="insights"`.'},
    ),
    "Forbidden": error_response(
        "`forbidden`: the token lacks the scope this endpoint needs, or (reads) may not read this entity."
    ),
    "NotFound": error_response("`not_found`: no artist, album or track has this id."),
    "PayloadTooLarge": error_response(
        f"`payload_too_large`: the body is larger than {MAX_BODY_BYTES // 1024 // 1024} MiB."
    ),
    "ValidationFailed": error_response(
        "`validation_failed`: the request breaks a rule; `errors` says which field and why.",
        ref(answers.Error) | {"required": ["errors"]},
    ),
    "Unavailable": error_response(
        "`unavailable`: Kafka did not take the batch; nothing of it was accepted. Retry the whole batch.",
        named={"Retry-After": "Seconds to wait before retrying."},
    ),
    "RateLimited": error_response(
        "`rate_limited`: this token used its requests of the minute, or this address failed to sign in "
        "too often. Wait `retry_after` seconds.",
        named={"Retry-After": "Seconds to wait, as `retry_after` in the body."} | RATE_LIMIT_HEADERS,
    ),
    "NotModified": {
        "description": "The answer whose `ETag` was sent in `If-None-Match` is still the answer; no body.",
        "headers": headers(CACHE_HEADERS | RATE_LIMIT_HEADERS),
    },
    "ServerError": error_response("`server_error`: something failed on the server; retrying may help."),
}
ERROR_RESPONSES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    413: "PayloadTooLarge",
    422: "ValidationFailed",
    503: "Unavailable",
}

# ---- operations: the table -----------------------------------------------------------------------


class Op(NamedTuple):
    """One operation. `answers`: status -> (body type, or media type of a text answer; its meaning); a
    type is sent in the success envelope to a token (unless it has `success` itself). `errors`: the
    statuses of the shared error answers (with 500, and 429 for a token). A 304 among the answers makes
    the operation cached (`If-None-Match`, `ETag`)."""

    method: str
    path: str
    tag: str
    id: str
    summary: str
    answers: dict[int, tuple[Any, str]]
    errors: tuple[int, ...] = ()
    scope: str | None = None
    parameters: tuple[str, ...] = ()
    body: Body | None = None
    body_text: str = ""


READ, ON, EX = "insights:read", INSIGHTS, EXPORT  # the read paths, the export paths
WRITES, READS, EXPORTS = (401, 403, 413, 422, 503), (401, 403, 404, 422), (401, 403, 404, 413, 422)
ANALYTICS, CHARTS = ("Period", "Tz", "From", "To"), ("Timeframe", "Tz", "From", "To", "Interval")
BREAKDOWN = ("Dimension", "Period", "Tz", "From", "To", "BreakdownLimit")
LISTING = ("Q", "ListLimit", "Cursor")
ACCEPTED, FIGURES, CACHED = (
    "Accepted: the valid items are durably in Kafka.",
    "The figures.",
    {304: (None, "")},
)
DOWN, BY = "A dependency is down; `checks` says which.", "breakdown by country, source or platform"

# fmt: off
OPERATIONS = (
    Op("get", "/healthz", "Health", "healthz", "Liveness", {200: (answers.Health, "Alive.")}),
    Op("get", "/readyz", "Health", "readyz", "Readiness",
       {200: (answers.Readiness, "Ready."), 503: (answers.Readiness, DOWN)}),
    Op("get", "/metrics", "Health", "metrics", "Metrics", {200: ("text/plain", "The counters.")}),
    Op("post", "/api/v1/events", "Ingest", "postEvents", "Send listening events",
       {202: (answers.WriteResult, ACCEPTED)}, WRITES, "events:write", body=events.EventBatch),
    Op("post", "/api/v1/catalog", "Ingest", "postCatalog", "Create or update artists, albums and tracks",
       {202: (answers.WriteResult, ACCEPTED)}, WRITES, "catalog:write", body=catalog.CatalogUpdate),
    Op("get", ON + "/tracks/{trackId}", "Tracks", "trackAnalytics", "Track analytics",
       {200: (figures.TrackAnalytics, FIGURES), **CACHED}, READS, READ, ("TrackId", *ANALYTICS)),
    Op("get", ON + "/tracks/{trackId}/charts", "Tracks", "trackChart", "Track chart",
       {200: (figures.TrackChart, FIGURES), **CACHED}, READS, READ, ("TrackId", *CHARTS)),
    Op("get", ON + "/tracks/{trackId}/realtime", "Tracks", "trackRealtime", "Track realtime",
       {200: (figures.TrackRealtime, FIGURES), **CACHED}, READS, READ, ("TrackId",)),
    Op("get", ON + "/albums/{albumId}", "Albums", "albumAnalytics", "Album analytics",
       {200: (figures.AlbumAnalytics, FIGURES), **CACHED}, READS, READ, ("AlbumId", *ANALYTICS)),
    Op("get", ON + "/albums/{albumId}/charts", "Albums", "albumChart", "Album chart",
       {200: (figures.AlbumChart, FIGURES), **CACHED}, READS, READ, ("AlbumId", *CHARTS)),
    Op("get", ON + "/artists/{artistId}", "Artists", "artistAnalytics", "Artist analytics",
       {200: (figures.ArtistAnalytics, FIGURES), **CACHED}, READS, READ, ("ArtistId", *ANALYTICS)),
    Op("get", ON + "/artists/{artistId}/charts", "Artists", "artistChart", "Artist chart",
       {200: (figures.ArtistChart, FIGURES), **CACHED}, READS, READ, ("ArtistId", *CHARTS)),
    Op("get", ON + "/artists/{artistId}/collaborations", "Artists", "artistCollaborations",
       "Artist collaborations", {200: (figures.ArtistCollaborations, FIGURES), **CACHED}, READS, READ,
       ("ArtistId",)),
    Op("get", ON + "/tracks/{trackId}/breakdown", "Tracks", "trackBreakdown", f"Track {BY}",
       {200: (audience.TrackBreakdown, FIGURES), **CACHED}, READS, READ, ("TrackId", *BREAKDOWN)),
    Op("get", ON + "/albums/{albumId}/breakdown", "Albums", "albumBreakdown", f"Album {BY}",
       {200: (audience.AlbumBreakdown, FIGURES), **CACHED}, READS, READ, ("AlbumId", *BREAKDOWN)),
    Op("get", ON + "/artists/{artistId}/breakdown", "Artists", "artistBreakdown", f"Artist {BY}",
       {200: (audience.ArtistBreakdown, FIGURES), **CACHED}, READS, READ, ("ArtistId", *BREAKDOWN)),
    Op("get", ON + "/tracks", "Tracks", "listTracks", "List your tracks",
       {200: (audience.TrackList, "A page.")}, (401, 403, 422), READ,
       (*LISTING, "ArtistFilter", "AlbumFilter")),
    Op("get", ON + "/albums", "Albums", "listAlbums", "List your albums",
       {200: (audience.AlbumList, "A page.")}, (401, 403, 422), READ, (*LISTING, "ArtistFilter")),
    Op("get", ON + "/artists", "Artists", "listArtists", "List your artists",
       {200: (audience.ArtistList, "A page.")}, (401, 403, 422), READ, LISTING),
    Op("get", EX + "/formats", "Exports", "exportFormats", "Export formats",
       {200: (exports.ExportFormats, "The formats.")}, (401, 403), READ),
    Op("post", EX + "/csv", "Exports", "exportCsv", "Export rows as CSV",
       {200: ("text/csv", "The CSV file.")}, EXPORTS, READ, body=exports.CsvExportRequest),
    Op("post", EX + "/json", "Exports", "exportJson", "Export rows as JSON",
       {200: (exports.ExportRows, "The rows.")}, EXPORTS, READ, body=exports.TableExportRequest),
    Op("post", EX + "/report", "Exports", "exportReport", "Comprehensive JSON report",
       {200: (exports.Report, "The report.")}, EXPORTS, READ, body=exports.ReportRequest),
    Op("post", EX + "/pdf", "Exports", "exportPdf", "PDF report",
       {200: ("application/pdf", "The PDF document.")}, EXPORTS, READ, body=exports.PdfRequest),
    Op("post", "/api/v1/tokens/revocations", "Tokens", "revokeToken", "Revoke a token",
       {201: (answers.Revocation, "Revoked.")}, WRITES, "admin", body=answers.RevocationRequest,
       body_text="The token's id and, if you like, why."),
    Op("get", "/api/v1/tokens/revocations", "Tokens", "listRevocations", "List revoked tokens",
       {200: (answers.RevocationList, "The revoked tokens.")}, (401, 403, 503), "admin"),
    Op("post", "/api/v1/kafka/reset", "Tokens", "acceptKafkaReset", "Accept a Kafka reset",
       {200: (answers.KafkaReset, "Done.")}, (401, 403, 404, 413, 422, 503), "admin",
       body=answers.KafkaResetRequest, body_text="Why, if you like."),
    Op("get", "/openapi.json", "Docs", "openapiJson", "OpenAPI document", {200: (dict, "The document.")}),
    Op("get", "/docs", "Docs", "docsPage", "Documentation page", {200: ("text/html", "The page.")}),
)
# fmt: on

# ---- operations: from a row of the table to OpenAPI --------------------------------------------------

DISPOSITION = {
    "Content-Disposition": {
        "description": "`attachment` with a file name: `insights-<type>-<period>-<YYYY-MM-DD>.<ext>` "
        "(`<type>-breakdowns` for that layout).",
        "schema": {"type": "string"},
    }
}
FILES = ("exportCsv", "exportJson", "exportPdf")  # sent as an attachment


def component(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def response(op: Op, status: int, kind: Any, description: str) -> Schema:
    if status == 304:
        return component("responses", "NotModified")
    if isinstance(kind, str):  # a text answer: CSV, PDF, HTML, metrics
        found = answer(description, {"type": "string"}, kind)
    elif op.scope is None or "success" in kind.__struct_fields__:
        found = answer(
            description, ref(kind) if hasattr(kind, "__struct_fields__") else msgspec.json.schema(kind)
        )
    else:
        found = answer(description, envelope(kind))
    named: Schema = headers(RATE_LIMIT_HEADERS) if op.scope is not None else {}
    if status == 200 and 304 in op.answers:
        named |= headers(CACHE_HEADERS)
    if op.id in FILES:
        named |= DISPOSITION
    if status == 503:
        named |= {
            "Retry-After": {
                "description": "Seconds to wait before asking again.",
                "schema": {"type": "string"},
            }
        }
    return found | ({"headers": named} if named else {})


def envelope(data: Body) -> Schema:
    return {
        "type": "object",
        "required": ["success", "data"],
        "properties": {
            "success": {"const": True, "description": "Always true on success."},
            "data": ref(data),
        },
        "additionalProperties": False,
    }


def request_body(op: Op, body: Body) -> Schema:
    required, text = True, op.body_text or f"At most {MAX_BODY_BYTES // 1024 // 1024} MiB of JSON."
    if op.tag == "Exports":  # a body whose every field has a default may be left out: no body is `{}`
        required = bool(schemas()[body.__name__].get("required"))
        text = f"JSON, at most {MAX_EXPORT_BODY_BYTES // 1024} KiB; an empty body is `{{}}`" + (
            "." if required else ", and so is no body at all."
        )
    return {"required": required, "description": text, "content": {"application/json": {"schema": ref(body)}}}


def operation(op: Op) -> Schema:
    cached = 304 in op.answers
    description = OPERATION_TEXT[op.id] + ("\n\n" + CACHED_TEXT if cached else "")
    description += "\n\n" + ACCESS_TEXT if op.tag == "Exports" else ""
    description += f"\n\nNeeds a token with the scope `{op.scope}` (or `admin`)." if op.scope else ""
    found: Schema = {
        "tags": [op.tag],
        "operationId": op.id,
        "summary": op.summary,
        "description": description,
        "security": [{BEARER: [op.scope]}] if op.scope else [],
    }
    parameters = (*op.parameters, "IfNoneMatch") if cached else op.parameters
    if parameters:
        found["parameters"] = [component("parameters", name) for name in parameters]
    if op.body is not None:
        found["requestBody"] = request_body(op, op.body)
    responses = {str(status): response(op, status, *said) for status, said in op.answers.items()}
    # The shared error answers, and 500, which any endpoint with errors may answer; 429 to a token.
    responses |= {str(status): component("responses", ERROR_RESPONSES[status]) for status in op.errors}
    responses |= {"500": component("responses", "ServerError")} if op.errors else {}
    if op.tag == "Exports" and op.body is not None:
        responses["413"] = error_response(
            f"`payload_too_large`: the body is larger than {MAX_EXPORT_BODY_BYTES // 1024} KiB."
        )
    found["responses"] = responses | ({"429": component("responses", "RateLimited")} if op.scope else {})
    return found


def paths() -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for op in OPERATIONS:
        found.setdefault(op.path, {})[op.method] = operation(op)
    return found


def dated(node: Any, day: date) -> Any:
    """`node` with every example written with TODAY dated `day`."""
    if isinstance(node, dict):
        return {
            key: [dated_example(v, day) for v in value] if key == "examples" else dated(value, day)
            for key, value in node.items()
        }
    return [dated(item, day) for item in node] if isinstance(node, list) else node


def dated_example(value: Any, day: date) -> Any:
    return (
        day.isoformat() + value.removeprefix(TODAY)
        if isinstance(value, str) and value.startswith(TODAY)
        else value
    )


def openapi_document(server_url: str | None = None, today: date | None = None) -> dict[str, Any]:
    """The whole document; `server_url` (e.g. http://127.0.0.1:8000) when it is known, else relative.

    Examples of dates are `today` (the current UTC day by default): the API refuses events older than
    400 days and ranges older than 731 days, so a fixed date would expire."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Insights API", "version": "1", "description": DESCRIPTION},
        "tags": TAGS,
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "parameters": PARAMETERS,
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
    # Built anew (dated copies every dict and list): callers may change theirs, the module's parts stay.
    built: dict[str, Any] = dated(document, today or datetime.now(UTC).date())
    return built
