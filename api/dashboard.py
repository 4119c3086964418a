"""GET /dashboard/: the creator dashboard, static files built from dashboard/ into api/dashboard_static/.

The page needs no token: its scripts call the public Insights API with the token the user pastes.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "dashboard_static"

# Everything comes from this origin: no CDN, no inline script, nothing framed; downloads are blob: URLs.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # revalidate each time (StaticFiles answers with ETag / Last-Modified, so it is cheap)
    "Cache-Control": "no-cache",
}


class DashboardFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


routes = [Mount("/dashboard", app=DashboardFiles(directory=STATIC_DIR, html=True), name="dashboard")]
