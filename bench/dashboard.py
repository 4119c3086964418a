"""First paint and time to figures of the dashboard in headless Chromium, each beside its ceiling.

- first paint: first-contentful-paint of /dashboard/ in a fresh browser context (cold: no cache), beside
  a one-heading HTML page answered on the same origin by the browser itself (the browser's own floor).
- time to figures: from navigation start until the plays card shows a number (token already in the
  tab's session storage), beside the same three API calls made by fetch() from a blank page, each in
  a fresh browser context.

Against a fresh `insights up` (a child process, temp dir) with a small catalog and 3,000 events posted
through the API. Rerun: `.venv/bin/python bench/dashboard.py [--runs 15]` (needs Chromium, as the tests).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from reporting import free_port

from schemas.tokens import create_token

SECRET = "bench-dashboard-secret-of-a-reasonable-length"
INSIGHTS = "/api/v1/producer-intelligence/insights"
CEILING_PAGE = "<!doctype html><title>ceiling</title><h1>Insights</h1>"
CATALOG = {
    "artists": [{"artist_id": 7, "name": "Ana Vale"}, {"artist_id": 8, "name": "Ben Cross"}],
    "albums": [{"album_id": 70, "title": "First Light", "artist_id": 7}],
    "tracks": [
        {"track_id": 40 + n, "title": f"Track {n}", "album_id": 70, "artist_ids": [7, 8][: 1 + n % 2]}
        for n in range(12)
    ],
}
FETCH_THREE = """async ([token, base]) => {
  const headers = { Authorization: `Bearer ${token}` };
  const start = performance.now();
  await Promise.all([`${base}?period=30-days`, `${base}/charts?timeframe=30d`, `${base}/collaborations`]
    .map((url) => fetch(url, { headers, cache: "no-store" }).then((r) => r.json())));
  return performance.now() - start;
}"""


def start_up(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INSIGHTS_SECRET": SECRET, "INSIGHTS_TOPIC_PARTITIONS": "3"}
    env.pop("INSIGHTS_KAFKA_BOOTSTRAP", None)
    command = [sys.executable, "-m", "insights.cli", "up", "--data-dir", str(data_dir), "--port", str(port)]
    log = (data_dir.parent / "up.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("insights up did not become ready in 180 s")


def fill(url: str, events: int) -> None:
    rng, now = random.Random(1), datetime.now(UTC)
    writer = {"Authorization": f"Bearer {create_token(SECRET, scopes=['catalog:write', 'events:write'])}"}
    with httpx.Client(base_url=url, headers=writer, timeout=30) as client:
        client.post("/api/v1/catalog", json=CATALOG).raise_for_status()
        batch = []
        for _ in range(events):
            age = timedelta(seconds=rng.randint(60, 399 * 86400))
            kind = rng.choice(["play", "play", "play", "like", "repost"])
            batch.append(
                {
                    "event_id": uuid.uuid4().hex,
                    "type": kind,
                    "track_id": 40 + rng.randrange(12),
                    "listener_id": f"fan-{rng.randint(1, 400)}",
                    "occurred_at": (now - age).isoformat(),
                }
            )
        for start in range(0, events, 500):
            client.post("/api/v1/events", json={"events": batch[start : start + 500]}).raise_for_status()
    admin = {"Authorization": f"Bearer {create_token(SECRET, scopes=['admin'])}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}{INSIGHTS}/artists/7", headers=admin, params={"period": "1-year"})
        if answer.status_code == 200 and answer.json()["data"]["plays"]["total"] > 0:
            return
        time.sleep(0.5)


def fresh_page(browser: Browser, origin: str) -> tuple[BrowserContext, Page]:
    """A new context (no cache, no connections) whose /ceiling page the browser answers itself."""
    context = browser.new_context()
    page = context.new_page()
    page.route(f"{origin}/ceiling", lambda r: r.fulfill(body=CEILING_PAGE, content_type="text/html"))
    return context, page


def first_paint(browser: Browser, origin: str, path: str) -> float:
    context, page = fresh_page(browser, origin)
    page.goto(origin + path)
    page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0")
    paint = float(page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime"))
    context.close()
    return paint


def time_to_figures(browser: Browser, origin: str, token: str) -> float:
    """Navigation start to the plays card filled, the token already in the tab."""
    context, page = fresh_page(browser, origin)
    context.add_init_script(f"sessionStorage.setItem('insights.token', {token!r})")
    page.goto(f"{origin}/dashboard/#artists/7/30d")
    page.wait_for_function("() => /\\d/.test(document.querySelector('#card-plays').textContent)")
    shown = float(page.evaluate("performance.now()"))
    context.close()
    return shown


def api_calls_alone(browser: Browser, origin: str, token: str) -> float:
    """The dashboard's three first calls from a blank page of a fresh context (cold connections)."""
    context, page = fresh_page(browser, origin)
    page.goto(f"{origin}/ceiling")
    alone = float(page.evaluate(FETCH_THREE, [token, f"{INSIGHTS}/artists/7"]))
    context.close()
    return alone


def chromium() -> str:
    path = os.environ.get("INSIGHTS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise SystemExit("no Chromium: apt-get install chromium")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_up(Path(tmp) / "data", port)
        try:
            fill(url, args.events)
            token = create_token(SECRET, subject="bench", artists=[7])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
                paints, floors, figures, calls = [], [], [], []
                for _ in range(args.runs):  # alternated, so load from elsewhere hits both alike
                    paints.append(first_paint(browser, url, "/dashboard/"))
                    floors.append(first_paint(browser, url, "/ceiling"))
                    figures.append(time_to_figures(browser, url, token))
                    calls.append(api_calls_alone(browser, url, token))
                browser.close()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)
    report(args.runs, paints, floors, figures, calls)


def report(
    runs: int, paints: list[float], floors: list[float], figures: list[float], calls: list[float]
) -> None:
    rows: list[tuple[str, float, str, float]] = [
        (
            "first contentful paint of /dashboard/ (cold)",
            statistics.median(paints),
            "one-heading page",
            statistics.median(floors),
        ),
        (
            "navigation to figures shown",
            statistics.median(figures),
            "the 3 API calls alone",
            statistics.median(calls),
        ),
    ]
    print(
        f"{platform.node()} · {os.cpu_count()} cores · load {os.getloadavg()[0]:.1f} · {runs} runs, medians"
    )
    print(f"{'figure':48} {'ms':>7}  {'ceiling':24} {'ms':>7}  ratio")
    for name, value, ceiling, floor in rows:
        print(f"{name:48} {value:7.0f}  {ceiling:24} {floor:7.0f}  {floor / value:5.2f}")


if __name__ == "__main__":
    main()
