"""The Insights read endpoints (ARCHITECTURE §6.3): parse, authorise, query, shape.

Tracks, albums and artists share one shape of analytics and charts, computed over their tracks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import analytics_queries as analytics
from api.access import check_album, check_artist, check_track, claims_of
from api.catalog_queries import AlbumEntry, ArtistEntry, TrackEntry
from api.catalog_snapshot import Catalog
from api.errors import validation_failed
from api.responses import success
from insights.store import Store
from schemas.periods import (
    DEFAULT_PERIOD,
    DEFAULT_TIMEFRAME,
    PERIOD_DAYS,
    TIMEFRAME_DAYS,
    ChartBuckets,
    PeriodBounds,
    chart_buckets,
    percent_change,
    period_bounds,
    realtime_minutes,
)

BASE = "/api/v1/producer-intelligence/insights"
MAX_ID = 2**63 - 1
TOP_TRACKS = 10
TOP_COLLABORATORS = 10


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def path_id(request: Request, name: str) -> int:
    text = request.path_params[name]
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise validation_failed(name, f"{name} must be an integer from 1 to 2^63-1.")
    return int(text)


def requested_period(request: Request) -> PeriodBounds:
    name = request.query_params.get("period", DEFAULT_PERIOD)
    try:
        return period_bounds(name, datetime.now(UTC))
    except KeyError:
        raise validation_failed("period", f"period must be one of {', '.join(PERIOD_DAYS)}.") from None


def requested_timeframe(request: Request) -> ChartBuckets:
    name = request.query_params.get("timeframe", DEFAULT_TIMEFRAME)
    try:
        return chart_buckets(name, datetime.now(UTC))
    except KeyError:
        choices = ", ".join(TIMEFRAME_DAYS)
        raise validation_failed("timeframe", f"timeframe must be one of {choices}.") from None


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def catalog_of(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def figures_body(f: analytics.Figures, bounds: PeriodBounds) -> dict[str, Any]:
    return {
        "period": bounds.name,
        "plays": {"total": f.plays_total, "period": f.plays},
        "listeners": {"total": f.listeners_total, "unique": f.listeners},
        "engagement": {"likes": f.likes, "reposts": f.reposts},
        "growth": {
            "plays_change": percent_change(f.plays, f.previous_plays),
            "listeners_change": percent_change(f.listeners, f.previous_listeners),
        },
    }


def ranked_tracks(
    tracks: Sequence[TrackEntry], found: dict[int, analytics.TrackPeriod], limit: int | None = None
) -> list[dict[str, Any]]:
    """Tracks with their period plays and listeners, most played first (ties: lower id first)."""
    none = analytics.TrackPeriod(0, 0, 0)
    ranked = sorted(tracks, key=lambda t: (-found.get(t.track_id, none).plays, t.track_id))
    return [
        {
            "track_id": t.track_id,
            "title": t.title,
            "plays": found.get(t.track_id, none).plays,
            "listeners": found.get(t.track_id, none).listeners,
        }
        for t in ranked[:limit]
    ]


async def chart_body(store: Store, track_ids: Sequence[int], buckets: ChartBuckets) -> dict[str, Any]:
    points = await analytics.chart(store, track_ids, buckets)
    return {
        "timeframe": buckets.timeframe,
        "interval": buckets.interval,
        "series": [
            {"t": rfc3339(p.t), "plays": p.plays, "listeners": p.listeners, "likes": p.likes}
            | {"reposts": p.reposts}
            for p in points
        ],
    }


async def readable_track(request: Request) -> TrackEntry:
    track_id = path_id(request, "trackId")
    return check_track(claims_of(request), await catalog_of(request).track(track_id), track_id)


async def readable_album(request: Request) -> AlbumEntry:
    album_id = path_id(request, "albumId")
    return check_album(claims_of(request), await catalog_of(request).album(album_id), album_id)


async def readable_artist(request: Request) -> ArtistEntry:
    artist_id = path_id(request, "artistId")
    return check_artist(claims_of(request), await catalog_of(request).artist(artist_id), artist_id)


async def track_analytics(request: Request) -> Response:
    bounds = requested_period(request)
    track = await readable_track(request)
    figures = await analytics.figures(store_of(request), [track.track_id], bounds)
    return success({"track_id": track.track_id, "title": track.title} | figures_body(figures, bounds))


async def track_chart(request: Request) -> Response:
    buckets = requested_timeframe(request)
    track = await readable_track(request)
    body = await chart_body(store_of(request), [track.track_id], buckets)
    return success({"track_id": track.track_id} | body)


async def track_realtime(request: Request) -> Response:
    track = await readable_track(request)
    now = datetime.now(UTC).replace(microsecond=0)
    minutes = realtime_minutes(now)
    live = await analytics.realtime(store_of(request), track.track_id, now, minutes[0])
    return success(
        {
            "track_id": track.track_id,
            "active_listeners": live.active_listeners,
            "plays_last_5m": live.plays_last_5m,
            "plays_last_60m": live.plays_last_60m,
            "series": [
                {"t": rfc3339(m), "plays": live.plays_per_minute.get(int(m.timestamp()), 0)} for m in minutes
            ],
            "as_of": rfc3339(now),
        }
    )


async def grouped_analytics(
    request: Request,
    bounds: PeriodBounds,
    header: dict[str, Any],
    tracks: Sequence[TrackEntry],
    list_key: str,
    limit: int | None = None,
) -> Response:
    """Figures over a group of tracks (an album, an artist), plus its tracks ranked by plays."""
    track_ids = [t.track_id for t in tracks]
    figures, per_track = await analytics.group_figures(store_of(request), track_ids, bounds)
    return success(
        header | figures_body(figures, bounds) | {list_key: ranked_tracks(tracks, per_track, limit)}
    )


async def album_analytics(request: Request) -> Response:
    bounds = requested_period(request)
    album = await readable_album(request)
    header = {"album_id": album.album_id, "title": album.title, "artist_id": album.artist_id}
    return await grouped_analytics(request, bounds, header, album.tracks, "tracks")


async def album_chart(request: Request) -> Response:
    buckets = requested_timeframe(request)
    album = await readable_album(request)
    body = await chart_body(store_of(request), album.track_ids, buckets)
    return success({"album_id": album.album_id} | body)


async def artist_analytics(request: Request) -> Response:
    bounds = requested_period(request)
    artist = await readable_artist(request)
    header = {"artist_id": artist.artist_id, "name": artist.name}
    return await grouped_analytics(request, bounds, header, artist.tracks, "top_tracks", TOP_TRACKS)


async def artist_chart(request: Request) -> Response:
    buckets = requested_timeframe(request)
    artist = await readable_artist(request)
    body = await chart_body(store_of(request), artist.track_ids, buckets)
    return success({"artist_id": artist.artist_id} | body)


async def artist_collaborations(request: Request) -> Response:
    artist = await readable_artist(request)
    artist_id, store = artist.artist_id, store_of(request)
    shared = [t for t in artist.tracks if len(t.artist_ids) > 1]
    plays = await analytics.plays_total(store, [t.track_id for t in shared])
    tracks_with: Counter[int] = Counter()
    plays_with: Counter[int] = Counter()
    for track in shared:
        for other in track.artist_ids:
            if other != artist_id:
                tracks_with[other] += 1
                plays_with[other] += plays.get(track.track_id, 0)
    top = sorted(tracks_with, key=lambda a: (-tracks_with[a], -plays_with[a], a))[:TOP_COLLABORATORS]
    names = await catalog_of(request).artist_names(top)
    shared.sort(key=lambda t: (-plays.get(t.track_id, 0), t.track_id))
    return success(
        {
            "artist_id": artist_id,
            "total_collaborations": len(shared),
            "top_collaborators": [
                {"artist_id": a, "name": names.get(a, ""), "tracks": tracks_with[a]}
                | {"plays": plays_with[a]}
                for a in top
            ],
            "collaboration_tracks": [
                {"track_id": t.track_id, "title": t.title, "artist_ids": list(t.artist_ids)}
                | {"plays": plays.get(t.track_id, 0)}
                for t in shared
            ],
        }
    )


routes = [
    Route(BASE + "/tracks/{trackId}", track_analytics, methods=["GET"]),
    Route(BASE + "/tracks/{trackId}/charts", track_chart, methods=["GET"]),
    Route(BASE + "/tracks/{trackId}/realtime", track_realtime, methods=["GET"]),
    Route(BASE + "/albums/{albumId}", album_analytics, methods=["GET"]),
    Route(BASE + "/albums/{albumId}/charts", album_chart, methods=["GET"]),
    Route(BASE + "/artists/{artistId}", artist_analytics, methods=["GET"]),
    Route(BASE + "/artists/{artistId}/charts", artist_chart, methods=["GET"]),
    Route(BASE + "/artists/{artistId}/collaborations", artist_collaborations, methods=["GET"]),
]
