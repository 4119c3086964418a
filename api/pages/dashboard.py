"""GET /dashboard/: the creator dashboard, static files built from dashboard/ into
api/pages/dashboard_static/.

The page needs no token: its scripts call the public Insights API with the token the user pastes.
`GET /` leads to it (a person opening the bare address wants the product), and `/favicon.ico` is its icon.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
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


async def home(request: Request) -> Response:
    return RedirectResponse("/dashboard/", status_code=307)


async def favicon(request: Request) -> Response:
    headers = {"Cache-Control": "public, max-age=86400"}
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon", headers=headers)


# Not API operations: the OpenAPI document leaves them out (include_in_schema=False).
routes = [
    Route("/", home, methods=["GET"], include_in_schema=False),
    Route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False),
    Mount("/dashboard", app=DashboardFiles(directory=STATIC_DIR, html=True), name="dashboard"),
]
