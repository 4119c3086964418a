"""The dashboard in headless Chromium against a real `insights up`: sign in, switch the timeframe and see
the chart change, see the live count move after an event is posted, download a CSV; pick a zone and a
range, search the catalog, read the audience panels; screenshots saved.

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
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schemas.tokens import create_token
from tests.browser import LAPTOP, PHONE, browser, screenshot
from tests.integration import reference
from tests.integration.harness import INSIGHTS, SECRET, UpProcess, eventually, token

__all__ = ["browser"]
pytestmark = pytest.mark.integration

ARTISTS = [{"artist_id": 7, "name": "Ana Vale"}, {"artist_id": 8, "name": "Ben Cross"}]
ARTISTS += [{"artist_id": 9, "name": "Cleo Ray"}, {"artist_id": 10, "name": "Dee Lux"}]
ALBUMS = [{"album_id": 70, "title": "First Light", "artist_id": 7}]
TRACKS = [
    {"track_id": 42, "title": "Dawn", "album_id": 70, "artist_ids": [7, 8]},
    {"track_id": 43, "title": "Dusk", "album_id": 70, "artist_ids": [7]},
    {"track_id": 44, "title": "Noon", "album_id": None, "artist_ids": [9]},
]
# Artist 10 has 60 singles "Wave 01".."Wave 60": past the top 10, past a page of the picker and of the walk.
WAVES = [
    {"track_id": 1000 + n, "title": f"Wave {n:02}", "album_id": None, "artist_ids": [10]}
    for n in range(1, 61)
]
TRACKS += WAVES
ANA = [42, 43]  # the tracks artist 7 reads
COUNTRIES = ["DE", "US", "BR", "JP", "IN", "NP", "FR", "GB", "CA", "AU", "MX", "KR"]  # 12: past the top 10
SOURCES = ["search", "playlist", "radio", "artist_page", "recommendation"]
PLATFORMS = ["ios", "android", "web", "desktop", "car"]
KATHMANDU, ST_JOHNS = "Asia/Kathmandu", "America/St_Johns"  # +5:45; -3:30 (-2:30 in summer)
ZONE_DAY = datetime.now(UTC).date() - timedelta(days=3)  # a past day whose local versions differ by zone


def history(now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """400 days of events, recent-heavy, all older than an hour so the live panel starts at zero; plays
    say (mostly) where and how they were heard. Then plays around ZONE_DAY's edges: 01:00Z is that day in
    Kathmandu and the day before in St John's, 20:00Z the day after in Kathmandu and that day in St John's."""
    events = []
    for _ in range(1500):
        days = rng.randint(0, 29) if rng.random() < 0.5 else rng.randint(0, 399)
        age = timedelta(days=days, seconds=rng.randint(3700, 86400))
        kind = rng.choices(["play", "like", "repost", "heartbeat"], weights=[10, 2, 1, 1])[0]
        played = event(rng.choice([42, 43, 44]), kind, f"fan-{rng.randint(1, 50)}", now - age)
        if kind == "play":
            for field, values in (("country", COUNTRIES), ("source", SOURCES), ("platform", PLATFORMS)):
                if rng.random() < 0.9:
                    played[field] = rng.choice(values)
            if rng.random() < 0.8:
                played["listened_ms"] = rng.randint(0, 240_000)
        events.append(played)
    day = datetime(ZONE_DAY.year, ZONE_DAY.month, ZONE_DAY.day, tzinfo=UTC)
    events += [event(42, "play", f"early-{n}", day + timedelta(hours=1)) for n in range(3)]
    events += [event(42, "play", f"late-{n}", day + timedelta(hours=20)) for n in range(40)]
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
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True, timezone_id="UTC")
    page = context.new_page()
    page.goto(f"{deployment.up.url}/dashboard/")
    page.get_by_label("API token").fill(token("insights:read", artists=(7,)))
    page.get_by_role("button", name="Sign in").click()
    yield page
    context.close()


@pytest.fixture
def tab(browser: Any, deployment: Deployment) -> Iterator[Any]:
    """Opens the dashboard in a fresh tab of a browser set to `zone`, signed in with a token of
    artists 7 and 10, at `hash_`; closed (its refreshes stopped) after the test."""
    contexts: list[Any] = []

    def open_tab(hash_: str, zone: str = "UTC") -> Any:
        context = browser.new_context(viewport=LAPTOP, accept_downloads=True, timezone_id=zone)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{deployment.up.url}/dashboard/{hash_}")
        page.get_by_label("API token").fill(token("insights:read", artists=(7, 10)))
        page.get_by_role("button", name="Sign in").click()
        return page

    yield open_tab
    for context in contexts:
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
    assert page.input_value("#entity") == "First Light · Ana Vale (#70)"
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
    screenshot(operation, "docs-try-it")
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


# ---- any range, any zone (the tabs below have their own browser zone and a token of artists 7 and 10) ----


def local_today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def shows_figures_of(page: Any, deployment: Deployment, zone: str, first: date, last: date) -> None:
    """The cards and the chart are the reference's for these local days of `zone`."""
    expected = reference.local_analytics(deployment.events, ANA, zone, first, last)
    shown(page, "#card-plays", figure(expected["plays"]["period"]))
    assert page.inner_text("#card-listeners") == figure(expected["listeners"]["unique"])
    assert page.inner_text("#card-likes") == figure(expected["engagement"]["likes"])
    interval = "hour" if (last - first).days < 7 else "day" if (last - first).days < 90 else "week"
    series = reference.local_chart(deployment.events, ANA, zone, first, last, interval)
    page.wait_for_function("n => document.querySelector('#chart').dataset.points === n", arg=str(len(series)))
    start = series[0]["t"][: 16 if interval == "hour" else 10].replace("T", " ")
    words = f"One point per {interval} from {start} {zone}: {figure(sum(b['plays'] for b in series))} plays"
    assert page.inner_text("#chart-summary").startswith(words)


def test_the_zone_is_the_browsers_and_another_zone_counts_its_own_local_days(
    deployment: Deployment, tab: Any
) -> None:
    day = ZONE_DAY.isoformat()
    page = tab(f"#artists/7/{day}..{day}", zone=KATHMANDU)
    assert page.input_value("#zone") == KATHMANDU, "the browser's zone by default"
    kathmandu = reference.local_analytics(deployment.events, ANA, KATHMANDU, ZONE_DAY, ZONE_DAY)
    st_johns = reference.local_analytics(deployment.events, ANA, ST_JOHNS, ZONE_DAY, ZONE_DAY)
    assert kathmandu["plays"]["period"] != st_johns["plays"]["period"], "the events make the zones differ"
    shows_figures_of(page, deployment, KATHMANDU, ZONE_DAY, ZONE_DAY)
    page.fill("#zone", ST_JOHNS)
    page.press("#zone", "Tab")  # a text field's change is committed on leaving it
    shows_figures_of(page, deployment, ST_JOHNS, ZONE_DAY, ZONE_DAY)
    assert page.evaluate("decodeURIComponent(location.hash)") == f"#artists/7/{day}..{day}/{ST_JOHNS}"
    assert page.get_attribute("#chart", "data-partial-from") == "-1", "a past day is final"
    page.fill("#zone", "Mars/Olympus")
    page.press("#zone", "Tab")
    assert page.inner_text("#range-help").startswith("“Mars/Olympus” is not a time zone")
    assert page.get_attribute("#zone", "aria-invalid") == "true"
    screenshot(page, "dashboard-zone-laptop")


def test_a_date_range_shows_its_days_and_the_exports_follow_it(deployment: Deployment, tab: Any) -> None:
    page = tab("#artists/7/30d", zone=ST_JOHNS)
    today = local_today(ST_JOHNS)
    shows_figures_of(page, deployment, ST_JOHNS, today - timedelta(days=29), today)
    first, last = today - timedelta(days=20), today - timedelta(days=10)
    page.fill("#range-to", (first - timedelta(days=1)).isoformat())  # before `from`: refused, in words
    page.fill("#range-from", first.isoformat())
    assert page.inner_text("#range-help") == "The range must start on or before its last day."
    page.fill("#range-to", last.isoformat())
    assert page.is_checked("#tf-custom")
    shows_figures_of(page, deployment, ST_JOHNS, first, last)
    assert page.evaluate("location.hash") == f"#artists/7/{first}..{last}", "the browser's zone is not named"
    assert page.inner_text("#export-scope").endswith(f"over {first} to {last} ({ST_JOHNS}).")
    bodies: list[Any] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if "/export/" in r.url else None)
    rows = downloaded_csv(page)
    expected = reference.local_analytics(deployment.events, [42], ST_JOHNS, first, last)
    by_track = {int(r["track_id"]): r for r in rows}
    assert sorted(by_track) == ANA
    assert int(by_track[42]["plays"]) == expected["plays"]["period"]
    assert {(r["from"], r["to"], r["tz"]) for r in rows} == {(first.isoformat(), last.isoformat(), ST_JOHNS)}
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF report").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    fields = {"from": first.isoformat(), "to": last.isoformat(), "tz": ST_JOHNS, "artist_id": 7}
    assert bodies == [{"type": "tracks"} | fields, fields]


def test_the_running_bucket_is_partial_the_period_before_is_overlaid_and_figures_refresh(
    deployment: Deployment, tab: Any
) -> None:
    page = tab("#artists/7/30d")
    today = datetime.now(UTC).date()
    shown(page, "#card-plays", figure(deployment.expected(30)["plays"]["period"]))
    series = reference.chart(deployment.events, ANA, "30d", datetime.now(UTC))["series"]
    page.wait_for_function(
        "n => document.querySelector('#chart').dataset.partialFrom === n", arg=str(len(series) - 1)
    )
    assert f"The last day ({today} UTC) is partial: still counting." in page.inner_text("#chart-summary")
    before = reference.local_chart(
        deployment.events, ANA, "UTC", today - timedelta(days=59), today - timedelta(days=30), "day"
    )
    assert page.get_attribute("#chart", "data-previous-points") == str(len(before)) == "30"
    words = f"The period before (dotted): {figure(sum(b['plays'] for b in before))} plays."
    assert words in page.inner_text("#chart-summary")
    assert page.inner_text("#trust").startswith("Counted through ")
    screenshot(page, "dashboard-partial-and-previous-laptop")
    now = datetime.now(UTC)
    deployment.post_events([event(43, "play", "refresh-1", now), event(43, "play", "refresh-2", now)])
    shown(page, "#card-plays", figure(deployment.expected(30)["plays"]["period"]))  # nobody clicked


# ---- finding the catalog, every track, the audience ----------------------------------------------------


def options(page: Any) -> list[str]:
    return page.eval_on_selector_all("#entity-list [role=option]", "os => os.map(o => o.textContent)")


def test_the_picker_finds_a_track_by_its_title_page_after_page(tab: Any) -> None:
    page = tab("#artists/10/30d")
    shown(page, "#entity-title", "Dee Lux")
    page.select_option("#kind", "tracks")
    page.click("#entity")
    page.fill("#entity", "WAVE")
    status = "s => document.querySelector('#entity-status').textContent === s"
    page.wait_for_function(status, arg="20 matches for “WAVE”, more available.")
    assert options(page)[:2] == ["Wave 01 · Dee Lux (#1001)", "Wave 02 · Dee Lux (#1002)"]
    assert options(page)[-1] == "More results…"
    page.click("#entity-list .more")
    page.wait_for_function(status, arg="40 matches for “WAVE”, more available.")
    page.click("#entity-list .more")
    page.wait_for_function(status, arg="60 matches for “WAVE”.")
    assert options(page)[-1] == "Wave 60 · Dee Lux (#1060)", "the last page has no 'More results'"
    page.fill("#entity", "ave 57")
    page.wait_for_function(status, arg="1 match for “ave 57”.")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    shown(page, "#entity-title", "Wave 57")
    assert page.evaluate("location.hash") == "#tracks/1057/30d"
    shown(page, "#entity-detail", "track #1057 · Dee Lux")


def test_an_artist_lists_every_track_not_only_the_top_10(tab: Any) -> None:
    page = tab("#artists/10/30d")
    shown(page, "#entity-title", "Dee Lux")
    page.wait_for_function("document.querySelectorAll('#tracks-table tbody tr').length === 10")
    shown(page, "#all-tracks-count", "All 60 tracks")
    page.click("#all-tracks-count")
    titles = [row.split("\t")[0] for row in page.inner_text("#all-tracks-table tbody").splitlines()]
    assert titles == [f"{w['title']} #{w['track_id']}" for w in WAVES]
    page.get_by_role("button", name="Wave 33").click()
    shown(page, "#entity-title", "Wave 33")


def duration(ms: int | None) -> str:
    """The panel's words for a time, written apart from the page's code."""
    if ms is None:
        return "\u2013"
    seconds = int((Decimal(ms) / 1000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"{hours:,} h {rest // 60:02} min"
    return f"{rest // 60} min {rest % 60:02} s" if rest >= 60 else f"{rest} s"


def test_the_audience_panels_show_the_reference_counts(deployment: Deployment, page: Any) -> None:
    page.goto(f"{deployment.up.url}/dashboard/#artists/7/90d")
    today = datetime.now(UTC).date()
    first = today - timedelta(days=89)
    shown(page, "#card-plays", figure(deployment.expected(90)["plays"]["period"]))
    names = {"DE": "Germany", "US": "United States", "NP": "Nepal", "JP": "Japan", "playlist": "Playlists"}
    for dimension in ("country", "source", "platform"):
        expected = reference.breakdown(deployment.events, ANA, dimension, "UTC", first, today)
        page.wait_for_function(
            "([d, n]) => document.querySelectorAll(`#${d}-bars li`).length === n",
            arg=[
                dimension,
                len(expected["rows"]) + (expected["other"]["plays"] > 0) + (expected["unknown"]["plays"] > 0),
            ],
        )
        for row in expected["rows"]:
            item = f"#{dimension}-bars li[data-value='{row['value']}']"
            assert page.inner_text(f"{item} .plays") == figure(row["plays"])
            assert f"{row['share']:.1f}%" in page.inner_text(f"{item} .bar-figures")
            if row["value"] in names:
                assert page.inner_text(f"{item} .bar-name").endswith(names[row["value"]])
        for extra in ("other", "unknown"):
            if expected[extra]["plays"]:
                assert page.inner_text(f"#{dimension}-bars li[data-value={extra}] .plays") == figure(
                    expected[extra]["plays"]
                )
    assert (
        len(COUNTRIES) > 10
        and page.inner_text("#country-bars li[data-value=other] .bar-name") == "Other countries"
    )
    flag = page.inner_text("#country-bars li[data-value=DE] .flag")
    assert flag == "\U0001f1e9\U0001f1ea", "the flag is the emoji of its code: nothing to download"
    listening = reference.listening(deployment.events, ANA, "UTC", first, today)
    assert page.inner_text("#listen-qualified") == figure(listening["qualified_plays"])
    assert page.inner_text("#listen-total") == duration(listening["total_ms"])
    assert page.inner_text("#listen-average") == duration(listening["avg_ms"])
    screenshot(page, "dashboard-audience-laptop")
