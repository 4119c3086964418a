"""The parts of the answers that the read endpoints and the exports share, built as the types the
OpenAPI document is generated from (schemas/figures.py, schemas/audience.py): an entity's figures and
listening, its tracks ranked, chart buckets, breakdowns and collaborations. One builder each, so an
export answers exactly what GET /tracks|albums|artists/{id} answer, and no answer can stray from its
documented shape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from api.read.audience_queries import NO_BREAKDOWN, Breakdown, Breakdowns, average_ms, share
from api.read.catalog_lookup import TrackEntry
from api.read.chart_queries import ChartPoint as Bucket
from api.read.figures_sql import Figures
from schemas.audience import DIMENSIONS, DimensionBreakdown, PlaysAndListeners
from schemas.audience import BreakdownRow as ShownRow
from schemas.audience import Breakdowns as EveryBreakdown
from schemas.figures import (
    TOP_COLLABORATORS,
    ChartPoint,
    Collaborations,
    CollaborationTrack,
    Collaborator,
    Engagement,
    Growth,
    Listeners,
    Listening,
    Plays,
    RankedTrack,
)
from schemas.local_ranges import rfc3339_local
from schemas.periods import percent_change


class HasPeriod(Protocol):
    """A track's plays and listeners in the period."""

    @property
    def plays(self) -> int: ...
    @property
    def listeners(self) -> int: ...


def figure_fields(f: Figures) -> dict[str, Any]:
    """`plays`, `listeners`, `engagement`, `growth` and `listening`: the fields every answer over a range
    has for its figures, as keyword arguments of its type."""
    return {
        "plays": Plays(total=f.plays_total, period=f.plays),
        "listeners": Listeners(total=f.listeners_total, unique=f.listeners),
        "engagement": Engagement(likes=f.likes, reposts=f.reposts),
        "growth": Growth(
            plays_change=percent_change(f.plays, f.previous_plays),
            listeners_change=percent_change(f.listeners, f.previous_listeners),
        ),
        "listening": listening(f.qualified_plays, f.listened_ms, f.timed_plays),
    }


def listening(qualified_plays: int, total_ms: int, timed_plays: int) -> Listening:
    return Listening(
        qualified_plays=qualified_plays, total_ms=total_ms, avg_ms=average_ms(total_ms, timed_plays)
    )


def ranked_tracks(
    tracks: Sequence[TrackEntry], found: Mapping[int, HasPeriod], limit: int | None = None
) -> list[RankedTrack]:
    """Tracks with their period plays and listeners, most played first (ties: lower id first)."""
    shown = [
        RankedTrack(track_id=t.track_id, title=t.title, plays=f.plays, listeners=f.listeners)
        if (f := found.get(t.track_id)) is not None
        else RankedTrack(track_id=t.track_id, title=t.title, plays=0, listeners=0)
        for t in tracks
    ]
    return sorted(shown, key=lambda r: (-r.plays, r.track_id))[:limit]


def chart_series(points: Sequence[Bucket], tz: str) -> list[ChartPoint]:
    """A chart's buckets, each starting at `t` as the zone `tz` writes it."""
    return [
        ChartPoint(
            t=rfc3339_local(p.t, tz), plays=p.plays, listeners=p.listeners, likes=p.likes, reposts=p.reposts
        )
        for p in points
    ]


def breakdown(found: Breakdown) -> DimensionBreakdown:
    """One dimension's ranked values, the rest together, and the plays that did not say."""
    return DimensionBreakdown(
        rows=[
            ShownRow(value=r.value, plays=r.plays, listeners=r.listeners, share=share(r.plays, found.plays))
            for r in found.rows
        ],
        other=PlaysAndListeners(plays=found.other.plays, listeners=found.other.listeners),
        unknown=PlaysAndListeners(plays=found.unknown.plays, listeners=found.unknown.listeners),
    )


def entity_breakdowns(found: Breakdowns, entity_id: int) -> EveryBreakdown:
    """Each dimension's breakdown of one entity, as the breakdown endpoint answers it (none: no play)."""
    return EveryBreakdown(**{d: breakdown(found.get((entity_id, d), NO_BREAKDOWN)) for d in DIMENSIONS})


def collaborations(
    artist_id: int, tracks: Sequence[TrackEntry], plays: Mapping[int, int], names: Mapping[int, str]
) -> Collaborations:
    """Tracks the artist shares with others (most played first), and the top collaborators: most shared
    tracks, then most all-time plays of those tracks, then lower id. `plays`: all-time plays per track."""
    shared = sorted(
        (t for t in tracks if len(t.artist_ids) > 1), key=lambda t: (-plays.get(t.track_id, 0), t.track_id)
    )
    tracks_with: Counter[int] = Counter()
    plays_with: Counter[int] = Counter()
    for track in shared:
        for other in track.artist_ids:
            if other != artist_id:
                tracks_with[other] += 1
                plays_with[other] += plays.get(track.track_id, 0)
    top = sorted(tracks_with, key=lambda a: (-tracks_with[a], -plays_with[a], a))[:TOP_COLLABORATORS]
    return Collaborations(
        total_collaborations=len(shared),
        top_collaborators=[
            Collaborator(artist_id=a, name=names.get(a, ""), tracks=tracks_with[a], plays=plays_with[a])
            for a in top
        ],
        collaboration_tracks=[
            CollaborationTrack(
                track_id=t.track_id,
                title=t.title,
                artist_ids=list(t.artist_ids),
                plays=plays.get(t.track_id, 0),
            )
            for t in shared
        ],
    )


def collaborators_of(artist_id: int, tracks: Sequence[TrackEntry]) -> list[int]:
    """Every other artist on the artist's tracks, ascending (whose names the answer may show)."""
    return sorted({a for t in tracks for a in t.artist_ids if a != artist_id})
