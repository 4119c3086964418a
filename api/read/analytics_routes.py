"""The Insights read endpoints: parse, authorise, query, shape.

Tracks, albums and artists share one shape of analytics and charts, computed over their tracks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.access import check_album, check_artist, check_track
from api.http.errors import validation_failed
from api.http.responses import success
from api.read import analytics_queries as analytics
from api.read import chart_queries
from api.read import local_day_queries as local_days
from api.read.audience_queries import AUDIENCE_FROM_SQL
from api.read.catalog_lookup import AlbumEntry, ArtistEntry, TrackEntry
from api.read.catalog_snapshot import Catalog
from api.read.changes import AnswerMemo
from api.read.complete_through import Through, stamped
from api.read.figure_bodies import (
    chart_series,
    collaborations,
    collaborators_of,
    figure_fields,
    ranked_tracks,
)
from api.read.listener_blocks import ALBUM, ARTIST, TRACK, Entity
from api.read.past_rows import PastRows
from api.read.range_params import TIMEFRAME_PERIOD, check_parameters, requested_chart, requested_range
from api.read.response_cache import with_figures
from api.read.unflushed import Unflushed
from api.read.watermark import Watermark
from insights.store import Store
from schemas import figures
from schemas.fields import MAX_ID
from schemas.figures import TOP_TRACKS
from schemas.local_ranges import LocalBuckets, LocalRange, buckets_of, rfc3339
from schemas.openapi import INSIGHTS
from schemas.periods import ChartBuckets, PeriodBounds, chart_buckets, realtime_minutes

T = TypeVar("T")

BASE = INSIGHTS

# How long an answer may be kept (Cache-Control max-age, and the API's own cache): as long as the
# freshness promise (docs/architecture.md) for realtime (1 s) and analytics (2 s); longer for charts whose
# buckets are wide, where a few seconds move a small part of the picture.
REALTIME_MAX_AGE = 1
# A kept realtime answer gives way to events accepted since once it is this old: a popular track's
# answer is read again at most so often, not at every play.
UNFLUSHED_HOLD_SECONDS = 0.25
ANALYTICS_MAX_AGE = 2
# A kept analytics answer whose tracks changed is computed again in the background once this old: with
# the pipeline's half second, a change shows within the 2-s promise, and a popular answer is computed
# at most about once a second under live ingest.
ANALYTICS_REFRESH_AFTER = 1.0
CHART_MAX_AGE = {"hour": 5, "day": 10, "week": 30, "month": 60}
COLLABORATIONS_MAX_AGE = 10


def id_text(name: str, text: str) -> int:
    """An id given as text (a path segment, a query parameter); else 422 naming `name`."""
    # ASCII only: str.isdigit also accepts "²" (which int() refuses) and "٤٢" (which it reads as 42).
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise validation_failed(name, f"{name} must be an integer from 1 to 2^63-1.")
    return int(text)


def path_id(request: Request, name: str) -> int:
    return id_text(name, request.path_params[name])


def utc_bounds(chosen: LocalRange) -> PeriodBounds:
    """A UTC range as the fixed periods' day bounds, read by their statements."""
    return PeriodBounds(name=chosen.period, days=chosen.days, start=chosen.first, today=chosen.last)


def estimates_of(mode: analytics.Mode) -> list[str]:
    """The figures of an answer read from sketches (docs/api.md, "Figures")."""
    named = (
        (mode.all_time, "listeners.total"),
        (mode.period, "listeners.unique"),
        (mode.previous, "growth.listeners_change"),
    )
    return [name for sketched, name in named if sketched]


# Figures that come from the quarters of a range's ends, when those fall before the quarters were kept.
PARTIAL_FIGURES = [
    "plays.period",
    "listeners.unique",
    "engagement.likes",
    "engagement.reposts",
    "growth.plays_change",
    "growth.listeners_change",
]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def catalog_of(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


class Whose(NamedTuple):
    """Whose tracks a handler reads (lets large audiences be read from listener blocks), and how many
    of a group's tracks its answer lists (only those need their listeners; None: all)."""

    entity: Entity | None = None
    listed: int | None = None


ANYONE = Whose()


@dataclass(frozen=True)
class Reads:
    """The figures the endpoints read, with what the API remembers between requests: answers kept
    while their tracks are unchanged (api/read/changes.py), large audiences read from sketches, and the
    charts' bucket listeners."""

    store: Store
    answers: AnswerMemo
    audiences: analytics.Audiences = field(default_factory=analytics.Audiences)
    charts: chart_queries.ChartMemo = field(default_factory=chart_queries.ChartMemo)
    coverage: local_days.Coverage = field(default_factory=local_days.Coverage)
    # Where the listening sums and the breakdowns hold every event (schemas/clickhouse/013_audience.sql).
    audience: local_days.Coverage = field(default_factory=lambda: local_days.Coverage(AUDIENCE_FROM_SQL))
    watermark: Watermark | None = None  # complete_through (api/read/watermark.py); None: unknown
    # Rows of the days before today, kept while the change notices say they are unchanged (by
    # default, as the answer memo's notices say).
    past: PastRows | None = None
    # Events accepted but maybe not stored yet, which realtime counts at once (api/read/unflushed.py).
    unflushed: Unflushed = field(default_factory=Unflushed)

    def __post_init__(self) -> None:
        if self.past is None:  # frozen: set once, here
            object.__setattr__(self, "past", PastRows(self.answers.changes))

    def stored_so_far(self) -> None:
        """Lets go of the accepted events the workers have stored, as far as the watermark has read."""
        if self.watermark is not None:
            restarts, progress = self.watermark.progress
            self.unflushed.stored(progress, restarts)

    def through(self) -> Through:
        """A collector of the complete_through of the answers a handler reads next."""
        return Through(self.watermark, self.answers)

    async def _answer(
        self,
        key: Hashable,
        track_ids: Sequence[int],
        compute: Callable[[], Awaitable[T]],
        rows: Callable[[T], int] = lambda value: 0,
        through: Through | None = None,
    ) -> T:
        """The memo's answer, kept with the watermark read before it was computed; `through` hears
        what the answer is complete through: that, or for an answer kept unchanged, the newest
        watermark whose change notices were all applied (api/read/complete_through.py)."""
        watermark = self.watermark
        before = watermark.through if watermark is not None else None
        confirmed = watermark.confirmed(self.answers.applied) if watermark is not None else None

        async def computed() -> tuple[T, float | None]:
            return await compute(), before

        held = await self.answers.held(key, track_ids, computed, lambda pair: rows(pair[0]))
        value, at = held.value
        if not held.computed and confirmed is not None and (at is None or confirmed > at):
            at = confirmed
        if through is not None:
            kept = held.kept
            holds = None if kept is None else (lambda: self.answers.holds(key, track_ids, kept))
            through.note(at, holds)
        answer: T = value
        return answer

    async def local_figures(
        self,
        track_ids: Sequence[int],
        chosen: LocalRange,
        group: bool,
        through: Through | None = None,
        whose: Whose = ANYONE,
    ) -> tuple[analytics.Figures, dict[int, analytics.TrackPeriod], list[str]]:
        """The figures over local days (and each track's, for a group), with the names of those that
        are estimates."""
        return await self._answer(
            ("local", analytics.track_set(track_ids), chosen, group, whose.listed),
            track_ids,
            lambda: self._local_figures(track_ids, chosen, group, whose),
            lambda answer: len(answer[1]) + 1,
            through,
        )

    async def _local_figures(
        self, track_ids: Sequence[int], chosen: LocalRange, group: bool, whose: Whose
    ) -> tuple[analytics.Figures, dict[int, analytics.TrackPeriod], list[str]]:
        counted, per_track, estimates = await self._range_figures(track_ids, chosen, group, whose)
        if await self.audience.partial(self.store, [(chosen.start, chosen.end)]):
            estimates = [*estimates, "listening"]
        return counted, per_track, estimates

    async def _range_figures(
        self, track_ids: Sequence[int], chosen: LocalRange, group: bool, whose: Whose
    ) -> tuple[analytics.Figures, dict[int, analytics.TrackPeriod], list[str]]:
        if chosen.utc:
            read = await analytics.read_figures(
                self.store,
                track_ids,
                utc_bounds(chosen),
                self.audiences,
                whose.entity,
                group,
                whose.listed,
                self.past,
            )
            return read.figures, read.tracks, estimates_of(read.mode)
        counted, per_track, sketched = await local_days.figures(
            self.store, track_ids, chosen, self.audiences, group
        )
        spans = local_days.quarter_spans(local_days.range_parameters(chosen))
        partial = PARTIAL_FIGURES if await self.coverage.partial(self.store, spans) else []
        return counted, per_track, estimates_of(analytics.Mode(all_time=sketched)) + partial

    async def local_chart(
        self, track_ids: Sequence[int], chosen: LocalBuckets, through: Through | None = None
    ) -> ChartBody:
        key = ("local chart", analytics.track_set(track_ids), chosen)
        return await self._answer(
            key,
            track_ids,
            lambda: local_chart_body(self.store, track_ids, chosen, self.charts, self.coverage),
            lambda body: len(body.series),
            through,
        )

    async def figures(self, track_id: int, bounds: PeriodBounds) -> analytics.Figures:
        return await self._answer(
            ("figures", track_id, bounds),
            (track_id,),
            lambda: analytics.figures(
                self.store, [track_id], bounds, self.audiences, Entity(TRACK, track_id), self.past
            ),
        )

    async def group_figures(
        self,
        track_ids: Sequence[int],
        bounds: PeriodBounds,
        entity: Entity | None = None,
        listed: int | None = None,
    ) -> tuple[analytics.Figures, dict[int, analytics.TrackPeriod]]:
        return await self._answer(
            ("group", analytics.track_set(track_ids), bounds, listed),
            track_ids,
            lambda: analytics.group_figures(
                self.store, track_ids, bounds, self.audiences, entity, listed, self.past
            ),
            lambda answer: len(answer[1]),
        )

    async def chart(
        self,
        track_ids: Sequence[int],
        buckets: ChartBuckets,
        through: Through | None = None,
        entity: Entity | None = None,
    ) -> ChartBody:
        key = ("chart", analytics.track_set(track_ids), buckets.timeframe, buckets.first, buckets.last)
        return await self._answer(
            key,
            track_ids,
            lambda: chart_body(self.store, track_ids, buckets, self.charts, entity, self.past),
            lambda body: len(body.series),
            through,
        )

    async def plays_total(self, track_ids: Sequence[int]) -> dict[int, int]:
        return await self._answer(
            ("plays_total", analytics.track_set(track_ids)),
            track_ids,
            lambda: analytics.plays_total(self.store, track_ids),
            len,
        )


def reads_of(request: Request) -> Reads:
    reads: Reads = request.app.state.reads
    return reads


def range_fields(chosen: LocalRange, estimates: list[str], period: str | None = None) -> dict[str, Any]:
    """What every answer over a range says of it, as keyword arguments of its type."""
    return {
        "period": chosen.period if period is None else period,
        "tz": chosen.tz,
        "from_": chosen.first.isoformat(),
        "to": chosen.last.isoformat(),
        "estimates": estimates,
    }


class ChartBody(NamedTuple):
    """A chart's buckets as a memo keeps them: what its answer says beyond the range."""

    timeframe: str
    interval: str
    series: list[figures.ChartPoint]
    estimates: list[str]


async def chart_body(
    store: Store,
    track_ids: Sequence[int],
    buckets: ChartBuckets,
    memo: chart_queries.ChartMemo | None = None,
    entity: Entity | None = None,
    past: PastRows | None = None,
) -> ChartBody:
    points = await chart_queries.chart(store, track_ids, buckets, memo, entity=entity, past=past)
    estimates = ["series"] if any(point.estimate for point in points) else []
    return ChartBody(buckets.timeframe, buckets.interval, chart_series(points, "UTC"), estimates)


async def local_chart_body(
    store: Store,
    track_ids: Sequence[int],
    chosen: LocalBuckets,
    memo: chart_queries.ChartMemo | None,
    coverage: local_days.Coverage,
) -> ChartBody:
    points = await local_days.chart(store, track_ids, chosen, memo)
    partial = await coverage.partial(store, local_days.chart_spans(chosen))
    series = chart_series(points, chosen.range.tz)
    return ChartBody(chosen.timeframe, chosen.interval, series, ["series"] if partial else [])


async def chart_answer(
    request: Request,
    kind: type[figures.Chart],
    entity: dict[str, Any],
    track_ids: Sequence[int],
    whose: Entity | None = None,
) -> Response:
    """The chart of `track_ids` (`whose` tracks they are) in any zone and range, as `kind` with
    `entity` (its id), saying how complete it is."""
    timeframe, chosen, interval, fixed = requested_chart(request)
    reads = reads_of(request)
    through = reads.through()
    now = datetime.now(UTC)
    if fixed:  # a fixed timeframe's UTC chart, read as before
        body = await reads.chart(track_ids, chart_buckets(timeframe, now), through, whose)
    else:
        body = await reads.local_chart(track_ids, buckets_of(chosen, interval, timeframe, now), through)
    answer = kind(
        **entity,
        **range_fields(chosen, body.estimates, TIMEFRAME_PERIOD.get(timeframe, timeframe)),
        timeframe=body.timeframe,
        interval=body.interval,
        series=body.series,
        complete_through=through.text,
    )
    return stamped(request, success(answer, max_age=CHART_MAX_AGE[interval]), through)


async def readable_track(request: Request) -> TrackEntry:
    track_id = path_id(request, "trackId")
    return check_track(request, await catalog_of(request).track(track_id), track_id)


async def readable_album(request: Request) -> AlbumEntry:
    album_id = path_id(request, "albumId")
    return check_album(request, await catalog_of(request).album(album_id), album_id)


async def readable_artist(request: Request) -> ArtistEntry:
    artist_id = path_id(request, "artistId")
    return check_artist(request, await catalog_of(request).artist(artist_id), artist_id)


async def track_analytics(request: Request) -> Response:
    chosen = requested_range(request)
    track = await readable_track(request)
    reads = reads_of(request)
    through = reads.through()
    whose = Whose(Entity(TRACK, track.track_id))
    counted, _, estimates = await reads.local_figures([track.track_id], chosen, False, through, whose)
    answer = figures.TrackAnalytics(
        track_id=track.track_id,
        title=track.title,
        **range_fields(chosen, estimates),
        **figure_fields(counted),
        complete_through=through.text,
    )
    return stamped(request, success(answer, max_age=ANALYTICS_MAX_AGE), through, ANALYTICS_REFRESH_AFTER)


async def track_chart(request: Request) -> Response:
    track = await readable_track(request)
    whose = Entity(TRACK, track.track_id)
    return await chart_answer(
        request, figures.TrackChart, {"track_id": track.track_id}, [track.track_id], whose
    )


async def track_realtime(request: Request) -> Response:
    check_parameters(request, ())
    track_id, reads = path_id(request, "trackId"), reads_of(request)
    reads.unflushed.asked(track_id, time.time())  # its accepted events are kept from now on
    track = await catalog_of(request).track(track_id)
    if track is None and reads.unflushed.holds(track_id):
        # Outside the catalog, known from its first accepted event: realtime counts it already.
        track = TrackEntry(track_id, "", None, ())
    track = check_track(request, track, track_id)
    now = datetime.now(UTC).replace(microsecond=0)
    minutes = realtime_minutes(now)
    # Taken before the read: a flush announced after it makes the kept answer give way at once, and an
    # event accepted after it, once the answer is UNFLUSHED_HOLD_SECONDS old.
    unchanged = reads.answers.unchanged([track.track_id])
    clock = request.app.state.cache.clock
    pending, read_at = reads.unflushed.version(track.track_id), clock()
    unflushed = reads.unflushed.of_track(track.track_id, now.timestamp())
    live = await analytics.realtime(store_of(request), track.track_id, now, minutes[0], unflushed)
    answer = figures.TrackRealtime(
        track_id=track.track_id,
        active_listeners=live.active_listeners,
        plays_last_5m=live.plays_last_5m,
        plays_last_60m=live.plays_last_60m,
        series=[
            figures.MinutePoint(t=rfc3339(m), plays=live.plays_per_minute.get(int(m.timestamp()), 0))
            for m in minutes
        ],
        as_of=rfc3339(now),
    )
    # Unchanged figures keep their earlier answer, `as_of` included, so idle polls get 304s.
    figures_only = msgspec.structs.replace(answer, as_of="")

    def holds() -> bool:
        fresh = reads.unflushed.version(track.track_id) == pending
        young = clock() - read_at < UNFLUSHED_HOLD_SECONDS
        return (unchanged is None or unchanged()) and (fresh or young)

    return with_figures(request, success(answer, max_age=REALTIME_MAX_AGE), figures_only, holds)


async def group_answer(
    request: Request,
    chosen: LocalRange,
    kind: type[figures.RangeFigures],
    entity: dict[str, Any],
    tracks: Sequence[TrackEntry],
    list_key: str,
    limit: int | None = None,
    whose: Entity | None = None,
) -> Response:
    """The figures over a group of tracks (an album, an artist) as `kind` with `entity` (its id and
    names), and its tracks ranked by plays under `list_key`, saying how complete it is."""
    track_ids = [t.track_id for t in tracks]
    reads = reads_of(request)
    through = reads.through()
    counted, per_track, estimates = await reads.local_figures(
        track_ids, chosen, True, through, Whose(whose, limit)
    )
    ranked: dict[str, Any] = {list_key: ranked_tracks(tracks, per_track, limit)}
    answer = kind(
        **entity,
        **ranked,
        **range_fields(chosen, estimates),
        **figure_fields(counted),
        complete_through=through.text,
    )
    return stamped(request, success(answer, max_age=ANALYTICS_MAX_AGE), through, ANALYTICS_REFRESH_AFTER)


async def album_analytics(request: Request) -> Response:
    chosen = requested_range(request)
    album = await readable_album(request)
    entity = {"album_id": album.album_id, "title": album.title, "artist_id": album.artist_id}
    whose = Entity(ALBUM, album.album_id)
    return await group_answer(
        request, chosen, figures.AlbumAnalytics, entity, album.tracks, "tracks", whose=whose
    )


async def album_chart(request: Request) -> Response:
    album = await readable_album(request)
    whose = Entity(ALBUM, album.album_id)
    return await chart_answer(
        request, figures.AlbumChart, {"album_id": album.album_id}, album.track_ids, whose
    )


async def artist_analytics(request: Request) -> Response:
    chosen = requested_range(request)
    artist = await readable_artist(request)
    entity = {"artist_id": artist.artist_id, "name": artist.name}
    kind = figures.ArtistAnalytics
    whose = Entity(ARTIST, artist.artist_id)
    return await group_answer(request, chosen, kind, entity, artist.tracks, "top_tracks", TOP_TRACKS, whose)


async def artist_chart(request: Request) -> Response:
    artist = await readable_artist(request)
    whose = Entity(ARTIST, artist.artist_id)
    entity = {"artist_id": artist.artist_id}
    return await chart_answer(request, figures.ArtistChart, entity, artist.track_ids, whose)


async def artist_collaborations(request: Request) -> Response:
    check_parameters(request, ())
    artist = await readable_artist(request)
    artist_id = artist.artist_id
    shared = [t for t in artist.tracks if len(t.artist_ids) > 1]
    plays = await reads_of(request).plays_total([t.track_id for t in shared])
    names = await catalog_of(request).artist_names(collaborators_of(artist_id, shared))
    found = collaborations(artist_id, shared, plays, names)
    answer = figures.ArtistCollaborations(artist_id=artist_id, **msgspec.structs.asdict(found))
    return success(answer, max_age=COLLABORATIONS_MAX_AGE)


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
