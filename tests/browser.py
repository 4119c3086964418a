"""Headless Chromium for the dashboard's browser tests: Debian's `chromium` driven by Playwright.

Playwright's own browser download is never used; the tests skip, saying why, only when no Chromium exists.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    named = os.environ.get("INSIGHTS_CHROMIUM")
    if named:
        return named
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make setup)")
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium: `apt-get install chromium` (make setup does it where apt-get works)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot under tests/artifacts/ (gitignored), to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
