"""The reusable parts of the OpenAPI document (schemas/openapi.py): body schemas, parameters, errors.

Plain data built from the contract's own constants, so a changed limit changes the document with it.
"""

from __future__ import annotations

from typing import Any

from schemas.catalog import MAX_ARTISTS_PER_TRACK, MAX_ITEMS_PER_LIST
from schemas.events import EVENT_TYPES, MAX_AGE, MAX_EVENTS_PER_BATCH, MAX_FUTURE, PLATFORMS, SOURCES
from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME, PERIOD_DAYS, TIMEFRAME_DAYS, TIMEFRAME_INTERVAL

Schema = dict[str, Any]

MAX_ID = 2**63 - 1
MAX_NAME_CHARS = 256
MAX_BODY_BYTES = 1024 * 1024
REALTIME_MINUTES = 60
TOP_TRACKS = 10
TOP_COLLABORATORS = 10

# Status -> error code of the API's errors (docs/api.md; 405 added); api/http/errors.py renders errors
# with it.
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


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def count(description: str, example: int = 0) -> Schema:
    return {"type": "integer", "minimum": 0, "description": description, "examples": [example]}


def text(description: str, example: str, min_length: int = 1, max_length: int | None = None) -> Schema:
    schema: Schema = {"type": "string", "minLength": min_length, "description": description}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema | {"examples": [example]}


def array(items: Schema, description: str, **limits: int) -> Schema:
    return {"type": "array", "items": items, "description": description} | limits


def checked_items(item: str, description: str, **limits: int) -> Schema:
    """A list of a request whose items are checked one by one: a valid `item` is taken, anything else is
    reported by its index without failing the request (which needs at least one valid item)."""
    anything = {"description": "Anything else: reported by its index in the answer's `errors`."}
    return {"type": "array", "items": {"anyOf": [ref(item), anything]}, "description": description} | limits


def obj(description: str, properties: dict[str, Schema]) -> Schema:
    """A response object: every field listed, none other sent (so none other allowed)."""
    return {
        "type": "object",
        "description": description,
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def optional(schema: Schema, **properties: Schema) -> Schema:
    """`schema` with more properties that an answer carries only sometimes (not required)."""
    return schema | {"properties": schema["properties"] | properties}


def entity_id(what: str, example: int) -> Schema:
    return ref("Id") | {"description": what, "examples": [example]}


PERIOD_TEXT = (
    "The last N UTC calendar days including today: from 00:00Z of (today - N + 1) until now, with "
    + ", ".join(f"`{name}` (N = {days})" for name, days in PERIOD_DAYS.items())
    + ". The previous period, used for growth, is the N days just before it."
)
TIMEFRAME_TEXT = (
    "The same N days as `period`: "
    + ", ".join(
        f"`{name}` (N = {days}, one bucket per {TIMEFRAME_INTERVAL[name]})"
        for name, days in TIMEFRAME_DAYS.items()
    )
    + " (weeks are ISO weeks, starting Monday)."
)

# ---- shared values ----------------------------------------------------------------------------------

LOCAL_DATE: Schema = {
    "type": "string",
    "format": "date",
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "description": "A calendar date of `tz`, YYYY-MM-DD.",
}

SHARED: dict[str, Schema] = {
    "Id": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_ID,
        "description": "An artist, album or track id: an integer from 1 to 2^63-1.",
        "examples": [101],
    },
    "Timestamp": {
        "type": "string",
        "format": "date-time",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
        "description": "An RFC 3339 UTC instant to the second, ending in `Z`.",
        "examples": ["2025-06-01T00:00:00Z"],
    },
    "Period": {
        "type": "string",
        "enum": list(PERIOD_DAYS),
        "description": PERIOD_TEXT,
        "examples": [DEFAULT_PERIOD],
    },
    "Timeframe": {
        "type": "string",
        "enum": list(TIMEFRAME_DAYS),
        "description": TIMEFRAME_TEXT,
        "examples": [DEFAULT_TIMEFRAME],
    },
    "LocalTimestamp": {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$",
        "description": "An RFC 3339 instant to the second with the zone's offset at that instant "
        "(`2026-11-05T00:00:00+05:45`); `Z` in UTC.",
        "examples": ["2026-11-05T00:00:00+05:45"],
    },
    "Tz": {
        "type": "string",
        "description": "An IANA time zone name (`UTC`, `Europe/Berlin`, `Asia/Kolkata`, `Asia/Kathmandu`, "
        "`America/St_Johns`). A day is a calendar day of this zone: 23, 24 or 25 hours.",
        "examples": ["Asia/Kolkata"],
    },
    # No fixed example: openapi_document adds today's, which is always a date a range may name.
    "LocalDate": dict(LOCAL_DATE),  # a dict of its own: its example is set alone
    "Estimates": {
        "type": "array",
        "items": {"type": "string"},
        "description": "The figures of this answer that are approximations (for example "
        "`listeners.unique` past 102,000 listeners, read from sketches); empty when all are exact.",
        "examples": [[]],
    },
    "CompleteThrough": {
        "type": ["string", "null"],
        "format": "date-time",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        "description": "Every event accepted with a 202 before this instant (RFC 3339, UTC, to the "
        "millisecond) is counted in this answer: a watermark of what the workers have stored, not a "
        "guess. While the pipeline is idle it trails now by a few seconds; while the workers are behind "
        "or stopped it stays back. Events accepted later may be counted too. null while the server does "
        "not know yet (it has just started and the workers have not caught up with Kafka since).",
        "examples": ["2026-11-05T14:03:27.512Z"],
    },
    "FieldError": {
        "type": "object",
        "description": "What is wrong with one field of the request, or with the item at `index` of a list.",
        "required": ["field", "message"],
        "properties": {
            "field": text("The field at fault, e.g. `track_id` or `tracks[0].title`.", "track_id", 0),
            "message": text("A sentence saying what is wrong.", "Expected int, got str."),
            "index": count("The position of the rejected item in its list (sent for per-item errors)."),
        },
        "additionalProperties": False,
    },
    "Error": {
        "type": "object",
        "description": "Every error answer has this shape; no stack trace ever reaches a client.",
        "required": ["success", "message", "error"],
        "properties": {
            "success": {"const": False, "description": "Always false on an error."},
            "message": text("A sentence for a human.", "Track 999 is not known."),
            "error": {
                "type": "string",
                "enum": list(dict.fromkeys(ERROR_CODES.values())),
                "description": "The machine-readable code; one per HTTP status.",
                "examples": ["not_found"],
            },
            "errors": array(ref("FieldError"), "Sent with `validation_failed`: one entry per problem."),
            "retry_after": {
                "type": "integer",
                "minimum": 1,
                "description": "With `rate_limited` and `unavailable`: seconds to wait, as `Retry-After`.",
                "examples": [12],
            },
        },
        "additionalProperties": False,
    },
}

# ---- write side: events and catalog ----------------------------------------------------------------

CATALOG_LISTS = (("artists", "CatalogArtist"), ("albums", "CatalogAlbum"), ("tracks", "CatalogTrack"))

WRITE: dict[str, Schema] = {
    "Event": {
        "type": "object",
        "description": "One listening event. Any other field is ignored, and named in the answer's "
        "`warnings`.",
        "required": ["event_id", "type", "track_id", "listener_id", "occurred_at"],
        "properties": {
            "event_id": text(
                "The dedupe key: a repeat of an id within 7 days (at least) of its first arrival is "
                "not counted again.",
                "3f9c2a1e-0001",
                1,
                64,
            ),
            "type": {
                "type": "string",
                "enum": list(EVENT_TYPES),
                "description": "`heartbeat` counts only toward realtime `active_listeners`.",
                "examples": ["play"],
            },
            "track_id": entity_id("The track listened to.", 101),
            "listener_id": text("A user id or an anonymous device id.", "fan-42", 1, 128),
            "occurred_at": {
                "type": "string",
                "format": "date-time",
                "description": f"RFC 3339 with an offset; at most {MAX_FUTURE.seconds // 60} minutes in the "
                f"future and at most {MAX_AGE.days} days old.",
                # no fixed example: openapi_document adds one of today, which never gets too old
            },
            "listened_ms": {
                "type": ["integer", "null"],
                "minimum": 0,
                "maximum": MAX_ID,
                "description": "Optional: how long the listener listened, in milliseconds.",
                "examples": [183000],
            },
            "country": {
                "type": ["string", "null"],
                "minLength": 2,
                "maxLength": 2,
                "pattern": "^[A-Za-z]{2}$",
                "description": "Optional: the listener's country, the ISO 3166-1 alpha-2 code of an assigned "
                "country in either case (stored upper case); any other two letters reject the event.",
                "examples": ["DE"],
            },
            "source": {
                "anyOf": [{"type": "string", "enum": list(SOURCES)}, {"type": "null"}],
                "description": "Optional: where the play came from.",
                "examples": ["playlist"],
            },
            "platform": {
                "anyOf": [{"type": "string", "enum": list(PLATFORMS)}, {"type": "null"}],
                "description": "Optional: what it played on.",
                "examples": ["ios"],
            },
        },
    },
    "EventBatch": {
        "type": "object",
        "description": "A batch is taken when at least one of its events is valid: the valid ones are "
        "written, every other item is reported by its index in the answer's `errors`.",
        "required": ["events"],
        "properties": {
            "events": checked_items("Event", "The events.", minItems=1, maxItems=MAX_EVENTS_PER_BATCH)
            | {"contains": ref("Event")},
        },
    },
    "CatalogArtist": {
        "type": "object",
        "required": ["artist_id", "name"],
        "properties": {
            "artist_id": entity_id("The artist.", 1),
            "name": text("The artist's name.", "Ana Vale", 1, MAX_NAME_CHARS),
        },
    },
    "CatalogAlbum": {
        "type": "object",
        "required": ["album_id", "title", "artist_id"],
        "properties": {
            "album_id": entity_id("The album.", 10),
            "title": text("The album's title.", "First Light", 1, MAX_NAME_CHARS),
            "artist_id": entity_id("The artist who owns the album.", 1),
        },
    },
    "CatalogTrack": {
        "type": "object",
        "required": ["track_id", "title", "artist_ids"],
        "properties": {
            "track_id": entity_id("The track.", 101),
            "title": text("The track's title.", "Dawn", 1, MAX_NAME_CHARS),
            "album_id": {
                "anyOf": [ref("Id"), {"type": "null"}],
                "description": "The album the track is on, or null for a single.",
                "examples": [10],
            },
            "artist_ids": array(
                ref("Id"),
                "The primary artist first, then the collaborators; no artist twice.",
                minItems=1,
                maxItems=MAX_ARTISTS_PER_TRACK,
            )
            | {"uniqueItems": True, "examples": [[1, 2]]},
        },
    },
    "CatalogUpdate": {
        "type": "object",
        "description": "Any of the three lists. Items are upserts: the newest write of an id wins. An "
        "update is taken when at least one item of any list is valid: the valid ones are written, every "
        "other item is reported in the answer's `errors`.",
        "properties": {
            name: checked_items(
                item, f"{name.capitalize()} to create or update.", maxItems=MAX_ITEMS_PER_LIST
            )
            for name, item in CATALOG_LISTS
        },
        "anyOf": [
            {"required": [name], "properties": {name: {"contains": ref(item)}}}
            for name, item in CATALOG_LISTS
        ],
    },
    "WriteResult": optional(
        obj(
            "Valid items were durably written to Kafka (acks=all); invalid ones are reported by index.",
            {
                "accepted": count("Items written.", 2),
                "rejected": count("Items refused; each has an entry in `errors`.", 1),
                "errors": array(
                    ref("FieldError") | {"required": ["index"]},
                    "One entry per refused item, in request order.",
                ),
            },
        ),
        warnings=array(
            ref("FieldWarning"),
            "Events only, and only when there is one: each field of an event that is not an event field, "
            "ignored (a misspelt `contry` shows here).",
        ),
    ),
    "FieldWarning": obj(
        "A field of an event that was ignored.",
        {
            "index": count("The position of the event in `events`."),
            "field": text("The field's name, as sent (JSON allows an empty one).", "contry", 0),
            "message": text("A sentence saying what happened to it.", "Unknown field 'contry' is ignored."),
        },
    ),
}

# ---- read side: analytics, charts, realtime, collaborations ------------------------------------------

FIGURES: dict[str, Schema] = {
    "Plays": obj(
        "`play` events; a duplicate `event_id` counts once.",
        {
            "total": count("Every `play` event ever.", 1520),
            "period": count("`play` events whose `occurred_at` is in the period.", 240),
        },
    ),
    "Listeners": obj(
        "Distinct `listener_id`s of `play` events. Exact up to 100,000; a count that has once passed "
        "102,000 for the same tracks and days may then be an estimate within 1 % (sketches, about 0.3 % "
        "standard error). For an album or an artist a listener is counted once across all its tracks, "
        "never summed per track.",
        {
            "total": count("Distinct listeners over all `play` events ever.", 310),
            "unique": count("Distinct listeners over the `play` events in the period.", 85),
        },
    ),
    "Engagement": obj(
        "Engagement events in the period.",
        {
            "likes": count("`like` events in the period.", 31),
            "reposts": count("`repost` events in the period.", 7),
        },
    ),
    "Growth": obj(
        "Change against the previous period of the same length, in percent.",
        {
            "plays_change": {
                "type": ["number", "null"],
                "description": "(period - previous) / previous * 100 on `plays.period`, rounded half away "
                "from zero to one decimal; null when the previous period had no plays.",
                "examples": [12.5],
            },
            "listeners_change": {
                "type": ["number", "null"],
                "description": "The same on `listeners.unique`; null when the previous period had none.",
                "examples": [-3.1],
            },
        },
    ),
    "RankedTrack": obj(
        "A track with its figures in the period.",
        {
            "track_id": entity_id("The track.", 101),
            "title": text("The track's title.", "Dawn"),
            "plays": count("`play` events in the period.", 120),
            "listeners": count("Distinct listeners in the period (estimated as in `Listeners`).", 48),
        },
    ),
    "ChartPoint": obj(
        "One bucket: a whole local hour, day, ISO week or month of `tz`.",
        {
            "t": ref("LocalTimestamp") | {"description": "The bucket's start, with the zone's offset."},
            "plays": count("`play` events in the bucket.", 12),
            "listeners": count("Distinct listeners in the bucket.", 9),
            "likes": count("`like` events in the bucket.", 2),
            "reposts": count("`repost` events in the bucket.", 1),
        },
    ),
    "MinutePoint": obj(
        "One UTC minute.",
        {
            "t": ref("Timestamp") | {"description": "The minute's start."},
            "plays": count("`play` events in that minute.", 3),
        },
    ),
    "Collaborator": obj(
        "An artist who shares tracks with this one.",
        {
            "artist_id": entity_id("The collaborator.", 2),
            "name": text("The collaborator's name (empty if not in the catalog).", "Ben Cross", 0),
            "tracks": count("Tracks the two artists share.", 2),
            "plays": count("All-time plays of those tracks.", 640),
        },
    ),
    "CollaborationTrack": obj(
        "A track listing this artist and at least one other.",
        {
            "track_id": entity_id("The track.", 102),
            "title": text("The track's title.", "Tide (with Ben)"),
            "artist_ids": array(ref("Id"), "Every artist of the track, primary first.", minItems=2),
            "plays": count("All-time plays of the track.", 410),
        },
    ),
}

RANGE_FIELDS: dict[str, Schema] = {
    "period": {
        "type": "string",
        "enum": [*PERIOD_DAYS, "custom"],
        "description": "The period asked for, or `custom` for a `from`/`to` range.",
        "examples": [DEFAULT_PERIOD],
    },
    "tz": ref("Tz"),
    "from": ref("LocalDate") | {"description": "The first local date covered."},
    "to": ref("LocalDate") | {"description": "The last local date covered (today: until now)."},
    "estimates": ref("Estimates"),
}

FIGURE_FIELDS: dict[str, Schema] = RANGE_FIELDS | {
    "plays": ref("Plays"),
    "listeners": ref("Listeners"),
    "engagement": ref("Engagement"),
    "growth": ref("Growth"),
    "listening": ref("Listening"),
    "complete_through": ref("CompleteThrough"),
}


def chart(owner: str, example: int) -> Schema:
    over = "the track's events" if owner == "track" else f"the events of all the {owner}'s tracks"
    return obj(
        f"Gap-filled buckets of {over} in the zone `tz`, oldest first, from the bucket holding the "
        "range's start to the bucket holding its end (now, when it ends today), both included.",
        {
            f"{owner}_id": entity_id(f"The {owner}.", example),
            "timeframe": {
                "type": "string",
                "enum": [*TIMEFRAME_DAYS, "custom"],
                "description": "The timeframe asked for, or `custom` for a `from`/`to` range.",
                "examples": [DEFAULT_TIMEFRAME],
            },
            "interval": {
                "type": "string",
                "enum": ["hour", "day", "week", "month"],
                "description": "The bucket size; by default "
                + ", ".join(f"{t} → {i}" for t, i in TIMEFRAME_INTERVAL.items())
                + ", and for a range: hour up to 7 days, day up to 90, week beyond.",
                "examples": ["day"],
            },
        }
        | RANGE_FIELDS
        | {
            "series": array(ref("ChartPoint"), "The buckets, oldest first.", minItems=1),
            "complete_through": ref("CompleteThrough"),
        },
    )


READ: dict[str, Schema] = {
    "TrackAnalytics": obj(
        "A track's figures for the period.",
        {
            "track_id": entity_id("The track.", 101),
            "title": text("The track's title (empty while only its events are known).", "Dawn", 0),
        }
        | FIGURE_FIELDS,
    ),
    "AlbumAnalytics": obj(
        "The figures over all the album's tracks (listeners distinct across them), and its tracks.",
        {
            "album_id": entity_id("The album.", 10),
            "title": text("The album's title.", "First Light"),
            "artist_id": entity_id("The album's artist.", 1),
        }
        | FIGURE_FIELDS
        | {"tracks": array(ref("RankedTrack"), "Every track of the album, most played in the period first.")},
    ),
    "ArtistAnalytics": obj(
        "The figures over every track that lists the artist (listeners distinct across them).",
        {
            "artist_id": entity_id("The artist.", 1),
            "name": text(
                "The artist's name (empty while a track lists the artist but the catalog does not have it).",
                "Ana Vale",
                0,
            ),
        }
        | FIGURE_FIELDS
        | {
            "top_tracks": array(
                ref("RankedTrack"),
                f"Up to {TOP_TRACKS} of the artist's tracks, most played in the period first.",
                maxItems=TOP_TRACKS,
            )
        },
    ),
    "TrackChart": chart("track", 101),
    "AlbumChart": chart("album", 10),
    "ArtistChart": chart("artist", 1),
    "TrackRealtime": obj(
        "What is happening on the track right now.",
        {
            "track_id": entity_id("The track.", 101),
            "active_listeners": count(
                "Distinct listeners with any `play` or `heartbeat` on the track in the last 5 minutes.", 4
            ),
            "plays_last_5m": count("`play` events with `occurred_at` in the last 5 minutes.", 6),
            "plays_last_60m": count("`play` events with `occurred_at` in the last 60 minutes.", 41),
            "series": array(
                ref("MinutePoint"),
                f"{REALTIME_MINUTES} one-minute buckets, oldest first, the last one holding `as_of`.",
                minItems=REALTIME_MINUTES,
                maxItems=REALTIME_MINUTES,
            ),
            "as_of": ref("Timestamp") | {"description": "The moment the figures are for."},
        },
    ),
    "ArtistCollaborations": obj(
        "Who the artist works with, by all-time plays.",
        {
            "artist_id": entity_id("The artist.", 1),
            "total_collaborations": count("Tracks the artist shares with at least one other artist.", 2),
            "top_collaborators": array(
                ref("Collaborator"),
                f"Up to {TOP_COLLABORATORS} collaborators: most shared tracks first, then most plays.",
                maxItems=TOP_COLLABORATORS,
            ),
            "collaboration_tracks": array(
                ref("CollaborationTrack"), "Every shared track, most played (all time) first."
            ),
        },
    ),
}

ADMIN: dict[str, Schema] = {
    "RevocationRequest": {
        "type": "object",
        "description": "The token to refuse from now on, by its id (its `jti` claim; "
        "`insights token inspect TOKEN` prints it).",
        "required": ["token_id"],
        "properties": {
            "token_id": text("The token's id.", "5f0c6b1e9d2a4c58b7e3a1f2d4c6b8a0", max_length=64),
            "reason": text("Why, for the record.", "leaked in a screenshot", 0, 200),
        },
        "additionalProperties": False,
    },
    "Revocation": obj(
        "A revoked token: every API process refuses it within about a second.",
        {
            "token_id": text("The token's id.", "5f0c6b1e9d2a4c58b7e3a1f2d4c6b8a0", max_length=64),
            "revoked_at": text("When, RFC 3339 UTC.", "2026-11-26T20:15:00.000000Z"),
            "reason": text("Why, as given.", "leaked in a screenshot", 0),
        },
    ),
    "KafkaResetRequest": {
        "type": "object",
        "description": "Acknowledge that Kafka's log was reset or a topic recreated on purpose.",
        "properties": {"reason": text("Why, for the record.", "moved to a new Kafka cluster", 1, 200)},
        "additionalProperties": False,
    },
    "KafkaReset": obj(
        "What the acknowledgement did.",
        {
            "accepted": {
                "type": "boolean",
                "description": "Whether a new epoch was started (false: Kafka matched, nothing to accept).",
            },
            "epoch": {"type": "integer", "minimum": 0, "description": "The epoch now in force."},
            "problem": {
                "type": ["string", "null"],
                "description": "Why Kafka still does not match, or null when it does.",
            },
        },
    ),
    "RevocationList": obj(
        "Every revoked token, the latest first.",
        {"revocations": array(ref("Revocation"), "The revoked tokens.")},
    ),
}

HEALTH: dict[str, Schema] = {
    "Health": obj("The process is alive.", {"status": {"const": "ok"}}),
    "Readiness": obj(
        "Whether Kafka and ClickHouse both answer, and Kafka is the one the stored offsets belong to.",
        {
            "status": {"type": "string", "enum": ["ready", "unavailable"], "examples": ["ready"]},
            "checks": {
                "type": "object",
                "description": "One entry per dependency.",
                "required": ["kafka", "clickhouse"],
                "properties": {
                    **{
                        name: {"type": "string", "enum": ["ok", "down"], "examples": ["ok"]}
                        for name in ("kafka", "clickhouse")
                    },
                    "kafka_identity": text(
                        "`ok`, or why Kafka is not the one the stored offsets belong to (its log was"
                        " reset or a topic recreated) and what to do; sent by processes that watch it.",
                        "ok",
                        1,
                    ),
                },
                "additionalProperties": False,
            },
            "warnings": array(
                {"type": "string"},
                "What does not stop serving but breaks a promise, e.g. replicated ClickHouse tables"
                " without the settings exactly-once needs. Empty when all is well.",
            ),
        },
    ),
}

SCHEMAS: dict[str, Schema] = SHARED | WRITE | FIGURES | READ | ADMIN | HEALTH

# ---- parameters and error responses -----------------------------------------------------------------


def path_id(name: str, what: str, example: int) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id, 1 to 2^63-1; anything else is answered 422.",
        "schema": ref("Id"),
        "example": example,
    }


PARAMETERS: dict[str, Schema] = {
    "TrackId": path_id("trackId", "track", 101),
    "AlbumId": path_id("albumId", "album", 10),
    "ArtistId": path_id("artistId", "artist", 1),
    "Period": {
        "name": "period",
        "in": "query",
        "required": False,
        "description": "The period the figures cover. Anything else is answered 422.",
        "schema": ref("Period") | {"default": DEFAULT_PERIOD},
    },
    "Timeframe": {
        "name": "timeframe",
        "in": "query",
        "required": False,
        "description": "The days the chart covers. Anything else is answered 422.",
        "schema": ref("Timeframe") | {"default": DEFAULT_TIMEFRAME},
    },
    "Tz": {
        "name": "tz",
        "in": "query",
        "required": False,
        "description": "The zone whose calendar days, hours, weeks and months the answer counts; an "
        "unknown zone is answered 422.",
        "schema": ref("Tz") | {"default": "UTC"},
    },
    "From": {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "With `to`, instead of `period`/`timeframe`: the first local date of the range "
        "(not before 2000-01-01; a range spans at most 731 days). The previous range, for growth, is "
        "the same number of days just before it.",
        # Without examples: the document's examples are sent together, and a range given both as
        # `period` and as `from`/`to` is refused.
        "schema": dict(LOCAL_DATE),
    },
    "To": {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "With `from`: the last local date of the range, included, not after today.",
        "schema": dict(LOCAL_DATE),
    },
    "Interval": {
        "name": "interval",
        "in": "query",
        "required": False,
        "description": "The bucket size: `hour` (ranges up to 31 days), `day`, `week` (ISO, from "
        "Monday 00:00 local) or `month`; by default hour up to 7 days, day up to 90, week beyond.",
        "schema": {"type": "string", "enum": ["hour", "day", "week", "month"]},
    },
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "The `ETag` of an answer you hold: while it is still the answer, you get 304 and "
        "no body.",
        "schema": {"type": "string"},
    },
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


def error_response(
    description: str, schema: Schema | None = None, headers: dict[str, str] | None = None
) -> Schema:
    response: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema or ref("Error")}},
    }
    if headers:
        response["headers"] = {
            name: {"description": meaning, "schema": {"type": "string"}} for name, meaning in headers.items()
        }
    return response


RESPONSES: dict[str, Schema] = {
    "Unauthorized": error_response(
        "`unauthorized`: no bearer token, or one that is malformed, badly signed or expired.",
        headers={"WWW-Authenticate": 'Always `Bearer realm="insights"`.'},
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
        ref("Error") | {"required": ["errors"]},
    ),
    "Unavailable": error_response(
        "`unavailable`: Kafka did not take the batch; nothing of it was accepted. Retry the whole batch.",
        headers={"Retry-After": "Seconds to wait before retrying."},
    ),
    "RateLimited": error_response(
        "`rate_limited`: this token used its requests of the minute, or this address failed to sign in "
        "too often. Wait `retry_after` seconds.",
        headers={"Retry-After": "Seconds to wait, as `retry_after` in the body."} | RATE_LIMIT_HEADERS,
    ),
    "NotModified": {
        "description": "The answer whose `ETag` was sent in `If-None-Match` is still the answer; no body.",
        "headers": {
            name: {"description": meaning, "schema": {"type": "string"}}
            for name, meaning in (CACHE_HEADERS | RATE_LIMIT_HEADERS).items()
        },
    },
    "ServerError": error_response("`server_error`: something failed on the server; retrying may help."),
}
