"""Where they listen and what the token can see: the breakdowns of a track, album or artist by country,
source or platform, and the listings of the tracks, albums and artists a token may read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.access import claims_of
from api.http.errors import validation_failed
from api.http.responses import success
from api.read import audience_queries as audience
from api.read.analytics_routes import (
    ANALYTICS_MAX_AGE,
    BASE,
    catalog_of,
    id_text,
    range_fields,
    readable_album,
    readable_artist,
    readable_track,
    reads_of,
    store_of,
)
from api.read.figure_bodies import breakdown
from api.read.listing_routes import (
    DEFAULT_LIMIT,
    KINDS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    OWNER_FILTERS,
    BadCursor,
    Owner,
    decode_cursor,
    encode_cursor,
    page,
)
from api.read.range_params import check_parameters, requested_range
from schemas import audience as shapes
from schemas.audience import BREAKDOWN_LIMIT, DEFAULT_BREAKDOWN_LIMIT, DIMENSIONS
from schemas.local_ranges import LocalRange

LISTS: dict[str, Any] = {"tracks": shapes.TrackList, "albums": shapes.AlbumList, "artists": shapes.ArtistList}

# The figures of a breakdown over a range that starts before the audience rollups hold every event.
PARTIAL_BREAKDOWN = ["rows", "other", "unknown"]


def bounded_integer(request: Request, name: str, default: int, highest: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= highest:
        raise validation_failed(name, f"{name} must be an integer from 1 to {highest}.")
    return int(text)


def requested_breakdown(request: Request) -> tuple[LocalRange, str, int]:
    chosen = requested_range(request, ("dimension", "limit"))
    dimension = request.query_params.get("dimension", "")
    if dimension not in DIMENSIONS:
        choices = ", ".join(DIMENSIONS)
        raise validation_failed("dimension", f"dimension is required, one of {choices}.")
    return chosen, dimension, bounded_integer(request, "limit", DEFAULT_BREAKDOWN_LIMIT, BREAKDOWN_LIMIT)


async def breakdown_answer(
    request: Request,
    kind: type[shapes.Breakdown],
    entity: dict[str, Any],
    track_ids: Sequence[int],
    asked: tuple[LocalRange, str, int],
) -> Response:
    """The breakdown of `track_ids` as `kind` with `entity` (its id)."""
    chosen, dimension, limit = asked
    reads = reads_of(request)
    store = store_of(request)
    found = await reads.answers.answer(
        ("breakdown", dimension, limit, tuple(sorted(set(track_ids))), chosen),
        track_ids,
        lambda: audience.breakdown(store, track_ids, dimension, chosen, limit),
        lambda found: 1 + len(found.rows),
    )
    partial = await reads.audience.partial(store, [(chosen.start, chosen.end)])
    answer = kind(
        **entity,
        dimension=dimension,
        **range_fields(chosen, PARTIAL_BREAKDOWN if partial else []),
        **msgspec.structs.asdict(breakdown(found)),
    )
    return success(answer, max_age=ANALYTICS_MAX_AGE)


async def track_breakdown(request: Request) -> Response:
    asked = requested_breakdown(request)
    track = await readable_track(request)
    entity = {"track_id": track.track_id}
    return await breakdown_answer(request, shapes.TrackBreakdown, entity, [track.track_id], asked)


async def album_breakdown(request: Request) -> Response:
    asked = requested_breakdown(request)
    album = await readable_album(request)
    entity = {"album_id": album.album_id}
    return await breakdown_answer(request, shapes.AlbumBreakdown, entity, album.track_ids, asked)


async def artist_breakdown(request: Request) -> Response:
    asked = requested_breakdown(request)
    artist = await readable_artist(request)
    entity = {"artist_id": artist.artist_id}
    return await breakdown_answer(request, shapes.ArtistBreakdown, entity, artist.track_ids, asked)


def owner_filter(request: Request, kind: str) -> Owner | None:
    """The `artist_id` and/or `album_id` a listing is narrowed to, else None."""
    given = {n: request.query_params[n] for n in OWNER_FILTERS[kind] if n in request.query_params}
    return Owner(**{name: id_text(name, text) for name, text in given.items()}) if given else None


def listing_endpoint(kind: str) -> Any:
    async def listing(request: Request) -> Response:
        check_parameters(request, ("q", "limit", "cursor", *OWNER_FILTERS[kind]))
        owner = owner_filter(request, kind)
        query = request.query_params.get("q", "")
        if len(query) > MAX_QUERY_CHARS:
            raise validation_failed("q", f"q is at most {MAX_QUERY_CHARS} characters.")
        limit = bounded_integer(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        cursor = request.query_params.get("cursor")
        try:
            last_id = 0 if not cursor else decode_cursor(kind, cursor)  # empty: the first page
        except BadCursor:
            raise validation_failed("cursor", "cursor must be a next_cursor this endpoint gave.") from None
        snapshot = await catalog_of(request).snapshot()
        claims = claims_of(request)
        items, following = await page(
            store_of(request), snapshot, kind, claims, last_id, query.casefold(), limit, owner
        )
        next_cursor = None if following is None else encode_cursor(kind, following)
        return success(LISTS[kind](items=items, next_cursor=next_cursor))

    listing.__name__ = f"list_{kind}"
    return listing


routes = [
    Route(BASE + "/tracks/{trackId}/breakdown", track_breakdown, methods=["GET"]),
    Route(BASE + "/albums/{albumId}/breakdown", album_breakdown, methods=["GET"]),
    Route(BASE + "/artists/{artistId}/breakdown", artist_breakdown, methods=["GET"]),
    *(Route(f"{BASE}/{kind}", listing_endpoint(kind), methods=["GET"]) for kind in KINDS),
]
