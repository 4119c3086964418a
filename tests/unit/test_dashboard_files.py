"""The dashboard's files: served at /dashboard/ without a token, self-contained, and built from dashboard/src.

The bundle is committed (no Node needed to install or run); this test rebuilds it to catch a stale one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.pages import dashboard
from api.pages.dashboard import STATIC_DIR

SOURCE = Path(__file__).parents[2] / "dashboard"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(Starlette(routes=dashboard.routes))


def test_the_page_and_its_assets_are_served_without_a_token(client: TestClient) -> None:
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(?!data:)([^"#]+)"', page.text)
    assert sorted(assets) == ["app.js", "favicon.ico", "style.css"]
    for asset in assets:
        response = client.get(f"/dashboard/{asset}")
        assert response.status_code == 200, asset
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
    redirect = client.get("/dashboard", follow_redirects=False)
    assert redirect.status_code in (307, 308) and redirect.headers["location"].endswith("/dashboard/")


def test_the_bare_address_leads_to_the_dashboard_and_there_is_a_favicon(client: TestClient) -> None:
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/dashboard/"
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00", "an ICO file"


def test_nothing_is_loaded_from_elsewhere_or_run_inline() -> None:
    page = (STATIC_DIR / "index.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline scripts would need a weaker CSP"
    assert "url(http" not in (STATIC_DIR / "style.css").read_text()
    assert not re.search(r"fetch\(\s*[\"'`]https?:", (STATIC_DIR / "app.js").read_text())


def test_the_committed_bundle_is_what_the_sources_build(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (SOURCE / "node_modules" / "esbuild").exists():
        pytest.skip(
            "the dashboard's build tools are not installed (make setup runs `npm ci` where npm exists)"
        )
    subprocess.run(["node", "build.mjs", str(tmp_path)], cwd=SOURCE, check=True, timeout=120)
    built = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in STATIC_DIR.iterdir()}
    assert built.keys() == committed.keys()
    stale = [name for name in built if built[name] != committed[name]]
    assert stale == [], f"stale {stale}: run `make dashboard` and commit api/pages/dashboard_static/"
