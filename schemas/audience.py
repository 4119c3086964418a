"""The audience answers: plays broken down by country, source or platform, and the listings of a
token's tracks, albums and artists (the OpenAPI document is generated from these types)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.fields import (
    AlbumId,
    Answer,
    AnyText,
    ArtistId,
    Count,
    Estimates,
    FirstDay,
    Id,
    LastDay,
    PeriodAsked,
    Text,
    TrackId,
    Tz,
    doc,
    one_of,
)

DIMENSIONS = ("country", "source", "platform")
BREAKDOWN_LIMIT, DEFAULT_BREAKDOWN_LIMIT = 50, 10
LIST_LIMIT, DEFAULT_LIST_LIMIT = 100, 50


class BreakdownRow(Answer):
    """One value of the dimension."""

    value: Annotated[Text, doc("The country code (upper case), source or platform.", "DE")]
    plays: Annotated[Count, doc("Plays with this value.", 120)]
    listeners: Annotated[Count, doc("Distinct listeners of those plays.", 64)]
    share: Annotated[
        float,
        Meta(ge=0, le=100),
        doc("This row's plays / every play in the range x 100, 1 decimal.", 37.5),
    ]


class PlaysAndListeners(Answer):
    """Plays and their distinct listeners."""

    plays: Annotated[Count, doc("Plays.", 12)]
    listeners: Annotated[Count, doc("Distinct listeners.", 9)]


Dimension = Annotated[str, one_of(DIMENSIONS, None, "country")]
# What a breakdown holds, in the endpoints' answers and in the exports' `breakdowns`.
Ranked = Annotated[list[BreakdownRow], Meta(max_length=BREAKDOWN_LIMIT), doc("Most plays first, then value.")]
Other = Annotated[PlaysAndListeners, doc("The values past `limit`, together.")]
Unknown = Annotated[PlaysAndListeners, doc("Plays without the field.")]


class Breakdown(Answer):
    dimension: Dimension
    period: PeriodAsked
    tz: Tz
    from_: FirstDay = msgspec.field(name="from")
    to: LastDay
    rows: Ranked
    other: Other
    unknown: Unknown
    estimates: Estimates


class DimensionBreakdown(Answer):
    """One dimension's breakdown, as the breakdown endpoints answer it without their header."""

    rows: Ranked
    other: Other
    unknown: Unknown


class Breakdowns(Answer):
    """Where and how the range's plays were listened to: by each dimension, as the breakdown endpoints
    answer it (without their header; `limit` values ranked)."""

    country: Annotated[DimensionBreakdown, doc("By the listener's country.")]
    source: Annotated[DimensionBreakdown, doc("By where the play came from.")]
    platform: Annotated[DimensionBreakdown, doc("By what it played on.")]


class TrackBreakdown(Breakdown):
    """Where and how the track's plays of the range were listened to."""

    track_id: TrackId


class AlbumBreakdown(Breakdown):
    """Where and how the album's plays of the range were listened to."""

    album_id: AlbumId


class ArtistBreakdown(Breakdown):
    """Where and how the artist's plays of the range were listened to."""

    artist_id: ArtistId


# ---- listings ----------------------------------------------------------------------------------------

NextCursor = Annotated[
    str | None, doc("Pass it as `cursor` for the next page; null on the last page.", "dHJhY2tzOjEwMg")
]


class TrackItem(Answer):
    """A track of the catalog."""

    track_id: TrackId
    title: Annotated[AnyText, doc("Its title (empty for a track counted without a catalog entry).", "Dawn")]
    album_id: Annotated[Id | None, doc("Its album, or null.", 10)]
    artist_ids: Annotated[list[Id], doc("Its artists, primary first (none when not catalogued).")]


class AlbumItem(Answer):
    """An album of the catalog."""

    album_id: AlbumId
    title: Annotated[AnyText, doc("Its title.", "First Light")]
    artist_id: Annotated[Id, doc("Its artist.", 1)]


class ArtistItem(Answer):
    """An artist."""

    artist_id: ArtistId
    name: Annotated[AnyText, doc("Its name (empty when only a track lists it).", "Ana Vale")]


class TrackList(Answer):
    """A page of the tracks the token may read."""

    items: Annotated[list[TrackItem], Meta(max_length=LIST_LIMIT), doc("Ascending by id.")]
    next_cursor: NextCursor


class AlbumList(Answer):
    """A page of the albums the token may read."""

    items: Annotated[list[AlbumItem], Meta(max_length=LIST_LIMIT), doc("Ascending by id.")]
    next_cursor: NextCursor


class ArtistList(Answer):
    """A page of the artists the token may read."""

    items: Annotated[list[ArtistItem], Meta(max_length=LIST_LIMIT), doc("Ascending by id.")]
    next_cursor: NextCursor
