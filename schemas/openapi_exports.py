"""The exports section of the OpenAPI document (schemas/openapi.py): the five /export/ operations, their
request bodies, the rows of both layouts, and the report documented field by field."""

from __future__ import annotations

import itertools

from schemas.openapi_audience import BREAKDOWN_LIMIT, DEFAULT_BREAKDOWN_LIMIT, DIMENSIONS
from schemas.openapi_components import (
    TOP_COLLABORATORS,
    TOP_TRACKS,
    Schema,
    array,
    count,
    entity_id,
    obj,
    optional,
    ref,
    text,
)
from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME, PERIOD_DAYS, TIMEFRAME_DAYS

EXPORT = "/api/v1/producer-intelligence/insights/export"
ENTITY_TYPES = ("tracks", "albums", "artists")
LAYOUTS = ("entities", "breakdowns")  # a row per entity, or per entity, dimension and value
MAX_EXPORT_BODY_BYTES = 16 * 1024
ACCESS_TEXT = (
    "An export holds exactly what the token may read: `admin` reads everything; otherwise the artists "
    "the token lists, the albums of those artists, and the tracks that list one of them."
)

DAY: Schema = {"type": "string", "format": "date"}
period_field = ref("Period") | {"default": DEFAULT_PERIOD}

# Any zone and range, as the read endpoints take them (their query parameters, here in the body).
RANGE_TEXT = (
    " `tz` counts the local days of any IANA zone; `from` and `to` (given together, instead of "
    "`period`) choose local dates, as on the read endpoints; a field breaking a rule is answered 422 "
    "naming it."
)
RANGE_BODY: dict[str, Schema] = {
    "tz": ref("Tz") | {"default": "UTC"},
    "from": ref("LocalDate")
    | {"description": "With `to`, instead of `period`: the first local date (not before 2000-01-01)."},
    "to": ref("LocalDate") | {"description": "With `from`: the last local date, included, not after today."},
}
# What every export says of the days it covers.
PERIOD_NAME: Schema = {
    "type": "string",
    "enum": [*PERIOD_DAYS, "custom"],
    "description": "The period asked for, or `custom` for a `from`/`to` range.",
    "examples": [DEFAULT_PERIOD],
}
COVERED: dict[str, Schema] = {
    "from": DAY | {"description": "The first local date covered."},
    "to": DAY | {"description": "The last local date covered (today: until now)."},
    "tz": ref("Tz"),
}

# The entity on screen: an export (or report) with one of these holds only what belongs to it.
FOCUS_TEXT = (
    " With one of `artist_id`, `album_id` or `track_id`, only what belongs to that artist, album or "
    "track (404 if unknown, 403 if the token may not read it)."
)


def focus(description: str, example: int) -> Schema:
    return {
        "anyOf": [ref("Id"), {"type": "null"}],
        "description": description + " `null` is the same as leaving it out.",
        "examples": [example],
    }


FOCUS_FIELDS: dict[str, Schema] = {
    "artist_id": focus("Only what belongs to this artist (its tracks and albums, itself).", 1),
    "album_id": focus("Only what belongs to this album (its tracks, itself, its artist).", 10),
    "track_id": focus("Only what belongs to this track (itself, its album, its artists).", 101),
}
# At most one of them: a body naming two is refused (422), and the schema says so.
NOT_NULL: Schema = {"not": {"type": "null"}}
ONE_FOCUS_AT_MOST: Schema = {
    "not": {
        "anyOf": [
            {"required": [a, b], "properties": {a: NOT_NULL, b: NOT_NULL}}
            for a, b in itertools.combinations(FOCUS_FIELDS, 2)
        ]
    }
}
# How many values of each dimension a breakdown ranks (as the breakdown endpoints' `limit`).
LIMIT_FIELD: Schema = {
    "type": "integer",
    "minimum": 1,
    "maximum": BREAKDOWN_LIMIT,
    "default": DEFAULT_BREAKDOWN_LIMIT,
    "description": "How many values of each dimension (country, source, platform) a breakdown ranks; "
    "the rest are `other`, as the breakdown endpoints' `limit`.",
}
LAYOUT_FIELD: Schema = {
    "type": "string",
    "enum": list(LAYOUTS),
    "default": "entities",
    "description": "`entities`: a row per entity with its figures and listening (in JSON also its "
    "`breakdowns`). `breakdowns`: a row per entity, dimension and value (then `other` and `unknown` "
    "when they had plays), for a pivot table.",
}
INCLUDE_BREAKDOWNS_FIELD: Schema = {
    "type": "boolean",
    "default": False,
    "description": "JSON, `entities` layout: give each row its `breakdowns` too (one more batched "
    "statement per page). A CSV has them as rows of their own (`layout`): true with the `entities` "
    "layout is refused there (422).",
}
LISTENING_AND_BREAKDOWNS: dict[str, Schema] = {
    "listening": ref("Listening"),
    "breakdowns": ref("Breakdowns"),
}
NULLABLE_ID = {"anyOf": [ref("Id"), {"type": "null"}]}
DESCRIPTIONS: dict[str, dict[str, Schema]] = {
    "tracks": {
        "album_id": NULLABLE_ID | {"description": "Its album, or null."},
        "album": text("The album's title (empty without an album).", "First Light", 0),
        "artist_ids": array(ref("Id"), "Its artists, primary first (in CSV: joined by `; `)."),
        "artists": array(text("A name.", "Ana Vale", 0), "Their names, in the same order (CSV: `; `)."),
    },
    "albums": {
        "artist_id": NULLABLE_ID | {"description": "The album's artist."},
        "artist": text("The artist's name.", "Ana Vale", 0),
    },
    "artists": {},
}


def row(kind: str, example_id: int, label: str, example_label: str) -> Schema:
    """An entity row; `breakdowns` only when `include_breakdowns` asked for them."""
    entity = obj(
        f"One {kind.removesuffix('s')} with what tells it apart, its figures (period values unless "
        "`_total`) and the period's dates.",
        {
            f"{kind.removesuffix('s')}_id": entity_id(f"The {kind.removesuffix('s')}.", example_id),
            label: text(f"The {label} (empty when the catalog does not have it).", example_label, 0),
        }
        | DESCRIPTIONS[kind]
        | {
            "plays": count("`play` events in the period.", 240),
            "plays_total": count("Every `play` event ever.", 1520),
            "listeners": count("Distinct listeners in the period (distinct across an entity's tracks).", 85),
            "likes": count("`like` events in the period.", 31),
            "reposts": count("`repost` events in the period.", 7),
        }
        | COVERED
        | {"listening": ref("Listening")},
    )
    return optional(entity, breakdowns=ref("Breakdowns"))


def breakdown_row(kind: str, example_id: int, label: str, example_label: str) -> Schema:
    return obj(
        f"One value of a dimension for one {kind.removesuffix('s')} (the `breakdowns` layout).",
        {
            f"{kind.removesuffix('s')}_id": entity_id(f"The {kind.removesuffix('s')}.", example_id),
            label: text(f"The {label} (empty when the catalog does not have it).", example_label, 0),
            "dimension": {"type": "string", "enum": list(DIMENSIONS), "examples": ["country"]},
            "slice": {
                "type": "string",
                "enum": ["ranked", "other", "unknown"],
                "description": "`ranked`: one value; `other`: the values past `limit` together; "
                "`unknown`: plays that did not say.",
                "examples": ["ranked"],
            },
            "rank": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": BREAKDOWN_LIMIT,
                "description": "1 for the most played value; null for `other` and `unknown`.",
                "examples": [1],
            },
            "value": {
                "type": ["string", "null"],
                "description": "The country code, source or platform; null for `other` and `unknown`.",
                "examples": ["DE"],
            },
            "value_name": text("The value for people: a country's name, `Artist page`, `iOS`...", "Germany"),
            "plays": count("Plays of the range with this value.", 120),
            "listeners": count("Their distinct listeners (across the values of `other`).", 64),
            "share": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "These plays / every play of the entity in the range x 100, 1 decimal.",
                "examples": [37.5],
            },
        }
        | COVERED,
    )


FIGURES = {
    "plays": ref("Plays"),
    "listeners": ref("Listeners"),
    "engagement": ref("Engagement"),
    "growth": ref("Growth"),
}

SCHEMAS: dict[str, Schema] = {
    "Breakdowns": obj(
        "Where and how the range's plays were listened to: by each dimension, as the breakdown "
        "endpoints answer it (without their header).",
        {
            d: obj(
                f"By {d}.",
                {
                    "rows": array(
                        ref("BreakdownRow"), "Most plays first, then value.", maxItems=BREAKDOWN_LIMIT
                    ),
                    "other": ref("PlaysAndListeners") | {"description": "The values past `limit`, together."},
                    "unknown": ref("PlaysAndListeners") | {"description": "Plays without the field."},
                },
            )
            for d in DIMENSIONS
        },
    ),
    "ExportFormat": obj(
        "One export format.",
        {
            "id": {"type": "string", "enum": ["csv", "json", "pdf"], "examples": ["csv"]},
            "name": text("A name to show.", "CSV"),
            "description": text("What the export holds.", "One row per track, album or artist..."),
        },
    ),
    "ExportFormats": {
        "type": "object",
        "description": "The formats in `data`, and at the top level as the first API version had them.",
        "required": ["success", "data", "formats"],
        "properties": {
            "success": {"const": True},
            "data": obj("The formats.", {"formats": array(ref("ExportFormat"), "csv, json and pdf.")}),
            "formats": array(ref("ExportFormat"), "The same list."),
        },
        "additionalProperties": False,
    },
    "TableExportRequest": {
        "type": "object",
        "required": ["type"],
        "description": "Which entities to list, and the period of the figures."
        + RANGE_TEXT
        + FOCUS_TEXT
        + " Unknown fields are ignored.",
        "properties": {
            "type": {"type": "string", "enum": list(ENTITY_TYPES), "examples": ["tracks"]},
            "period": period_field,
        }
        | RANGE_BODY
        | FOCUS_FIELDS
        | {"layout": LAYOUT_FIELD, "limit": LIMIT_FIELD, "include_breakdowns": INCLUDE_BREAKDOWNS_FIELD},
        # One whole example: built field by field it would ask for a period and a range, and three
        # focuses, at once (a 422 in /docs' curl and "Try it").
        "examples": [{"type": "tracks", "period": "30-days", "tz": "UTC"}],
    }
    | ONE_FOCUS_AT_MOST,
    "ReportRequest": {
        "type": "object",
        "description": "The period of the figures, and whether to add the chart series."
        + RANGE_TEXT
        + FOCUS_TEXT,
        "properties": {
            "period": period_field,
            "include_charts": {
                "type": "boolean",
                "default": False,
                "description": "Add `chart`, the series over the period.",
            },
        }
        | RANGE_BODY
        | FOCUS_FIELDS
        | {"limit": LIMIT_FIELD},
        "examples": [{"period": "30-days", "include_charts": False, "tz": "UTC"}],
    }
    | ONE_FOCUS_AT_MOST,
    "PdfRequest": {
        "type": "object",
        "description": "The period of the report." + RANGE_TEXT + FOCUS_TEXT,
        "properties": {"period": period_field} | RANGE_BODY | FOCUS_FIELDS | {"limit": LIMIT_FIELD},
        "examples": [{"period": "30-days", "tz": "UTC"}],
    }
    | ONE_FOCUS_AT_MOST,
    "TrackRow": row("tracks", 101, "title", "Dawn"),
    "AlbumRow": row("albums", 10, "title", "First Light"),
    "ArtistRow": row("artists", 1, "name", "Ana Vale"),
    "TrackBreakdownRow": breakdown_row("tracks", 101, "title", "Dawn"),
    "AlbumBreakdownRow": breakdown_row("albums", 10, "title", "First Light"),
    "ArtistBreakdownRow": breakdown_row("artists", 1, "name", "Ana Vale"),
    "ExportRows": obj(
        "The rows of the export, most played in the period first.",
        {
            "type": {"type": "string", "enum": list(ENTITY_TYPES), "examples": ["tracks"]},
            "period": PERIOD_NAME,
        }
        | COVERED
        | {
            "layout": {"type": "string", "enum": list(LAYOUTS), "examples": ["entities"]},
            "rows": {
                "type": "array",
                "description": "`entities`: one row per readable entity of `type`, most played in the "
                "period first, then by id. `breakdowns`: for each of them in that order and each "
                "dimension (country, source, platform), a row per ranked value, then `other` and "
                "`unknown` when they had plays.",
                "items": {
                    "anyOf": [
                        ref("TrackRow"),
                        ref("AlbumRow"),
                        ref("ArtistRow"),
                        ref("TrackBreakdownRow"),
                        ref("AlbumBreakdownRow"),
                        ref("ArtistBreakdownRow"),
                    ]
                },
            },
        },
    ),
    "ReportSummary": obj(
        "The figures over every readable track together (listeners distinct across all of them).",
        {
            "artists": count("Readable artists.", 1),
            "albums": count("Readable albums.", 2),
            "tracks": count("Readable tracks.", 24),
        }
        | FIGURES
        | LISTENING_AND_BREAKDOWNS,
    ),
    "ReportCollaborations": obj(
        "As GET /artists/{artistId}/collaborations, without `artist_id`.",
        {
            "total_collaborations": count("Tracks the artist shares with at least one other artist.", 2),
            "top_collaborators": array(
                ref("Collaborator"),
                f"Up to {TOP_COLLABORATORS}: most shared tracks first, then most plays.",
                maxItems=TOP_COLLABORATORS,
            ),
            "collaboration_tracks": array(
                ref("CollaborationTrack"), "Every shared track, most played first."
            ),
        },
    ),
    "ReportArtist": obj(
        "An artist: the same figures as GET /artists/{artistId}, its top tracks and collaborations.",
        {"artist_id": entity_id("The artist.", 1), "name": text("The artist's name.", "Ana Vale", 0)}
        | FIGURES
        | LISTENING_AND_BREAKDOWNS
        | {
            "top_tracks": array(
                ref("RankedTrack"),
                f"Up to {TOP_TRACKS} tracks, most played in the period first.",
                maxItems=TOP_TRACKS,
            ),
            "collaborations": ref("ReportCollaborations"),
        },
    ),
    "ReportAlbum": obj(
        "An album: the same figures as GET /albums/{albumId}, and all its tracks.",
        {
            "album_id": entity_id("The album.", 10),
            "title": text("The album's title.", "First Light"),
            "artist_id": entity_id("The album's artist.", 1),
        }
        | FIGURES
        | LISTENING_AND_BREAKDOWNS
        | {"tracks": array(ref("RankedTrack"), "Every track of the album, most played in the period first.")},
    ),
    "ReportTrack": obj(
        "A track: the same figures as GET /tracks/{trackId}, with its album and artists.",
        {
            "track_id": entity_id("The track.", 101),
            "title": text("The track's title (empty when the catalog does not have it).", "Dawn", 0),
            "album_id": {"anyOf": [ref("Id"), {"type": "null"}], "description": "Its album, or null."},
            "artist_ids": array(ref("Id"), "Its artists, primary first."),
        }
        | FIGURES
        | LISTENING_AND_BREAKDOWNS,
    ),
    "ReportChart": obj(
        "The chart of GET /artists/{artistId}/charts over every readable track, for the period's days.",
        {
            "timeframe": {
                "type": "string",
                "enum": [*TIMEFRAME_DAYS, "custom"],
                "description": "The timeframe of a UTC period, else `custom`.",
                "examples": [DEFAULT_TIMEFRAME],
            },
            "interval": {
                "type": "string",
                "enum": ["hour", "day", "week", "month"],
                "description": "A UTC period's as its timeframe's; else hour up to 7 days, day up to 90, "
                "week beyond.",
                "examples": ["day"],
            },
            "series": array(
                ref("ChartPoint"), "Gap-filled buckets of the zone `tz`, oldest first.", minItems=1
            ),
        },
    ),
    "Report": obj(
        "Everything the token may read, for one period or range, in one zone.",
        {
            "period": PERIOD_NAME,
            "period_start": {
                "type": "string",
                "format": "date",
                "description": "The first local date covered (as `from`).",
            },
            "period_end": {
                "type": "string",
                "format": "date",
                "description": "The last local date covered (as `to`).",
            },
        }
        | COVERED
        | {
            "generated_at": ref("Timestamp") | {"description": "When the report was made."},
            "summary": ref("ReportSummary"),
            "artists": array(ref("ReportArtist"), "Readable artists, most played in the period first."),
            "albums": array(ref("ReportAlbum"), "Readable albums, most played in the period first."),
            "tracks": array(ref("ReportTrack"), "Readable tracks, most played in the period first."),
            "chart": {
                "anyOf": [ref("ReportChart"), {"type": "null"}],
                "description": "The series over the period when `include_charts` is true, else null.",
            },
        },
    ),
}
