"""The comprehensive report (POST /export/report, and the PDF's content): everything a token may read,
with the same figures, listening and breakdowns the single-entity endpoints answer, gathered in a
handful of batched queries."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api.exports.focus import Focus
from api.exports.queries import (
    NO_FIGURES,
    Figures,
    breakdowns_of,
    figures_of,
    readable_all,
    report_albums,
    report_tracks,
)
from api.http.access import may_read_artists
from api.read import analytics_queries as analytics
from api.read import audience_queries as audience
from api.read import chart_queries
from api.read import local_day_queries as local_days
from api.read.analytics_routes import TOP_TRACKS, utc_bounds
from api.read.catalog_lookup import TrackEntry
from api.read.catalog_snapshot import Catalog
from api.read.figure_bodies import (
    breakdown,
    chart_series,
    collaborations,
    entity_breakdowns,
    figure_fields,
    ranked_tracks,
)
from insights.store import Store
from schemas.audience import DEFAULT_BREAKDOWN_LIMIT, DIMENSIONS
from schemas.audience import Breakdowns as EveryBreakdown
from schemas.exports import Report, ReportAlbum, ReportArtist, ReportChart, ReportSummary, ReportTrack
from schemas.local_ranges import LocalRange, buckets_of, default_interval, rfc3339
from schemas.periods import chart_buckets
from schemas.tokens import TokenClaims

Json = dict[str, Any]  # a Report as JSON values, which the PDF lays out
# The chart of a period covers the same N days: 7-days -> hourly 7d, 30-days -> daily 30d, ...
PERIOD_TIMEFRAME = {"7-days": "7d", "30-days": "30d", "90-days": "90d", "1-year": "1y"}


def subject_of(report: Json) -> str:
    """Who the report is about: the artist's name, a few names, or how many artists."""
    names = [a["name"] or f"Artist {a['artist_id']}" for a in report["artists"]]
    if len(names) == 1:
        return str(names[0])
    if 1 < len(names) <= 3:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return f"{len(names)} artists" if names else "No artists"


def subject_slug(report: Json) -> str:
    """The subject for a file name: lower-case ASCII letters and digits joined by hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", subject_of(report).lower()).strip("-")[:40].strip("-")
    return slug or "artists"


async def report_chart(store: Store, track_ids: Sequence[int], chosen: LocalRange) -> ReportChart:
    """The chart the chart endpoints answer for the same days: a UTC period as its timeframe (7-days ->
    hourly 7d, ...), any other range by its default interval in its zone."""
    now = datetime.now(UTC)
    timeframe = PERIOD_TIMEFRAME.get(chosen.period, "custom")
    if chosen.utc and timeframe != "custom":
        buckets = chart_buckets(timeframe, now)
        interval, points = buckets.interval, await chart_queries.chart(store, track_ids, buckets)
    else:
        interval = default_interval(chosen.days)
        points = await local_days.chart(store, track_ids, buckets_of(chosen, interval, timeframe, now))
    return ReportChart(timeframe=timeframe, interval=interval, series=chart_series(points, chosen.tz))


async def no_chart() -> None:
    return None


async def summary_figures(store: Store, track_ids: Sequence[int], chosen: LocalRange) -> analytics.Figures:
    """Every readable track together, counted as the read endpoints count a group."""
    if chosen.utc:
        return await analytics.figures(store, track_ids, utc_bounds(chosen))
    return (await local_days.figures(store, track_ids, chosen))[0]


async def build_report(
    store: Store,
    snapshot: Catalog,
    claims: TokenClaims,
    chosen: LocalRange,
    include_charts: bool,
    focus: Focus | None = None,
    limit: int = DEFAULT_BREAKDOWN_LIMIT,
) -> Report:
    """Everything readable, or (with a focus) what of it belongs to one artist, album or track; each
    with its listening figures and its breakdowns (`limit` values of each dimension ranked)."""
    generated_at = datetime.now(UTC)
    # Independent queries run side by side on the store's thread pool.
    catalog, albums, artists = await asyncio.gather(
        report_tracks(store, claims), report_albums(store, claims), readable_all(store, "artists", claims)
    )
    if focus is not None:
        catalog = [t for t in catalog if t.track_id in focus.tracks]
        albums = [a for a in albums if a.album_id in focus.albums]
        artists = [a for a in artists if a[0] in focus.artists]
    readable = [t for t in catalog if may_read_artists(claims, t.artist_ids)]
    readable_ids = [t.track_id for t in readable]
    shared = [t for t in readable if len(t.artist_ids) > 1]
    album_ids, artist_ids = [a.album_id for a in albums], [a for a, _ in artists]
    # Independent statements, side by side: the figures, then the breakdowns of the same entities.
    figures = asyncio.gather(
        figures_of(store, "tracks", [t.track_id for t in catalog], chosen),
        figures_of(store, "albums", album_ids, chosen),
        figures_of(store, "artists", artist_ids, chosen),
        summary_figures(store, readable_ids, chosen),
        snapshot.artist_names(sorted({a for t in shared for a in t.artist_ids})),
        report_chart(store, readable_ids, chosen) if include_charts else no_chart(),
    )
    audiences = asyncio.gather(
        breakdowns_of(store, "tracks", readable_ids, chosen, limit),
        breakdowns_of(store, "albums", album_ids, chosen, limit),
        breakdowns_of(store, "artists", artist_ids, chosen, limit),
        audience.group_breakdowns(store, readable_ids, DIMENSIONS, chosen, limit),
    )
    found, heard = await asyncio.gather(figures, audiences)
    track_figures, album_figures, artist_figures, summary, names, chart = found
    track_audience, album_audience, artist_audience, summary_audience = heard

    by_album: defaultdict[int | None, list[TrackEntry]] = defaultdict(list)
    by_artist: defaultdict[int, list[TrackEntry]] = defaultdict(list)
    for track in catalog:
        by_album[track.album_id].append(track)
        for artist_id in track.artist_ids:
            by_artist[artist_id].append(track)
    plays_total = {t.track_id: track_figures.get(t.track_id, NO_FIGURES).plays_total for t in shared}

    def plays_of(figures: dict[int, Figures], entity_id: int) -> int:
        return figures.get(entity_id, NO_FIGURES).plays

    return Report(
        period=chosen.period,
        period_start=chosen.first.isoformat(),
        period_end=chosen.last.isoformat(),
        tz=chosen.tz,
        from_=chosen.first.isoformat(),
        to=chosen.last.isoformat(),
        generated_at=rfc3339(generated_at),
        summary=ReportSummary(
            artists=len(artists),
            albums=len(albums),
            tracks=len(readable),
            **figure_fields(summary),
            breakdowns=EveryBreakdown(**{d: breakdown(summary_audience[d]) for d in DIMENSIONS}),
        ),
        artists=[
            ReportArtist(
                artist_id=a,
                name=name,
                **figure_fields(artist_figures.get(a, NO_FIGURES)),
                breakdowns=entity_breakdowns(artist_audience, a),
                top_tracks=ranked_tracks(by_artist[a], track_figures, TOP_TRACKS),
                collaborations=collaborations(a, by_artist[a], plays_total, names),
            )
            for a, name in sorted(artists, key=lambda e: (-plays_of(artist_figures, e[0]), e[0]))
        ],
        albums=[
            ReportAlbum(
                album_id=a.album_id,
                title=a.title,
                artist_id=a.artist_id,
                **figure_fields(album_figures.get(a.album_id, NO_FIGURES)),
                breakdowns=entity_breakdowns(album_audience, a.album_id),
                tracks=ranked_tracks(by_album[a.album_id], track_figures),
            )
            for a in sorted(albums, key=lambda a: (-plays_of(album_figures, a.album_id), a.album_id))
        ],
        tracks=[
            ReportTrack(
                track_id=t.track_id,
                title=t.title,
                album_id=t.album_id,
                artist_ids=list(t.artist_ids),
                **figure_fields(track_figures.get(t.track_id, NO_FIGURES)),
                breakdowns=entity_breakdowns(track_audience, t.track_id),
            )
            for t in sorted(readable, key=lambda t: (-plays_of(track_figures, t.track_id), t.track_id))
        ],
        chart=chart,
    )
