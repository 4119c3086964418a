"""The Insights read endpoints (ARCHITECTURE §6.3): parse, authorise, query once, shape."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.errors import ApiError, validation_failed
from api.responses import success
from api.track_queries import track_figures
from insights.store import Store
from schemas.periods import DEFAULT_PERIOD, PERIOD_DAYS, PeriodBounds, percent_change, period_bounds

MAX_ID = 2**63 - 1


def entity_id(request: Request, name: str) -> int:
    text = request.path_params[name]
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise validation_failed(name, f"{name} must be an integer from 1 to 2^63-1.")
    return int(text)


def requested_period(request: Request) -> PeriodBounds:
    name = request.query_params.get("period", DEFAULT_PERIOD)
    try:
        return period_bounds(name, datetime.now(UTC))
    except KeyError:
        choices = ", ".join(PERIOD_DAYS)
        raise validation_failed("period", f"period must be one of {choices}.") from None


async def track_analytics(request: Request) -> Response:
    track_id = entity_id(request, "trackId")
    bounds = requested_period(request)
    store: Store = request.app.state.store
    figures = await track_figures(store, track_id, bounds)
    if not figures.known:
        raise ApiError(404, f"Track {track_id} is not known.")
    return success(
        {
            "track_id": track_id,
            "period": bounds.name,
            "plays": {"total": figures.plays_total, "period": figures.plays},
            "listeners": {"total": figures.listeners_total, "unique": figures.listeners},
            "engagement": {"likes": figures.likes, "reposts": figures.reposts},
            "growth": {
                "plays_change": percent_change(figures.plays, figures.previous_plays),
                "listeners_change": percent_change(figures.listeners, figures.previous_listeners),
            },
        }
    )


BASE = "/api/v1/producer-intelligence/insights"

routes = [
    Route(BASE + "/tracks/{trackId}", track_analytics, methods=["GET"]),
]
