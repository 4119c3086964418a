"""The Starlette application: routes, authentication and error rendering, wired to its dependencies."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from api import docs, insights_routes
from api.auth import AuthMiddleware
from api.catalog_snapshot import Catalog
from api.errors import EXCEPTION_HANDLERS
from api.health import healthz, readyz
from api.ingest import post_catalog, post_events
from api.metrics_route import metrics
from api.publisher import Publisher
from insights.store import Store


def create_app(store: Store, publisher: Publisher, secret: str) -> Starlette:
    """The app does not start or stop its dependencies: whoever made them owns their lifecycle."""
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/v1/events", post_events, methods=["POST"]),
        Route("/api/v1/catalog", post_catalog, methods=["POST"]),
        *insights_routes.routes,
        *docs.routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(AuthMiddleware, secret=secret)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.store = store
    app.state.catalog = Catalog(store)
    app.state.publisher = publisher
    return app
