"""The audience section of the OpenAPI document (schemas/openapi.py): breakdowns by country, source and
platform, the listening figures, and the listings of a token's tracks, albums and artists."""

from __future__ import annotations

from schemas.events import PLATFORMS, SOURCES
from schemas.openapi_components import Schema, array, count, entity_id, obj, ref, text
from schemas.periods import DEFAULT_PERIOD, PERIOD_DAYS

DIMENSIONS = ("country", "source", "platform")
BREAKDOWN_LIMIT, DEFAULT_BREAKDOWN_LIMIT = 50, 10
LIST_LIMIT, DEFAULT_LIST_LIMIT = 100, 50

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


def breakdown(owner: str, example: int) -> Schema:
    return obj(
        f"Where and how the {owner}'s plays of the range were listened to.",
        {
            f"{owner}_id": entity_id(f"The {owner}.", example),
            "dimension": {"type": "string", "enum": list(DIMENSIONS), "examples": ["country"]},
            "period": {
                "type": "string",
                "enum": [*PERIOD_DAYS, "custom"],
                "description": "The period asked for, or `custom` for a `from`/`to` range.",
                "examples": [DEFAULT_PERIOD],
            },
            "tz": ref("Tz"),
            "from": ref("LocalDate") | {"description": "The first local date covered."},
            "to": ref("LocalDate") | {"description": "The last local date covered (today: until now)."},
            "rows": array(ref("BreakdownRow"), "Most plays first, then value.", maxItems=BREAKDOWN_LIMIT),
            "other": ref("PlaysAndListeners") | {"description": "The values past `limit`, together."},
            "unknown": ref("PlaysAndListeners") | {"description": "Plays without the field."},
            "estimates": ref("Estimates"),
        },
    )


def listing(kind: str, item: str) -> Schema:
    return obj(
        f"A page of the {kind} the token may read.",
        {
            "items": array(ref(item), "Ascending by id.", maxItems=LIST_LIMIT),
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass it as `cursor` for the next page; null on the last page.",
                "examples": ["dHJhY2tzOjEwMg"],
            },
        },
    )


SCHEMAS: dict[str, Schema] = {
    "Listening": obj(
        "How long the range's plays were listened to.",
        {
            "qualified_plays": count("Plays with `listened_ms` of 30,000 or more (the 30-second rule).", 180),
            "total_ms": count("The sum of `listened_ms` over the plays.", 27_000_000),
            "avg_ms": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "`total_ms` / plays that carry `listened_ms`, rounded; null when none does.",
                "examples": [150_000],
            },
        },
    ),
    "BreakdownRow": obj(
        "One value of the dimension.",
        {
            "value": text("The country code (upper case), source or platform.", "DE"),
            "plays": count("Plays with this value.", 120),
            "listeners": count("Distinct listeners of those plays.", 64),
            "share": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "This row's plays / every play in the range x 100, 1 decimal.",
                "examples": [37.5],
            },
        },
    ),
    "PlaysAndListeners": obj(
        "Plays and their distinct listeners.",
        {"plays": count("Plays.", 12), "listeners": count("Distinct listeners.", 9)},
    ),
    "TrackBreakdown": breakdown("track", 101),
    "AlbumBreakdown": breakdown("album", 10),
    "ArtistBreakdown": breakdown("artist", 1),
    "TrackItem": obj(
        "A track of the catalog.",
        {
            "track_id": entity_id("The track.", 101),
            "title": text("Its title (empty for a track counted without a catalog entry).", "Dawn", 0),
            "album_id": {"anyOf": [ref("Id"), {"type": "null"}], "description": "Its album, or null."},
            "artist_ids": array(ref("Id"), "Its artists, primary first (none when not catalogued)."),
        },
    ),
    "AlbumItem": obj(
        "An album of the catalog.",
        {
            "album_id": entity_id("The album.", 10),
            "title": text("Its title.", "First Light", 0),
            "artist_id": entity_id("Its artist.", 1),
        },
    ),
    "ArtistItem": obj(
        "An artist.",
        {
            "artist_id": entity_id("The artist.", 1),
            "name": text("Its name (empty when only a track lists it).", "Ana Vale", 0),
        },
    ),
    "TrackList": listing("tracks", "TrackItem"),
    "AlbumList": listing("albums", "AlbumItem"),
    "ArtistList": listing("artists", "ArtistItem"),
}


def query(name: str, description: str, schema: Schema, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


PARAMETERS: dict[str, Schema] = {
    "Dimension": query(
        "dimension",
        "What to group the plays by. Required.",
        {"type": "string", "enum": list(DIMENSIONS)},
        required=True,
    ),
    "BreakdownLimit": query(
        "limit",
        "How many values get a row of their own; the rest are `other`.",
        {"type": "integer", "minimum": 1, "maximum": BREAKDOWN_LIMIT, "default": DEFAULT_BREAKDOWN_LIMIT},
    ),
    "Q": query(
        "q",
        "Keep the items whose title or name contains this, in any case.",
        {"type": "string", "maxLength": 256},
    ),
    "ListLimit": query(
        "limit",
        "Items per page.",
        {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT, "default": DEFAULT_LIST_LIMIT},
    ),
    "Cursor": query(
        "cursor",
        "The `next_cursor` of the previous page (empty or left out: the first page); anything else is"
        " answered 422.",
        {"type": "string"},
    ),
}
