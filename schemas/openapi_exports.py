"""The exports section of the OpenAPI document (schemas/openapi.py): the five /export/ operations, their
request bodies, and the report documented field by field."""

from __future__ import annotations

import itertools

from schemas.openapi_components import (
    TOP_COLLABORATORS,
    TOP_TRACKS,
    Schema,
    array,
    count,
    entity_id,
    obj,
    ref,
    text,
)
from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME, PERIOD_DAYS, TIMEFRAME_DAYS

EXPORT = "/api/v1/producer-intelligence/insights/export"
ENTITY_TYPES = ("tracks", "albums", "artists")
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
    return obj(
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
        | COVERED,
    )


FIGURES = {
    "plays": ref("Plays"),
    "listeners": ref("Listeners"),
    "engagement": ref("Engagement"),
    "growth": ref("Growth"),
}

SCHEMAS: dict[str, Schema] = {
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
        | FOCUS_FIELDS,
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
        | FOCUS_FIELDS,
        "examples": [{"period": "30-days", "include_charts": False, "tz": "UTC"}],
    }
    | ONE_FOCUS_AT_MOST,
    "PdfRequest": {
        "type": "object",
        "description": "The period of the report." + RANGE_TEXT + FOCUS_TEXT,
        "properties": {"period": period_field} | RANGE_BODY | FOCUS_FIELDS,
        "examples": [{"period": "30-days", "tz": "UTC"}],
    }
    | ONE_FOCUS_AT_MOST,
    "TrackRow": row("tracks", 101, "title", "Dawn"),
    "AlbumRow": row("albums", 10, "title", "First Light"),
    "ArtistRow": row("artists", 1, "name", "Ana Vale"),
    "ExportRows": obj(
        "The rows of the export, most played in the period first.",
        {
            "type": {"type": "string", "enum": list(ENTITY_TYPES), "examples": ["tracks"]},
            "period": PERIOD_NAME,
        }
        | COVERED
        | {
            "rows": {
                "type": "array",
                "description": "One row per readable entity of `type`: most played in the period first, "
                "then by id.",
                "items": {"anyOf": [ref("TrackRow"), ref("AlbumRow"), ref("ArtistRow")]},
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
        | FIGURES,
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
        | FIGURES,
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
