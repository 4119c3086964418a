"""The dashboard in headless Chromium against a real `insights up`: sign in, switch the timeframe and see
the chart change, see the live count move after an event is posted, download a CSV; screenshots saved.

Expected figures come from the reference model, computed from the events the test posted.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
import shlex
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.tokens import create_token
from tests.browser import LAPTOP, PHONE, browser, screenshot
from tests.integration import reference
from tests.integration.harness import INSIGHTS, SECRET, UpProcess, eventually, token

__all__ = ["browser"]
pytestmark = pytest.mark.integration

ARTISTS = [{"artist_id": 7, "name": "Ana Vale"}, {"artist_id": 8, "name": "Ben Cross"}]
ARTISTS += [{"artist_id": 9, "name": "Cleo Ray"}]
ALBUMS = [{"album_id": 70, "title": "First Light", "artist_id": 7}]
TRACKS = [
    {"track_id": 42, "title": "Dawn", "album_id": 70, "artist_ids": [7, 8]},
    {"track_id": 43, "title": "Dusk", "album_id": 70, "artist_ids": [7]},
    {"track_id": 44, "title": "Noon", "album_id": None, "artist_ids": [9]},
]
ANA = [42, 43]  # the tracks artist 7 reads


def history(now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """400 days of events, recent-heavy, all older than an hour so the live panel starts at zero."""
    events = []
    for _ in range(1500):
        days = rng.randint(0, 29) if rng.random() < 0.5 else rng.randint(0, 399)
        age = timedelta(days=days, seconds=rng.randint(3700, 86400))
        kind = rng.choices(["play", "like", "repost", "heartbeat"], weights=[10, 2, 1, 1])[0]
        events.append(event(rng.choice([42, 43, 44]), kind, f"fan-{rng.randint(1, 50)}", now - age))
    return events


def event(track_id: int, kind: str, listener: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "type": kind,
        "track_id": track_id,
        "listener_id": listener,
        "occurred_at": at.isoformat(),
    }


def post(up: UpProcess, path: str, body: dict[str, Any], scope: str) -> None:
    with up.client(token(scope)) as client:
        response = client.post(path, json=body)
    assert response.status_code == 202 and response.json()["data"]["rejected"] == 0, response.text


class Deployment:
    def __init__(self, up: UpProcess, events: list[dict[str, Any]]) -> None:
        self.up = up
        self.events = events

    def post_events(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), 500):
            post(self.up, "/api/v1/events", {"events": events[start : start + 500]}, "events:write")
        self.events += events

    def expected(self, days: int) -> dict[str, Any]:
        return reference.analytics(self.events, ANA, days, datetime.now(UTC).date())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    up = UpProcess(tmp_path_factory.mktemp("dashboard") / "data")
    up.start()
    try:
        post(up, "/api/v1/catalog", {"artists": ARTISTS, "albums": ALBUMS, "tracks": TRACKS}, "catalog:write")
        deployment = Deployment(up, [])
        deployment.post_events(history(datetime.now(UTC), random.Random(9)))
        total = deployment.expected(365)["plays"]["total"]
        with up.client(token("admin")) as client:

            def all_counted() -> bool:  # 404 until the worker has read the catalog
                answer = client.get(f"{INSIGHTS}/artists/7")
                return answer.status_code == 200 and answer.json()["data"]["plays"]["total"] == total

            eventually(all_counted, timeout=90)
        yield deployment
    finally:
        assert up.stop() == 0, up.log_tail()


@pytest.fixture(scope="module")
def page(browser: Any, deployment: Deployment) -> Iterator[Any]:
    """One signed-in tab for the whole story, as a creator would use it."""
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{deployment.up.url}/dashboard/")
    page.get_by_label("API token").fill(token("insights:read", artists=(7,)))
    page.get_by_role("button", name="Sign in").click()
    yield page
    context.close()


def shown(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent === t", arg=[selector, text], timeout=15_000
    )


def figure(n: int) -> str:
    return f"{n:,}"


def chart_words(series: list[dict[str, Any]], unit: str) -> str:
    start = series[0]["t"][:10]
    return f"One point per {unit} from {start} UTC: {figure(sum(b['plays'] for b in series))} plays"


def test_sign_in_shows_the_artists_figures(deployment: Deployment, page: Any) -> None:
    expected = deployment.expected(30)
    shown(page, "#card-plays", figure(expected["plays"]["period"]))
    shown(page, "#entity-title", "Ana Vale")
    assert page.inner_text("#card-listeners") == figure(expected["listeners"]["unique"])
    assert page.inner_text("#card-likes") == figure(expected["engagement"]["likes"])
    assert page.inner_text("#card-reposts") == figure(expected["engagement"]["reposts"])
    chart = reference.chart(deployment.events, ANA, "30d", datetime.now(UTC))
    assert page.inner_text("#chart-summary").startswith(chart_words(chart["series"], "day"))
    assert page.get_attribute("#chart", "data-points") == str(len(chart["series"]))
    figures = reference.per_track(deployment.events, ANA, 30, datetime.now(UTC).date())
    ranked = sorted(ANA, key=lambda t: (-figures[t][0], t))
    titles = {t["track_id"]: t["title"] for t in TRACKS}
    rows = [row.split("\t") for row in page.inner_text("#tracks-table tbody").splitlines()]
    assert [(r[1], r[2]) for r in rows] == [(f"{titles[t]} #{t}", figure(figures[t][0])) for t in ranked]
    assert "Ben Cross" in page.inner_text("#collab-table")
    paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
    print(f"\ndashboard first contentful paint: {paint:.0f} ms (sign-in page, local insights up)")
    screenshot(page, "dashboard-artist-laptop")


def test_switching_the_timeframe_changes_the_chart(deployment: Deployment, page: Any) -> None:
    before = page.inner_text("#chart-summary")
    page.get_by_text("1 year", exact=True).click()
    chart = reference.chart(deployment.events, ANA, "1y", datetime.now(UTC))
    page.wait_for_function(
        "n => document.querySelector('#chart').dataset.points === n", arg=str(len(chart["series"]))
    )
    shown(page, "#card-plays", figure(deployment.expected(365)["plays"]["period"]))
    assert page.inner_text("#chart-summary").startswith(chart_words(chart["series"], "week"))
    assert page.inner_text("#chart-summary") != before
    assert page.evaluate("location.hash") == "#artists/7/1y"
    page.get_by_text("30 days", exact=True).click()
    shown(page, "#card-plays", figure(deployment.expected(30)["plays"]["period"]))


def test_the_live_count_moves_after_an_event_is_posted(deployment: Deployment, page: Any) -> None:
    realtime: list[Any] = []
    page.on("response", lambda r: realtime.append(r) if r.url.endswith("/tracks/42/realtime") else None)
    page.get_by_role("button", name="Dawn").click()
    shown(page, "#entity-title", "Dawn")
    shown(page, "#live-active", "0")
    now = datetime.now(UTC)
    deployment.post_events([event(42, "play", "live-1", now), event(42, "heartbeat", "live-2", now)])
    shown(page, "#live-active", "2")
    assert page.inner_text("#live-5m") == "1"
    expected = reference.realtime(deployment.events, 42, datetime.now(UTC))
    assert page.inner_text("#live-60m") == figure(expected["plays_last_60m"])
    screenshot(page, "dashboard-track-live-laptop")
    polls = [r for r in realtime if r.request.method == "GET"]
    tagged = [r for r in polls if r.headers.get("etag")]
    if tagged:  # once the API sends ETags, an unchanged answer must cost a 304
        # Playwright delivers response events only while it runs: wait through it, not beside it.
        for _ in range(30):
            if any(r.status == 304 for r in realtime):
                break
            page.wait_for_timeout(500)
        assert any(r.status == 304 for r in realtime), [(r.status, r.headers.get("etag")) for r in realtime]
        later = [r for r in realtime if r.request.headers.get("if-none-match")]
        assert later, "polls after the first send If-None-Match"


def downloaded_csv(page: Any) -> list[dict[str, str]]:
    page.select_option("#export-type", "tracks")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    return list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))


def test_a_csv_export_holds_the_track_on_screen_with_its_album_artists_and_dates(
    deployment: Deployment, page: Any
) -> None:
    shown(page, "#entity-title", "Dawn")  # the live test left the page on track 42
    shown(page, "#entity-detail", "track #42 · First Light")  # tells it from another "Dawn"
    [row] = downloaded_csv(page)
    today = datetime.now(UTC).date()
    figures = reference.per_track(deployment.events, ANA, 30, today)
    assert (int(row["track_id"]), int(row["plays"])) == (42, figures[42][0])
    assert (row["album"], row["artists"], row["artist_ids"]) == ("First Light", "Ana Vale; Ben Cross", "7; 8")
    assert (row["from"], row["to"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    assert page.inner_text("#export-status").startswith("Downloaded ")


@pytest.mark.parametrize(
    ("button", "starts"), [("Download JSON", b'{"success":'), ("Download PDF report", b"%PDF")]
)
def test_json_and_pdf_exports_download_too(page: Any, button: str, starts: bytes) -> None:
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    assert Path(download.value.path()).read_bytes().lstrip().startswith(starts)


def test_an_album_lists_its_tracks(deployment: Deployment, page: Any) -> None:
    page.select_option("#kind", "albums")
    shown(page, "#entity-title", "First Light")
    assert page.inner_text("#entity option:checked") == "First Light · Ana Vale (#70)"
    shown(page, "#card-plays", figure(deployment.expected(30)["plays"]["period"]))
    titles = [row.split("\t")[1] for row in page.inner_text("#tracks-table tbody").splitlines()]
    assert sorted(titles) == ["Dawn #42", "Dusk #43"]
    assert page.inner_text("#entity-detail") == "album #70 · Ana Vale"
    figures = reference.per_track(deployment.events, ANA, 30, datetime.now(UTC).date())
    rows = downloaded_csv(page)  # the album's tracks, most played first
    assert [int(r["track_id"]) for r in rows] == sorted(ANA, key=lambda t: (-figures[t][0], t))


def test_refusals_of_the_real_api_read_as_sentences(deployment: Deployment, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE)
    tab = context.new_page()
    tab.goto(f"{deployment.up.url}/dashboard/#artists/9/30d")
    tab.get_by_label("API token").fill(token("insights:read", artists=(7,)))
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_selector("#notice:not([hidden])")
    assert tab.inner_text("#notice").startswith("This token has no access to artist 9.")
    tab.goto(f"{deployment.up.url}/dashboard/#artists/7/30d")
    shown(tab, "#card-plays", figure(deployment.expected(30)["plays"]["period"]))
    assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(tab, "dashboard-artist-phone")
    forged = create_forged_token()
    tab.evaluate("t => sessionStorage.setItem('insights.token', t)", forged)
    tab.reload()
    tab.wait_for_selector("#sign-in:not([hidden])")
    assert tab.inner_text("#notice").startswith("This token was not accepted")
    context.close()


def create_forged_token() -> str:
    return create_token(SECRET[::-1], subject="forger", artists=[7])


# ---- /docs against the same real API -------------------------------------------------------------------


def test_try_it_on_the_docs_page_sends_a_real_request_with_a_pasted_token(
    deployment: Deployment, browser: Any
) -> None:
    context = browser.new_context(viewport=LAPTOP)
    tab = context.new_page()
    tab.goto(f"{deployment.up.url}/docs")
    tab.fill("#try-token", f"Bearer {token('insights:read', artists=(7,))}")  # the whole header, pasted
    operation = tab.locator("#op-trackAnalytics")
    operation.locator("summary", has_text="Try it").click()
    operation.locator("input[name=trackId]").fill("42")
    operation.get_by_role("button", name="Send").click()
    answer = operation.locator(".try-answer")
    answer.filter(has_text='"success": true').wait_for(timeout=15_000)
    head, _, body = answer.inner_text().partition("\n\n")
    assert head.startswith("HTTP 200") and "x-ratelimit-remaining:" in head
    data = json.loads(body)["data"]
    expected = reference.analytics(deployment.events, [42], 30, datetime.now(UTC).date())
    assert data["track_id"] == 42 and data["plays"] == expected["plays"]
    assert (data["listeners"], data["engagement"]) == (expected["listeners"], expected["engagement"])
    screenshot(tab, "docs-try-it")
    operation.locator("input[name=trackId]").fill("44")  # artist 9's track: the real API refuses it
    operation.get_by_role("button", name="Send").click()
    answer.filter(has_text='"error": "forbidden"').wait_for(timeout=15_000)
    assert answer.inner_text().startswith("HTTP 403")
    context.close()


def test_every_example_request_of_the_docs_page_is_one_the_api_accepts(deployment: Deployment) -> None:
    """The curl examples (which are also what "Try it" starts from) run against the real API with an admin
    token: none may be refused for its parameters or body (a value made up from a type, such as
    `from=text`, or a period and a range at once, would be a 422)."""
    up = deployment.up
    examples = {"artists": [{"artist_id": 1, "name": "Example Artist"}]}
    examples |= {"albums": [{"album_id": 10, "title": "Example Album", "artist_id": 1}]}
    examples |= {"tracks": [{"track_id": 101, "title": "Example", "album_id": 10, "artist_ids": [1]}]}
    post(up, "/api/v1/catalog", examples, "catalog:write")  # the examples' ids (no other test reads them)
    with up.client(token("admin")) as client:
        eventually(lambda: client.get(f"{INSIGHTS}/tracks/101").status_code == 200, timeout=30)
        page = client.get("/docs").text
        sent = []
        for command in re.findall(r"<pre><code>(curl .*?)</code></pre>", page, re.DOTALL):
            request = parse_curl(html.unescape(command))
            if request["url"].endswith("/kafka/reset"):
                continue  # an operator's act, not a read
            answer = client.request(
                request["method"], request["url"], content=request["body"], headers=request["headers"]
            )
            sent.append(f"{request['method']} {request['url']}")
            assert answer.status_code < 400, (command, answer.status_code, answer.text)
    assert len(sent) >= 25, sent


def parse_curl(command: str) -> dict[str, Any]:
    """The method, URL, headers and body of a /docs curl example (one option a line, ending in the URL)."""
    words = shlex.split(command.replace("\\\n", " "))
    request: dict[str, Any] = {"method": "GET", "headers": {}, "body": None, "url": words[-1]}
    for option, value in zip(words[1:-1:2], words[2:-1:2], strict=True):
        if option == "-X":
            request["method"] = value
        elif option == "-d":
            request["body"] = value.encode()
        elif option == "-H" and not value.startswith("If-None-Match"):  # $ETAG: the reader's own
            name, _, header = value.partition(": ")
            request["headers"][name] = header
    request["headers"].pop("Authorization", None)  # "Bearer $TOKEN": the client's token instead
    return request
