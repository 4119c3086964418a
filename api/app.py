"""The Starlette application: routes and the middleware around them, wired to its dependencies.

Middleware, outermost first: the drain of unread bodies (so an early answer reaches the client), request
ids and timing, security headers, the 500 of last resort, CORS (when configured), authentication, rate
limits, the response cache; errors are rendered in one place (api/http/errors.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from api.admin import kafka as kafka_routes
from api.admin import tokens as token_routes
from api.admin.revocations import Revocations
from api.exports import routes as export_routes
from api.http.auth import AuthMiddleware
from api.http.cors import CorsMiddleware
from api.http.errors import EXCEPTION_HANDLERS, ServerErrorMiddleware
from api.http.health import Readiness, healthz, readyz
from api.http.limits import Limits, RateLimitMiddleware, SignInThrottle
from api.http.metrics import metrics
from api.http.observability import ObservabilityMiddleware
from api.http.security_headers import SecurityHeadersMiddleware
from api.http.unread_body import UnreadBodyMiddleware
from api.ingest.endpoints import post_catalog, post_events
from api.ingest.publisher import Publisher
from api.pages import dashboard, docs
from api.read import analytics_routes, audience_routes, listener_blocks
from api.read.analytics_routes import Reads
from api.read.catalog_snapshot import Catalog
from api.read.changes import AnswerMemo, TrackChanges
from api.read.response_cache import CacheMiddleware, ResponseCache
from api.read.unflushed import MAX_EVENTS, Unflushed
from api.read.watermark import Watermark
from insights.kafka_identity import IdentityGuard
from insights.store import Store

EXPOSED_HEADERS = ("ETag", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@dataclass(frozen=True)
class ApiOptions:
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()  # none: browsers may call the API from its own origin only
    previous_secrets: tuple[str, ...] = ()  # keys still accepted (not used to sign) during a rotation
    # GET /metrics on the API's own port; off when the process serves it on INSIGHTS_METRICS_PORT,
    # so a published API port does not publish the metrics.
    metrics_route: bool = True
    # Realtime counts the events this process accepted before they are stored (api/read/unflushed.py).
    realtime_unflushed: bool = True
    # The response cache's clock (seconds, monotonic): tests pass one they move by hand.
    clock: Callable[[], float] = time.monotonic


def create_app(
    store: Store,
    publisher: Publisher,
    secret: str,
    options: ApiOptions | None = None,
    changes: TrackChanges | None = None,
    identity: IdentityGuard | None = None,
    watermark: Watermark | None = None,
) -> Starlette:
    """The app does not start or stop its dependencies: whoever made them owns their lifecycle.
    `changes`, fed by the workers' change notices (api/read/changes.py), lets answers be kept while their
    tracks are unchanged; without it every answer is computed. `identity`, when given, refuses
    ingest (503, with the reason) while Kafka is not the one the stored offsets belong to.
    `watermark`, kept current by a WatermarkFeed (api/read/watermark.py), gives answers their
    `complete_through`; without it that is null."""
    options = options or ApiOptions()
    revocations = Revocations(store)
    cache = ResponseCache(clock=options.clock)
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *([Route("/metrics", metrics, methods=["GET"])] if options.metrics_route else []),
        Route("/api/v1/events", post_events, methods=["POST"]),
        Route("/api/v1/catalog", post_catalog, methods=["POST"]),
        *token_routes.routes,
        *kafka_routes.routes,
        *analytics_routes.routes,
        *audience_routes.routes,
        *export_routes.routes,
        *docs.routes,
        *dashboard.routes,
    ]
    cors = [
        Middleware(
            CorsMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=[*EXPOSED_HEADERS],
            max_age=600,
        )
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        refreshing = asyncio.create_task(revocations.keep_fresh())
        warming = asyncio.create_task(listener_blocks.warm_windows(store))
        try:
            yield
        finally:
            for task in (refreshing, warming):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(UnreadBodyMiddleware),
            Middleware(ObservabilityMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(ServerErrorMiddleware),
            *(cors if options.cors_origins else []),
            Middleware(
                AuthMiddleware,
                secret=secret,
                revocations=revocations,
                throttle=SignInThrottle(options.limits.auth_failures),
                previous_secrets=options.previous_secrets,
            ),
            Middleware(RateLimitMiddleware, limits=options.limits),
            Middleware(CacheMiddleware, cache=cache),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.readiness = Readiness(store, publisher)
    app.state.catalog = Catalog(store)
    unflushed = Unflushed(max_events=MAX_EVENTS if options.realtime_unflushed else 0)
    app.state.reads = Reads(store, AnswerMemo(changes), watermark=watermark, unflushed=unflushed)
    app.state.publisher = publisher
    app.state.revocations = revocations
    app.state.cache = cache
    app.state.identity = identity
    return app
