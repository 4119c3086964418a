"""The JSON shapes the read endpoints and the exports share: an entity's figures, and an artist's
collaborations, so an export answers exactly what GET /tracks|albums|artists/{id} answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from api.read.catalog_lookup import TrackEntry
from schemas.figures import TOP_COLLABORATORS
from schemas.periods import percent_change


class HasFigures(Protocol):
    @property
    def plays_total(self) -> int: ...
    @property
    def listeners_total(self) -> int: ...
    @property
    def plays(self) -> int: ...
    @property
    def listeners(self) -> int: ...
    @property
    def likes(self) -> int: ...
    @property
    def reposts(self) -> int: ...
    @property
    def previous_plays(self) -> int: ...
    @property
    def previous_listeners(self) -> int: ...


def figures_json(f: HasFigures) -> dict[str, Any]:
    return {
        "plays": {"total": f.plays_total, "period": f.plays},
        "listeners": {"total": f.listeners_total, "unique": f.listeners},
        "engagement": {"likes": f.likes, "reposts": f.reposts},
        "growth": {
            "plays_change": percent_change(f.plays, f.previous_plays),
            "listeners_change": percent_change(f.listeners, f.previous_listeners),
        },
    }


def collaborations_json(
    artist_id: int, tracks: Sequence[TrackEntry], plays: Mapping[int, int], names: Mapping[int, str]
) -> dict[str, Any]:
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
    return {
        "total_collaborations": len(shared),
        "top_collaborators": [
            {"artist_id": a, "name": names.get(a, ""), "tracks": tracks_with[a], "plays": plays_with[a]}
            for a in top
        ],
        "collaboration_tracks": [
            {"track_id": t.track_id, "title": t.title, "artist_ids": list(t.artist_ids)}
            | {"plays": plays.get(t.track_id, 0)}
            for t in shared
        ],
    }


def collaborators_of(artist_id: int, tracks: Sequence[TrackEntry]) -> list[int]:
    """Every other artist on the artist's tracks, ascending (whose names the answer may show)."""
    return sorted({a for t in tracks for a in t.artist_ids if a != artist_id})
