"""The bodies of the /export/ endpoints: what a client asks for (the entity type, the period or range,
the entity on screen) and the rows and report it gets back; the OpenAPI document is generated from them."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from schemas.audience import BREAKDOWN_LIMIT, DEFAULT_BREAKDOWN_LIMIT, Breakdowns, Dimension
from schemas.fields import (
    INTERVALS,
    AlbumId,
    Answer,
    AnyText,
    ArtistId,
    Count,
    FirstDay,
    Id,
    LastDay,
    LocalDate,
    Period,
    PeriodAsked,
    Text,
    Timestamp,
    TrackId,
    Tz,
    doc,
    one_of,
    ref,
)
from schemas.figures import (
    TOP_TRACKS,
    AlbumArtist,
    AlbumTitle,
    AlbumTracks,
    ChartPoint,
    Collaborations,
    Engagement,
    Growth,
    Listeners,
    Listening,
    Plays,
    RankedTrack,
)
from schemas.periods import DEFAULT_PERIOD, DEFAULT_TIMEFRAME, TIMEFRAME_DAYS

EXPORT = "/api/v1/producer-intelligence/insights/export"
ENTITY_TYPES = ("tracks", "albums", "artists")
LAYOUTS = ("entities", "breakdowns")  # a row per entity, or per entity, dimension and value
MAX_EXPORT_BODY_BYTES = 16 * 1024
EntityType = Annotated[str, one_of(ENTITY_TYPES, None, "tracks")]
Layout = Annotated[str, one_of(LAYOUTS, None, "entities")]

# ---- requests ----------------------------------------------------------------------------------------

# Any zone and range, as the read endpoints take them (their query parameters, here in the body), and
# the entity on screen: with one, the export holds only what belongs to it.
RULES_TEXT = (
    " `tz` counts the local days of any IANA zone; `from` and `to` (given together, instead of `period`) "
    "choose local dates, as on the read endpoints; a field breaking a rule is answered 422 naming it. "
    "With one of `artist_id`, `album_id` or `track_id`, only what belongs to that artist, album or "
    "track (404 if unknown, 403 if the token may not read it)."
)
NULL_IS_LEFT_OUT = " `null` is the same as leaving it out."


class ExportRange(msgspec.Struct, kw_only=True):
    period: Period = DEFAULT_PERIOD
    tz: Tz = "UTC"
    from_: (
        Annotated[
            LocalDate, doc("With `to`, instead of `period`: the first local date (not before 2000-01-01).")
        ]
        | UnsetType
    ) = msgspec.field(name="from", default=UNSET)
    to: (
        Annotated[LocalDate, doc("With `from`: the last local date, included, not after today.")] | UnsetType
    ) = UNSET
    artist_id: Annotated[
        Id | None,
        doc("Only what belongs to this artist (its tracks and albums, itself)." + NULL_IS_LEFT_OUT, 1),
    ] = None
    album_id: Annotated[
        Id | None,
        doc("Only what belongs to this album (its tracks, itself, its artist)." + NULL_IS_LEFT_OUT, 10),
    ] = None
    track_id: Annotated[
        Id | None,
        doc("Only what belongs to this track (itself, its album, its artists)." + NULL_IS_LEFT_OUT, 101),
    ] = None
    # Every export that carries breakdowns ranks as many values of each dimension.
    limit: Annotated[
        int,
        Meta(ge=1, le=BREAKDOWN_LIMIT),
        doc(
            "How many values of each dimension (country, source, platform) a breakdown ranks; the rest "
            "are `other`, as the breakdown endpoints' `limit`."
        ),
    ] = DEFAULT_BREAKDOWN_LIMIT


TABLE_TEXT = (
    "Which entities to list, and the period of the figures." + RULES_TEXT + " Unknown fields are ignored."
)


class TableExportRequest(ExportRange):
    __doc__ = TABLE_TEXT

    type: EntityType
    layout: Annotated[
        Layout,
        doc(
            "`entities`: a row per entity with its figures and listening (in JSON also its `breakdowns`). "
            "`breakdowns`: a row per entity, dimension and value (then `other` and `unknown` when they "
            "had plays), for a pivot table."
        ),
    ] = "entities"
    include_breakdowns: Annotated[
        bool,
        doc(
            "JSON, `entities` layout: give each row its `breakdowns` too (one more batched statement per "
            "page). A CSV has them as rows of their own (`layout`): true with the `entities` layout is "
            "refused there (422)."
        ),
    ] = False


class CsvExportRequest(TableExportRequest):
    __doc__ = (
        TABLE_TEXT
        + " A CSV has the breakdowns as rows of their own: `include_breakdowns` true asks for them only "
        'with `"layout": "breakdowns"` (with `entities` it is refused, 422).'
    )


class ReportRequest(ExportRange):
    __doc__ = "The period of the figures, and whether to add the chart series." + RULES_TEXT

    include_charts: Annotated[bool, doc("Add `chart`, the series over the period.")] = False


class PdfRequest(ExportRange):
    __doc__ = "The period of the report." + RULES_TEXT


# At most one entity: a body naming two is refused (422), and the schema says so (JSON Schema can state
# this rule between fields; a type cannot).
NOT_NULL: dict[str, Any] = {"not": {"type": "null"}}
ONE_FOCUS_AT_MOST: dict[str, Any] = {
    "not": {
        "anyOf": [
            {"required": [a, b], "properties": {a: NOT_NULL, b: NOT_NULL}}
            for a, b in itertools.combinations(("artist_id", "album_id", "track_id"), 2)
        ]
    }
}

# A CSV takes `include_breakdowns` only with the `breakdowns` layout (the code refuses it with
# `entities`, the default): false or left out, or the layout named.
CSV_BREAKDOWNS_AS_ROWS: dict[str, Any] = {
    "anyOf": [
        {"properties": {"include_breakdowns": {"const": False}}},
        {"required": ["layout"], "properties": {"layout": {"const": "breakdowns"}}},
    ]
}
RULES_BETWEEN_FIELDS = {"CsvExportRequest": CSV_BREAKDOWNS_AS_ROWS}

# One whole example each: built field by field it would ask for a period and a range, and three
# entities, at once (a 422 in /docs' curl and "Try it").
WHOLE_EXAMPLES: dict[str, dict[str, Any]] = {
    "TableExportRequest": {"type": "tracks", "period": "30-days", "tz": "UTC"},
    "CsvExportRequest": {"type": "tracks", "period": "30-days", "tz": "UTC"},
    "ReportRequest": {"period": "30-days", "include_charts": False, "tz": "UTC"},
    "PdfRequest": {"period": "30-days", "tz": "UTC"},
}

# ---- answers -----------------------------------------------------------------------------------------


class ExportFormat(Answer):
    """One export format."""

    id: Annotated[str, one_of(("csv", "json", "pdf"), None, "csv")]
    name: Annotated[Text, doc("A name to show.", "CSV")]
    description: Annotated[Text, doc("What the export holds.", "One row per track, album or artist...")]


class FormatList(Answer):
    """The formats."""

    formats: Annotated[list[ExportFormat], doc("csv, json and pdf.")]


class ExportFormats(Answer):
    """The formats in `data`, and at the top level as the first API version had them."""

    success: Literal[True]
    data: FormatList
    formats: Annotated[list[ExportFormat], doc("The same list.")]


class Row(Answer):
    plays: Annotated[Count, doc("`play` events in the period.", 240)]
    plays_total: Annotated[Count, doc("Every `play` event ever.", 1520)]
    listeners: Annotated[
        Count, doc("Distinct listeners in the period (distinct across an entity's tracks).", 85)
    ]
    likes: Annotated[Count, doc("`like` events in the period.", 31)]
    reposts: Annotated[Count, doc("`repost` events in the period.", 7)]
    from_: FirstDay = msgspec.field(name="from")
    to: LastDay
    tz: Tz
    listening: Listening
    breakdowns: (
        Annotated[Breakdowns, doc("Only with `include_breakdowns`: by country, source and platform.")]
        | UnsetType
    ) = UNSET


# A row's own fields follow `breakdowns`, which has a default: they are keyword-only (kw_only=True).
ROW_TEXT = (
    "with what tells it apart, its figures (period values unless `_total`), the period's dates and its "
    "listening."
)


class TrackRow(Row, kw_only=True):
    __doc__ = "One track " + ROW_TEXT

    track_id: TrackId
    title: Annotated[AnyText, doc("The title (empty when the catalog does not have it).", "Dawn")]
    album_id: Annotated[Id | None, doc("Its album, or null.", 10)]
    album: Annotated[AnyText, doc("The album's title (empty without an album).", "First Light")]
    artist_ids: Annotated[list[Id], doc("Its artists, primary first (in CSV: joined by `; `).")]
    artists: Annotated[
        list[Annotated[AnyText, doc("A name.", "Ana Vale")]],
        doc("Their names, in the same order (CSV: `; `)."),
    ]


class AlbumRow(Row, kw_only=True):
    __doc__ = "One album " + ROW_TEXT

    album_id: AlbumId
    title: Annotated[AnyText, doc("The title (empty when the catalog does not have it).", "First Light")]
    artist_id: Annotated[Id | None, doc("The album's artist.", 1)]
    artist: Annotated[AnyText, doc("The artist's name.", "Ana Vale")]


class ArtistRow(Row, kw_only=True):
    __doc__ = "One artist " + ROW_TEXT

    artist_id: ArtistId
    name: Annotated[AnyText, doc("The name (empty when the catalog does not have it).", "Ana Vale")]


class BreakdownSlice(Answer):
    dimension: Dimension
    slice: Annotated[
        str,
        one_of(
            ("ranked", "other", "unknown"),
            "`ranked`: one value; `other`: the values past `limit` together; `unknown`: plays that did "
            "not say.",
            "ranked",
        ),
    ]
    rank: Annotated[
        Annotated[int, Meta(ge=1, le=BREAKDOWN_LIMIT)] | None,
        doc("1 for the most played value; null for `other` and `unknown`.", 1),
    ]
    value: Annotated[
        str | None, doc("The country code, source or platform; null for `other` and `unknown`.", "DE")
    ]
    value_name: Annotated[
        Text, doc("The value for people: a country's name, `Artist page`, `iOS`...", "Germany")
    ]
    plays: Annotated[Count, doc("Plays of the range with this value.", 120)]
    listeners: Annotated[Count, doc("Their distinct listeners (across the values of `other`).", 64)]
    share: Annotated[
        float,
        Meta(ge=0, le=100),
        doc("These plays / every play of the entity in the range x 100, 1 decimal.", 37.5),
    ]
    from_: FirstDay = msgspec.field(name="from")
    to: LastDay
    tz: Tz


SLICE_TEXT = "(the `breakdowns` layout)."


class TrackBreakdownRow(BreakdownSlice):
    __doc__ = "One value of a dimension for one track " + SLICE_TEXT

    track_id: TrackId
    title: Annotated[AnyText, doc("The title (empty when the catalog does not have it).", "Dawn")]


class AlbumBreakdownRow(BreakdownSlice):
    __doc__ = "One value of a dimension for one album " + SLICE_TEXT

    album_id: AlbumId
    title: Annotated[AnyText, doc("The title (empty when the catalog does not have it).", "First Light")]


class ArtistBreakdownRow(BreakdownSlice):
    __doc__ = "One value of a dimension for one artist " + SLICE_TEXT

    artist_id: ArtistId
    name: Annotated[AnyText, doc("The name (empty when the catalog does not have it).", "Ana Vale")]


ROWS = (TrackRow, AlbumRow, ArtistRow, TrackBreakdownRow, AlbumBreakdownRow, ArtistBreakdownRow)
# One of six shapes without a tag to tell them apart: stated as JSON Schema's anyOf.
ANY_ROW = {"anyOf": [ref(row.__name__) for row in ROWS]}


class ExportRows(Answer):
    """The rows of the export, most played in the period first."""

    type: EntityType
    period: PeriodAsked
    from_: FirstDay = msgspec.field(name="from")
    to: LastDay
    tz: Tz
    layout: Layout
    rows: Annotated[
        list[Any],
        Meta(
            description="`entities`: one row per readable entity of `type`, most played in the period "
            "first, then by id. `breakdowns`: for each of them in that order and each dimension (country, "
            "source, platform), a row per ranked value, then `other` and `unknown` when they had plays.",
            extra_json_schema={"items": ANY_ROW},
        ),
    ]


class PeriodFigures(Answer):
    plays: Plays
    listeners: Listeners
    engagement: Engagement
    growth: Growth
    listening: Listening
    breakdowns: Breakdowns


class ReportSummary(PeriodFigures):
    """The figures over every readable track together (listeners distinct across all of them)."""

    artists: Annotated[Count, doc("Readable artists.", 1)]
    albums: Annotated[Count, doc("Readable albums.", 2)]
    tracks: Annotated[Count, doc("Readable tracks.", 24)]


class ReportArtist(PeriodFigures):
    """An artist: the same figures as GET /artists/{artistId}, its top tracks and collaborations."""

    artist_id: ArtistId
    name: Annotated[AnyText, doc("The artist's name.", "Ana Vale")]
    top_tracks: Annotated[
        list[RankedTrack],
        Meta(max_length=TOP_TRACKS),
        doc(f"Up to {TOP_TRACKS} tracks, most played in the period first."),
    ]
    collaborations: Annotated[
        Collaborations, doc("As GET /artists/{artistId}/collaborations, without `artist_id`.")
    ]


class ReportAlbum(PeriodFigures):
    """An album: the same figures as GET /albums/{albumId}, and all its tracks."""

    album_id: AlbumId
    title: AlbumTitle
    artist_id: AlbumArtist
    tracks: AlbumTracks


class ReportTrack(PeriodFigures):
    """A track: the same figures as GET /tracks/{trackId}, with its album and artists."""

    track_id: TrackId
    title: Annotated[AnyText, doc("The track's title (empty when the catalog does not have it).", "Dawn")]
    album_id: Annotated[Id | None, doc("Its album, or null.", 10)]
    artist_ids: Annotated[list[Id], doc("Its artists, primary first.")]


class ReportChart(Answer):
    """The chart of GET /artists/{artistId}/charts over every readable track, for the period's days."""

    timeframe: Annotated[
        str,
        one_of(
            [*TIMEFRAME_DAYS, "custom"], "The timeframe of a UTC period, else `custom`.", DEFAULT_TIMEFRAME
        ),
    ]
    interval: Annotated[
        str,
        one_of(
            INTERVALS,
            "A UTC period's as its timeframe's; else hour up to 7 days, day up to 90, week beyond.",
            "day",
        ),
    ]
    series: Annotated[
        list[ChartPoint], Meta(min_length=1), doc("Gap-filled buckets of the zone `tz`, oldest first.")
    ]


class Report(Answer):
    """Everything the token may read, for one period or range, in one zone."""

    period: PeriodAsked
    period_start: Annotated[LocalDate, doc("The first local date covered (as `from`).")]
    period_end: Annotated[LocalDate, doc("The last local date covered (as `to`).")]
    from_: FirstDay = msgspec.field(name="from")
    to: LastDay
    tz: Tz
    generated_at: Annotated[Timestamp, doc("When the report was made.")]
    summary: ReportSummary
    artists: Annotated[list[ReportArtist], doc("Readable artists, most played in the period first.")]
    albums: Annotated[list[ReportAlbum], doc("Readable albums, most played in the period first.")]
    tracks: Annotated[list[ReportTrack], doc("Readable tracks, most played in the period first.")]
    chart: Annotated[
        ReportChart | None,
        doc("The series over the period when `include_charts` is true, else null."),
    ]
