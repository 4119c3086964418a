"""The OpenAPI 3.1 description of the HTTP contract: the operations are written here, the schemas of
their bodies generated from the types that state them (msgspec Structs in schemas/).

Served by api/pages/docs.py as /openapi.json and rendered as /docs.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from schemas import answers, audience, catalog, events, exports, figures
from schemas.answers import ERROR_CODES
from schemas.audience import (
    BREAKDOWN_LIMIT,
    DEFAULT_BREAKDOWN_LIMIT,
    DEFAULT_LIST_LIMIT,
    DIMENSIONS,
    LIST_LIMIT,
)
from schemas.events import MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH, PLATFORMS, SOURCES
from schemas.exports import EXPORT, MAX_EXPORT_BODY_BYTES, ONE_FOCUS_AT_MOST
from schemas.fields import INTERVALS, PERIOD_TEXT, TIMEFRAME_TEXT, TODAY, Day, Id, Period, Timeframe, Tz
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
    exports.ReportRequest,
    exports.PdfRequest,
    *exports.ROWS,
    exports.ExportRows,
    exports.Report,
)

# Rules between fields, which JSON Schema states and a type cannot: a catalog update needs one valid
# item in some list; an export names one entity at most.
BETWEEN_FIELDS: dict[str, Schema] = {
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
    **{name: ONE_FOCUS_AT_MOST for name in ("TableExportRequest", "ReportRequest", "PdfRequest")},
}


@functools.cache
def schemas() -> dict[str, Schema]:
    _, generated = msgspec.json.schema_components(BODIES, ref_template="#/components/schemas/{name}")
    return {name: unwrapped(schema) | BETWEEN_FIELDS.get(name, {}) for name, schema in generated.items()}


def unwrapped(schema: Schema) -> Schema:
    """A body's description is its docstring, wrapped for the source: one line per paragraph here."""
    if "description" not in schema:
        return schema
    return schema | {"description": re.sub(r"(?<!\n)\n(?!\n)", " ", schema["description"])}


def ref(body: Body) -> Schema:
    return {"$ref": f"#/components/schemas/{body.__name__}"}


# ---- words -------------------------------------------------------------------------------------------

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

BREAKDOWN_TEXT = (
    "`play` events in the range (any zone, like the analytics) grouped by the listener's country, "
    "where the play came from (`source`: " + ", ".join(SOURCES) + ") or what it played on "
    "(`platform`: " + ", ".join(PLATFORMS) + "). `rows`: up to `limit` values, most plays first, then "
    "value; listeners are distinct per row. `share`: the row's plays / every play in the range x 100, "
    "1 decimal. `other`: the values past `limit` together (listeners distinct across them). `unknown`: "
    "plays that did not say."
)
LISTING_TEXT = (
    "What the token may read, ordered by id, `limit` at a time: follow `next_cursor` (null on the last "
    "page) to walk every item once. `q` keeps the items whose {} contains it, in any case."
)
ACCESS_TEXT = (
    "An export holds exactly what the token may read: `admin` reads everything; otherwise the artists "
    "the token lists, the albums of those artists, and the tracks that list one of them."
)

# ---- parameters, headers and the shared answers ----------------------------------------------------


def parameter(name: str, where: str, description: str, kind: Any, **extra: Any) -> Schema:
    """A parameter whose schema is generated from its type; `extra` adds `default` or `example`."""
    schema = msgspec.json.schema(kind) | ({"default": extra.pop("default")} if "default" in extra else {})
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
    429: "RateLimited",
    503: "Unavailable",
    500: "ServerError",
}

# ---- operations ----------------------------------------------------------------------------------


def component(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def errors(*statuses: int) -> Schema:
    """The shared error responses for these statuses, and 500, which any endpoint may answer."""
    return {str(status): component("responses", ERROR_RESPONSES[status]) for status in (*statuses, 500)}


def success(status: str, data: Body, description: str) -> Schema:
    envelope = {
        "type": "object",
        "required": ["success", "data"],
        "properties": {
            "success": {"const": True, "description": "Always true on success."},
            "data": ref(data),
        },
        "additionalProperties": False,
    }
    return {status: answer(description, envelope)}


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


def json_body(body: Body, description: str, required: bool = True) -> Schema:
    return {
        "required": required,
        "description": description,
        "content": {"application/json": {"schema": ref(body)}},
    }


def write(operation_id: str, summary: str, description: str, body: Body, scope: str) -> Schema:
    return operation(
        "Ingest",
        operation_id,
        summary,
        description,
        success("202", answers.WriteResult, "Accepted: the valid items are durably in Kafka.")
        | errors(401, 403, 413, 422, 503),
        scope=scope,
        body=json_body(body, f"At most {MAX_BODY_BYTES // 1024 // 1024} MiB of JSON."),
    )


def read(
    tag: str, operation_id: str, summary: str, description: str, data: Body, parameters: tuple[str, ...]
) -> Schema:
    figures_answer = success("200", data, "The figures.")
    figures_answer["200"]["headers"] = headers(CACHE_HEADERS)
    return operation(
        tag,
        operation_id,
        summary,
        description + "\n\nCached: send the `ETag` back in `If-None-Match` to get 304 while it holds.",
        figures_answer | {"304": component("responses", "NotModified")} | errors(401, 403, 404, 422),
        scope="insights:read",
        parameters=(*parameters, "IfNoneMatch"),
    )


def public(tag: str, operation_id: str, summary: str, description: str, responses: Schema) -> Schema:
    return {"get": operation(tag, operation_id, summary, description, responses, scope=None)}


def export(operation_id: str, summary: str, description: str, body: Body | None, responses: Schema) -> Schema:
    request = None
    refusals = errors(401, 403)
    if body is not None:
        # A body whose every field has a default may be left out: no body is `{}`.
        optional = not schemas()[body.__name__].get("required")
        request = json_body(
            body,
            f"JSON, at most {MAX_EXPORT_BODY_BYTES // 1024} KiB; an empty body is `{{}}`"
            + (", and so is no body at all." if optional else "."),
            required=not optional,
        )
        # A body may name the entity on screen (artist_id, album_id, track_id): unknown, it is 404.
        refusals = errors(401, 403, 404, 413, 422)
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
        "description": "`attachment` with a file name: `insights-<type>-<period>-<YYYY-MM-DD>.<ext>`.",
        "schema": {"type": "string"},
    }
}


def file_answer(description: str, media: str) -> Schema:
    return {"200": answer(description, {"type": "string"}, media) | {"headers": DISPOSITION}}


ANALYTICS = ("Period", "Tz", "From", "To")
CHARTS = ("Timeframe", "Tz", "From", "To", "Interval")
BREAKDOWN = ("Dimension", "Period", "Tz", "From", "To", "BreakdownLimit")
OVER = "over all the {}'s tracks; listeners are distinct across the tracks, never summed.\n\n"
OWNERS = (
    ("Tracks", "track", "TrackId", figures.TrackAnalytics, figures.TrackChart, audience.TrackBreakdown),
    ("Albums", "album", "AlbumId", figures.AlbumAnalytics, figures.AlbumChart, audience.AlbumBreakdown),
    ("Artists", "artist", "ArtistId", figures.ArtistAnalytics, figures.ArtistChart, audience.ArtistBreakdown),
)
ANALYTICS_TEXT = {
    "track": METRICS_TEXT,
    "album": "The track figures " + OVER.format("album") + METRICS_TEXT + "\n\n`tracks`: every track of the "
    "album with its period plays and listeners, most played first.",
    "artist": "The track figures over every track that lists the artist; listeners are distinct across "
    "the tracks, never summed.\n\n" + METRICS_TEXT + "\n\n`top_tracks`: up to 10 of the artist's tracks, "
    "most played in the period first.",
}
CHART_TEXTS = {
    "track": CHART_TEXT,
    "album": "The track chart " + OVER.format("album") + CHART_TEXT,
    "artist": "The track chart over every track that lists the artist.\n\n" + CHART_TEXT,
}
# The answers only a track (realtime) or an artist (collaborations) has.
LIVE: dict[str, tuple[str, str, str, str, Body]] = {
    "track": (
        "/realtime",
        "trackRealtime",
        "Track realtime",
        "The last hour by minute. `active_listeners`: distinct listeners with any `play` or `heartbeat` in "
        "the last 5 minutes; `plays_last_5m` / `plays_last_60m` by `occurred_at`; `series`: 60 one-minute "
        "buckets ending with the current minute.",
        figures.TrackRealtime,
    ),
    "artist": (
        "/collaborations",
        "artistCollaborations",
        "Artist collaborations",
        "`total_collaborations`: tracks the artist shares with at least one other artist. "
        "`top_collaborators`: up to 10 artists by shared tracks, then plays. "
        "`collaboration_tracks`: every shared track with its all-time plays, most played first.",
        figures.ArtistCollaborations,
    ),
}
LISTINGS = (
    ("Tracks", "tracks", "title", audience.TrackList),
    ("Albums", "albums", "title", audience.AlbumList),
    ("Artists", "artists", "name", audience.ArtistList),
)


def read_paths() -> dict[str, Schema]:
    figure_paths: dict[str, Schema] = {}
    breakdown_paths: dict[str, Schema] = {}
    for tag, owner, parameter_name, analytics, chart, breakdown in OWNERS:
        base, title = f"{INSIGHTS}/{owner}s/{{{owner}Id}}", owner.capitalize()
        figure_paths[base] = {
            "get": read(
                tag,
                f"{owner}Analytics",
                f"{title} analytics",
                ANALYTICS_TEXT[owner],
                analytics,
                (parameter_name, *ANALYTICS),
            )
        }
        figure_paths[base + "/charts"] = {
            "get": read(
                tag, f"{owner}Chart", f"{title} chart", CHART_TEXTS[owner], chart, (parameter_name, *CHARTS)
            )
        }
        if owner in LIVE:
            figure_paths[base + LIVE[owner][0]] = {"get": read(tag, *LIVE[owner][1:], (parameter_name,))}
        over = "" if owner == "track" else f" Over all the {owner}'s tracks; listeners distinct across them."
        breakdown_paths[base + "/breakdown"] = {
            "get": read(
                tag,
                f"{owner}Breakdown",
                f"{title} breakdown by country, source or platform",
                BREAKDOWN_TEXT + over,
                breakdown,
                (parameter_name, *BREAKDOWN),
            )
        }
    listing_paths = {
        f"{INSIGHTS}/{kind}": {
            "get": operation(
                tag,
                f"list{kind.capitalize()}",
                f"List your {kind}",
                LISTING_TEXT.format(text),
                success("200", listing, "A page.") | errors(401, 403, 422),
                scope="insights:read",
                parameters=("Q", "ListLimit", "Cursor"),
            )
        }
        for tag, kind, text, listing in LISTINGS
    }
    return figure_paths | breakdown_paths | listing_paths


def paths() -> dict[str, Schema]:
    retry_after = {"description": "Seconds to wait before asking again.", "schema": {"type": "string"}}
    return {
        "/healthz": public(
            "Health",
            "healthz",
            "Liveness",
            "Answers 200 while the process serves requests; checks nothing else.",
            {"200": answer("Alive.", ref(answers.Health))},
        ),
        "/readyz": public(
            "Health",
            "readyz",
            "Readiness",
            "Answers 200 when both Kafka and ClickHouse answer a real round trip, else 503.",
            {
                "200": answer("Ready.", ref(answers.Readiness)),
                "503": answer("A dependency is down; `checks` says which.", ref(answers.Readiness))
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
        "/api/v1/events": {
            "post": write(
                "postEvents",
                "Send listening events",
                f"1 to {MAX_EVENTS_PER_BATCH} events per request. Each valid event is written to Kafka, "
                "each invalid one reported with its index in `errors`; if none is valid the answer is "
                "422. If Kafka is down the answer is 503 and nothing of the batch is accepted: retry it "
                "whole (repeated `event_id`s count once).",
                events.EventBatch,
                "events:write",
            )
        },
        "/api/v1/catalog": {
            "post": write(
                "postCatalog",
                "Create or update artists, albums and tracks",
                "Upserts: the newest write of an id wins. Invalid items are reported with their list "
                "position (`field` like `tracks[0].title`); if none is valid the answer is 422.",
                catalog.CatalogUpdate,
                "catalog:write",
            )
        },
        **read_paths(),
        EXPORT + "/formats": {
            "get": export(
                "exportFormats",
                "Export formats",
                "The formats the export endpoints produce.",
                None,
                {"200": answer("The formats.", ref(exports.ExportFormats))},
            )
        },
        EXPORT + "/csv": {
            "post": export(
                "exportCsv",
                "Export rows as CSV",
                "One row per readable entity of `type`, most played in the period first (then by id): "
                "`<type>_id`, `title` (`name` for artists), what tells it apart (a track's `album_id`, "
                "`album`, `artist_ids`, `artists`; an album's `artist_id`, `artist`), `plays`, "
                "`plays_total`, `listeners`, `likes`, `reposts`, and the period's `from` and `to` dates; "
                "the same figures as the single-entity endpoints. `artist_id`, `album_id` or `track_id` "
                "in the body narrows it to what belongs to that entity (the view on screen). UTF-8, a "
                "header row, CRLF line ends, streamed. A text cell "
                "starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so a "
                "spreadsheet shows it instead of running it.",
                exports.TableExportRequest,
                file_answer("The CSV file.", "text/csv"),
            )
        },
        EXPORT + "/json": {
            "post": export(
                "exportJson",
                "Export rows as JSON",
                "The rows of the CSV export as `{success, data: {type, period, from, to, rows}}`, "
                "streamed; a track's `artist_ids` and `artists` are arrays.",
                exports.TableExportRequest,
                {"200": success("200", exports.ExportRows, "The rows.")["200"] | {"headers": DISPOSITION}},
            )
        },
        EXPORT + "/report": {
            "post": export(
                "exportReport",
                "Comprehensive JSON report",
                "Totals and growth per artist, album and track, rankings, collaborations, and the chart "
                "series when asked; every figure as the single-entity endpoints answer it.",
                exports.ReportRequest,
                success("200", exports.Report, "The report."),
            )
        },
        EXPORT + "/pdf": {
            "post": export(
                "exportPdf",
                "PDF report",
                "The report as a PDF: title page (artist, period, generated-at), summary figures with "
                "growth, a plays-and-listeners chart over the period, a top-tracks chart, tables per album "
                "and track, and collaborations. The file is named `insights-report-<artist>-<period>-"
                "<YYYY-MM-DD>.pdf`.",
                exports.PdfRequest,
                file_answer("The PDF document.", "application/pdf"),
            )
        },
        "/api/v1/tokens/revocations": {
            "post": operation(
                "Tokens",
                "revokeToken",
                "Revoke a token",
                "Every API process refuses the token within about a second (each keeps the revoked ids "
                "in memory and reloads them every second). Revoking twice is harmless.",
                success("201", answers.Revocation, "Revoked.") | errors(401, 403, 413, 422, 503),
                scope="admin",
                body=json_body(answers.RevocationRequest, "The token's id and, if you like, why."),
            ),
            "get": operation(
                "Tokens",
                "listRevocations",
                "List revoked tokens",
                "Every revoked token, the latest first.",
                success("200", answers.RevocationList, "The revoked tokens.") | errors(401, 403, 503),
                scope="admin",
            ),
        },
        "/api/v1/kafka/reset": {
            "post": operation(
                "Tokens",
                "acceptKafkaReset",
                "Accept a Kafka reset",
                "When Kafka's log was lost or a topic recreated, ingest answers 503 and the worker writes "
                "nothing until an operator says the reset was deliberate: this starts a new epoch for the "
                "Kafka now answering, and counting resumes (`insights kafka accept-reset` calls it). "
                "Harmless when Kafka matches.",
                success("200", answers.KafkaReset, "Done.") | errors(401, 403, 404, 413, 422, 503),
                scope="admin",
                body=json_body(answers.KafkaResetRequest, "Why, if you like."),
            ),
        },
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
