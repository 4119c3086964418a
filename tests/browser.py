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


def screenshot(target: Any, name: str) -> Path:
    """A screenshot under tests/artifacts/ (gitignored), to look at after the run.

    A page is taken at its full length; a Locator, its element alone. The docs page is about 100,000 px
    tall: capturing all of it takes seconds on a quiet machine and passed Playwright's 30 s under load.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    whole = {"full_page": True} if hasattr(target, "goto") else {}
    target.screenshot(path=str(path), **whole)
    return path
