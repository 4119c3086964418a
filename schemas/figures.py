"""The answers of the read endpoints: a track's, album's or artist's figures, charts, realtime and
collaborations, as the OpenAPI document states them (generated from these types)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.fields import (
    INTERVALS,
    AlbumId,
    Answer,
    AnyText,
    ArtistId,
    CompleteThrough,
    Count,
    Estimates,
    FirstDay,
    Id,
    LastDay,
    LocalTimestamp,
    PeriodAsked,
    Text,
    Timestamp,
    TrackId,
    Tz,
    doc,
    one_of,
)
from schemas.periods import DEFAULT_TIMEFRAME, REALTIME_MINUTES, TIMEFRAME_DAYS, TIMEFRAME_INTERVAL

TOP_TRACKS = 10
TOP_COLLABORATORS = 10


class Plays(Answer):
    """`play` events; a duplicate `event_id` counts once."""

    total: Annotated[Count, doc("Every `play` event ever.", 1520)]
    period: Annotated[Count, doc("`play` events whose `occurred_at` is in the period.", 240)]


class Listeners(Answer):
    """Distinct `listener_id`s of `play` events. Exact up to 100,000; a count that has once passed
    102,000 for the same tracks and days may then be an estimate within 1 % (sketches, about 0.3 %
    standard error). For an album or an artist a listener is counted once across all its tracks,
    never summed per track."""

    total: Annotated[Count, doc("Distinct listeners over all `play` events ever.", 310)]
    unique: Annotated[Count, doc("Distinct listeners over the `play` events in the period.", 85)]


class Engagement(Answer):
    """Engagement events in the period."""

    likes: Annotated[Count, doc("`like` events in the period.", 31)]
    reposts: Annotated[Count, doc("`repost` events in the period.", 7)]


class Growth(Answer):
    """Change against the previous period of the same length, in percent."""

    plays_change: Annotated[
        float | None,
        doc(
            "(period - previous) / previous * 100 on `plays.period`, rounded half away from zero to one "
            "decimal; null when the previous period had no plays.",
            12.5,
        ),
    ]
    listeners_change: Annotated[
        float | None,
        doc("The same on `listeners.unique`; null when the previous period had none.", -3.1),
    ]


class Listening(Answer):
    """How long the range's plays were listened to."""

    qualified_plays: Annotated[
        Count, doc("Plays with `listened_ms` of 30,000 or more (the 30-second rule).", 180)
    ]
    total_ms: Annotated[Count, doc("The sum of `listened_ms` over the plays.", 27_000_000)]
    avg_ms: Annotated[
        Count | None,
        doc("`total_ms` / plays that carry `listened_ms`, rounded; null when none does.", 150_000),
    ]


class RankedTrack(Answer):
    """A track with its figures in the period."""

    track_id: TrackId
    title: Annotated[Text, doc("The track's title.", "Dawn")]
    plays: Annotated[Count, doc("`play` events in the period.", 120)]
    listeners: Annotated[Count, doc("Distinct listeners in the period (estimated as in `Listeners`).", 48)]


class ChartPoint(Answer):
    """One bucket: a whole local hour, day, ISO week or month of `tz`."""

    t: Annotated[LocalTimestamp, doc("The bucket's start, with the zone's offset.")]
    plays: Annotated[Count, doc("`play` events in the bucket.", 12)]
    listeners: Annotated[Count, doc("Distinct listeners in the bucket.", 9)]
    likes: Annotated[Count, doc("`like` events in the bucket.", 2)]
    reposts: Annotated[Count, doc("`repost` events in the bucket.", 1)]


class MinutePoint(Answer):
    """One UTC minute."""

    t: Annotated[Timestamp, doc("The minute's start.")]
    plays: Annotated[Count, doc("`play` events in that minute.", 3)]


class Collaborator(Answer):
    """An artist who shares tracks with this one."""

    artist_id: Annotated[Id, doc("The collaborator.", 2)]
    name: Annotated[AnyText, doc("The collaborator's name (empty if not in the catalog).", "Ben Cross")]
    tracks: Annotated[Count, doc("Tracks the two artists share.", 2)]
    plays: Annotated[Count, doc("All-time plays of those tracks.", 640)]


class CollaborationTrack(Answer):
    """A track listing this artist and at least one other."""

    track_id: Annotated[Id, doc("The track.", 102)]
    title: Annotated[Text, doc("The track's title.", "Tide (with Ben)")]
    artist_ids: Annotated[
        list[Id], Meta(min_length=2), doc("Every artist of the track, primary first.", [1, 2])
    ]
    plays: Annotated[Count, doc("All-time plays of the track.", 410)]


# ---- what every answer over a range says of it, and the figures over it ----------------------------


class Range(Answer):
    period: PeriodAsked
    tz: Tz
    from_: FirstDay = msgspec.field(name="from")
    to: LastDay
    estimates: Estimates


class RangeFigures(Range):
    plays: Plays
    listeners: Listeners
    engagement: Engagement
    growth: Growth
    listening: Listening
    complete_through: CompleteThrough


# What an album's answers say of it (GET /albums/{albumId}, and the report's albums).
AlbumTitle = Annotated[Text, doc("The album's title.", "First Light")]
AlbumArtist = Annotated[Id, doc("The album's artist.", 1)]
AlbumTracks = Annotated[list[RankedTrack], doc("Every track of the album, most played in the period first.")]


class TrackAnalytics(RangeFigures):
    """A track's figures for the period."""

    track_id: TrackId
    title: Annotated[AnyText, doc("The track's title (empty while only its events are known).", "Dawn")]


class AlbumAnalytics(RangeFigures):
    """The figures over all the album's tracks (listeners distinct across them), and its tracks."""

    album_id: AlbumId
    title: AlbumTitle
    artist_id: AlbumArtist
    tracks: AlbumTracks


class ArtistAnalytics(RangeFigures):
    """The figures over every track that lists the artist (listeners distinct across them)."""

    artist_id: ArtistId
    name: Annotated[
        AnyText,
        doc(
            "The artist's name (empty while a track lists the artist but the catalog does not have it).",
            "Ana Vale",
        ),
    ]
    top_tracks: Annotated[
        list[RankedTrack],
        Meta(max_length=TOP_TRACKS),
        doc(f"Up to {TOP_TRACKS} of the artist's tracks, most played in the period first."),
    ]


# ---- charts and realtime ---------------------------------------------------------------------------

DEFAULT_INTERVALS = ", ".join(f"{t} → {i}" for t, i in TIMEFRAME_INTERVAL.items())


class Chart(Range):
    timeframe: Annotated[
        str,
        one_of(
            [*TIMEFRAME_DAYS, "custom"],
            "The timeframe asked for, or `custom` for a `from`/`to` range.",
            DEFAULT_TIMEFRAME,
        ),
    ]
    interval: Annotated[
        str,
        one_of(
            INTERVALS,
            f"The bucket size; by default {DEFAULT_INTERVALS}, and for a range: hour up to 7 days, day up "
            "to 90, week beyond.",
            "day",
        ),
    ]
    series: Annotated[list[ChartPoint], Meta(min_length=1), doc("The buckets, oldest first.")]
    complete_through: CompleteThrough


class TrackChart(Chart):
    """Gap-filled buckets of the track's events in the zone `tz`, oldest first, from the bucket holding
    the range's start to the bucket holding its end (now, when it ends today), both included."""

    track_id: TrackId


class AlbumChart(Chart):
    """Gap-filled buckets of the events of all the album's tracks in the zone `tz`, oldest first, from
    the bucket holding the range's start to the bucket holding its end (now, when it ends today), both
    included."""

    album_id: AlbumId


class ArtistChart(Chart):
    """Gap-filled buckets of the events of all the artist's tracks in the zone `tz`, oldest first, from
    the bucket holding the range's start to the bucket holding its end (now, when it ends today), both
    included."""

    artist_id: ArtistId


class TrackRealtime(Answer):
    """What is happening on the track right now."""

    track_id: TrackId
    active_listeners: Annotated[
        Count, doc("Distinct listeners with any `play` or `heartbeat` on the track in the last 5 minutes.", 4)
    ]
    plays_last_5m: Annotated[Count, doc("`play` events with `occurred_at` in the last 5 minutes.", 6)]
    plays_last_60m: Annotated[Count, doc("`play` events with `occurred_at` in the last 60 minutes.", 41)]
    series: Annotated[
        list[MinutePoint],
        Meta(min_length=REALTIME_MINUTES, max_length=REALTIME_MINUTES),
        doc(f"{REALTIME_MINUTES} one-minute buckets, oldest first, the last one holding `as_of`."),
    ]
    as_of: Annotated[Timestamp, doc("The moment the figures are for.")]


class Collaborations(Answer):
    """Who the artist works with, by all-time plays."""

    total_collaborations: Annotated[Count, doc("Tracks the artist shares with at least one other artist.", 2)]
    top_collaborators: Annotated[
        list[Collaborator],
        Meta(max_length=TOP_COLLABORATORS),
        doc(f"Up to {TOP_COLLABORATORS} collaborators: most shared tracks first, then most plays."),
    ]
    collaboration_tracks: Annotated[
        list[CollaborationTrack], doc("Every shared track, most played (all time) first.")
    ]


class ArtistCollaborations(Collaborations):
    """Who the artist works with, by all-time plays."""

    artist_id: ArtistId
