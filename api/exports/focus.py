"""An export's focus: the artist, album or track on screen (`artist_id`, `album_id` or `track_id` in the
body), which narrows an export to what belongs to it. Unknown: 404; not readable by the token: 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from api.http.access import check_album, check_artist, check_track
from api.http.errors import validation_failed
from api.read.analytics_routes import catalog_of
from schemas.events import whole
from schemas.fields import MAX_ID

FOCUS_FIELDS = ("artist_id", "album_id", "track_id")


@dataclass(frozen=True)
class Focus:
    """The ids of each kind that belong to the entity in focus."""

    tracks: frozenset[int]
    albums: frozenset[int]
    artists: frozenset[int]

    def ids(self, kind: str) -> frozenset[int]:
        ids: frozenset[int] = getattr(self, kind)
        return ids


def focus_field(body: dict[str, Any]) -> tuple[str, int] | None:
    """The one focus field of a body, checked, or None; two at once is a 422."""
    given = [name for name in FOCUS_FIELDS if body.get(name) is not None]
    if len(given) > 1:
        raise validation_failed(given[1], f"Give at most one of {', '.join(FOCUS_FIELDS)}.")
    if not given:
        return None
    value = whole(body[given[0]])  # 10.0 is the integer 10, as in every id of a request
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise validation_failed(given[0], f"{given[0]} must be an integer from 1 to {MAX_ID}.")
    return given[0], value


async def resolve_focus(request: Request, field: tuple[str, int] | None) -> Focus | None:
    if field is None:
        return None
    name, entity_id = field
    catalog = catalog_of(request)
    if name == "track_id":
        track = check_track(request, await catalog.track(entity_id), entity_id)
        albums = frozenset(() if track.album_id is None else (track.album_id,))
        return Focus(frozenset((entity_id,)), albums, frozenset(track.artist_ids))
    if name == "album_id":
        album = check_album(request, await catalog.album(entity_id), entity_id)
        return Focus(frozenset(album.track_ids), frozenset((entity_id,)), frozenset((album.artist_id,)))
    artist = check_artist(request, await catalog.artist(entity_id), entity_id)
    snapshot = await catalog.snapshot()
    albums = frozenset(a.album_id for a in snapshot.albums.values() if a.artist_id == entity_id)
    return Focus(frozenset(artist.track_ids), albums, frozenset((entity_id,)))
