"""The dashboard page in a real headless Chromium, its API answers stood in by the test (no server):
errors read as sentences, never a blank page; labels, keyboard focus and contrast hold."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.pages.dashboard import STATIC_DIR
from schemas.tokens import create_token
from tests.browser import LAPTOP, PHONE, browser, screenshot

__all__ = ["browser"]

ORIGIN = "http://dashboard.test"
INSIGHTS = "/api/v1/producer-intelligence/insights"
SECRET = "unit-test-secret-of-a-reasonable-length"
Answer = tuple[int, dict[str, Any]]


def token(days: float = 1, now: datetime | None = None) -> str:
    return create_token(SECRET, subject="ana", artists=[7], days=days, now=now)


def series(count: int, step: timedelta, start: datetime) -> list[dict[str, Any]]:
    return [
        {"t": (start + n * step).strftime("%Y-%m-%dT%H:%M:%SZ"), "plays": (n * 7) % 11, "listeners": n % 5}
        | {"likes": 0, "reposts": 0}
        for n in range(count)
    ]


def artist_answers() -> dict[str, Answer]:
    now = datetime.now(UTC)
    today = now.date()
    first = today - timedelta(days=29)
    dates = {"tz": "UTC", "from": first.isoformat(), "to": today.isoformat()}
    through = {"complete_through": (now - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")}
    summary = (
        {
            "artist_id": 7,
            "name": "Ana Vale",
            "period": "30-days",
            "plays": {"total": 12_345, "period": 1_234},
            "listeners": {"total": 800, "unique": 321},
            "engagement": {"likes": 56, "reposts": 7},
            "growth": {"plays_change": 12.5, "listeners_change": -3.2},
            "listening": {"qualified_plays": 1_000, "total_ms": 3_723_000, "avg_ms": 185_000},
            "top_tracks": [
                {"track_id": 42, "title": "Dawn", "plays": 900, "listeners": 200},
                {"track_id": 43, "title": "Dusk", "plays": 334, "listeners": 150},
            ],
            "estimates": [],
        }
        | dates
        | through
    )
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    chart = {"timeframe": "30d", "interval": "day", "series": series(30, timedelta(days=1), start)}
    chart |= {"period": "30-days", "estimates": []} | dates | through
    collaborations = {
        "artist_id": 7,
        "total_collaborations": 1,
        "top_collaborators": [{"artist_id": 8, "name": "Ben Cross", "tracks": 1, "plays": 900}],
        "collaboration_tracks": [],
    }
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    realtime = {
        "track_id": 42,
        "active_listeners": 3,
        "plays_last_5m": 4,
        "plays_last_60m": 17,
        "series": [{"t": b["t"], "plays": b["plays"]} for b in series(60, timedelta(minutes=1), minute)],
        "as_of": datetime.now(UTC).isoformat(),
    }
    breakdowns = {
        "country": [{"value": "DE", "plays": 800, "listeners": 200, "share": 64.8}],
        "source": [{"value": "playlist", "plays": 700, "listeners": 150, "share": 56.7}],
        "platform": [{"value": "ios", "plays": 600, "listeners": 140, "share": 48.6}],
    }
    answers: dict[str, Answer] = {
        f"{INSIGHTS}/tracks/42/realtime": (200, realtime),
        f"{INSIGHTS}/artists/7": (200, summary),
        f"{INSIGHTS}/artists/7/charts": (200, chart),
        f"{INSIGHTS}/artists/7/collaborations": (200, collaborations),
        f"{INSIGHTS}/artists": (200, listing([{"artist_id": 7, "name": "Ana Vale"}])),
        f"{INSIGHTS}/albums": (200, listing([{"album_id": 70, "title": "First Light", "artist_id": 7}])),
        f"{INSIGHTS}/tracks": (200, listing(LISTED_TRACKS)),
    }
    for dimension, rows in breakdowns.items():
        body = {"dimension": dimension, "period": "30-days", "rows": rows} | dates
        body |= {"other": {"plays": 0, "listeners": 0}, "unknown": {"plays": 434, "listeners": 90}}
        answers[f"{INSIGHTS}/artists/7/breakdown?dimension={dimension}"] = (200, body)
    return answers


LISTED_TRACKS = [
    {"track_id": 42, "title": "Dawn", "album_id": 70, "artist_ids": [7]},
    {"track_id": 43, "title": "Dusk", "album_id": 70, "artist_ids": [7]},
]


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "next_cursor": None}


def refusal(status: int, code: str, message: str, **extra: Any) -> Answer:
    return status, {"success": False, "message": message, "error": code, **extra}


class StandIn:
    """Serves the built files, and answers API paths from a table (anything else under /api is 404).

    A GET answer is tagged with an ETag made from its body; a matching If-None-Match gets a 304.
    """

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.polls: list[tuple[str | None, int]] = []  # realtime: (If-None-Match sent, status answered)

    def __call__(self, route: Any) -> None:
        request = route.request
        path = re.sub(r"\?.*", "", request.url.removeprefix(ORIGIN))
        dimension = re.search(r"[?&](dimension=[a-z]+)", request.url)
        if dimension and f"{path}?{dimension[1]}" in self.answers:
            path = f"{path}?{dimension[1]}"  # a breakdown: one answer per dimension
        if path.startswith("/dashboard/"):
            file = STATIC_DIR / (path.removeprefix("/dashboard/") or "index.html")
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            route.fulfill(status=200, body=file.read_bytes(), content_type=kind)
            return
        status, body = self.answers.get(path, refusal(404, "not_found", "No such endpoint."))
        data = json.dumps(body if status >= 400 else {"success": True, "data": body})
        headers = {"Retry-After": str(body.get("retry_after", 5))} if status in (429, 503) else {}
        if status == 200 and request.method == "GET":
            headers["ETag"] = f'"{hashlib.sha256(data.encode()).hexdigest()[:16]}"'
            if request.headers.get("if-none-match") == headers["ETag"]:
                status, data = 304, ""
        if path.endswith("/realtime"):
            self.polls.append((request.headers.get("if-none-match"), status))
        route.fulfill(status=status, body=data, content_type="application/json", headers=headers)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts = []

    def open_page(
        answers: dict[str, Answer] | StandIn, viewport: dict[str, int] = LAPTOP, hash_: str = ""
    ) -> Any:
        context = browser.new_context(viewport=viewport, timezone_id="UTC")
        contexts.append(context)
        page = context.new_page()
        page.route(f"{ORIGIN}/**", answers if isinstance(answers, StandIn) else StandIn(answers))
        page.goto(f"{ORIGIN}/dashboard/{hash_}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page: Any, text: str) -> None:
    page.get_by_label("API token").fill(text)
    page.get_by_role("button", name="Sign in").click()


def notice(page: Any) -> str:
    page.wait_for_selector("#notice:not([hidden])")
    return str(page.inner_text("#notice"))


# ---- what the user sees -----------------------------------------------------------------------------


def test_signed_in_page_shows_the_figures_the_api_gave(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers())
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    assert page.inner_text("#entity-title") == "Ana Vale"
    assert page.inner_text("#card-listeners") == "321"
    assert page.inner_text("#change-plays").startswith("▲ 12.5%")
    assert page.inner_text("#change-listeners").startswith("▼ 3.2%")
    assert page.get_attribute("#chart", "data-points") == "30"
    plays = sum((n * 7) % 11 for n in range(30))
    first = datetime.now(UTC).date() - timedelta(days=29)
    busiest, last = first + timedelta(days=3), first + timedelta(days=29)
    assert page.inner_text("#chart-summary") == (
        f"One point per day from {first} UTC: {plays} plays; busiest day {busiest} UTC with 10."
        f" The period before (dotted): {plays} plays. The last day ({last} UTC) is partial: still counting."
    )
    assert page.get_attribute("#chart", "data-partial-from") == "29", "today, and only today, is partial"
    assert page.inner_text("#trust").startswith("Counted through ")
    assert page.inner_text("#listen-qualified") == "1,000"
    assert page.inner_text("#listen-total") == "1 h 02 min"
    assert page.inner_text("#listen-average") == "3 min 05 s"
    assert page.inner_text("#country-bars li[data-value=DE] .bar-name").endswith("Germany")
    assert page.inner_text("#source-bars li[data-value=playlist] .bar-name") == "Playlists"
    assert page.inner_text("#platform-bars li[data-value=unknown] .plays") == "434"
    assert [row.split("\t")[1] for row in page.inner_text("#tracks-table tbody").splitlines()] == [
        "Dawn #42",
        "Dusk #43",
    ]
    assert "Ben Cross" in page.inner_text("#collab-table")
    assert page.evaluate("location.href").endswith("#artists/7/30d"), "the view is in the URL, not the token"
    assert token() not in page.evaluate("location.href")
    screenshot(page, "unit-artist-laptop")


def test_the_token_goes_in_the_authorization_header(open_page: Callable[..., Any]) -> None:
    answers = artist_answers()
    page = open_page(answers)
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if "/api/" in r.url else None)
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    assert sent and all(h.get("authorization") == f"Bearer {token_of(page)}" for h in sent)


def token_of(page: Any) -> str:
    return str(page.evaluate("sessionStorage.getItem('insights.token')"))


def test_live_polls_send_the_last_etag_and_keep_the_body_on_304(open_page: Callable[..., Any]) -> None:
    answers = artist_answers()
    stand_in = StandIn(answers)
    page = open_page(stand_in)
    sign_in(page, token())
    shown_live = "n => document.querySelector('#live-active').textContent === n"
    page.wait_for_function(shown_live, arg="3")
    page.wait_for_function(
        "() => document.querySelector('#live-status').textContent.startsWith('no change since the last look')"
    )
    assert page.inner_text("#live-active") == "3", "a 304 keeps the last body"
    assert stand_in.polls[0] == (None, 200)
    tag = stand_in.polls[1][0]
    assert tag is not None and stand_in.polls[1] == (tag, 304)
    path = f"{INSIGHTS}/tracks/42/realtime"
    answers[path] = (200, answers[path][1] | {"active_listeners": 5})
    page.wait_for_function(shown_live, arg="5")
    assert stand_in.polls[-1] == (tag, 200), "the poll that saw the change still sent the old tag"


def test_a_pasted_authorization_header_value_signs_in(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers())
    sent: list[str] = []
    page.on(
        "request", lambda r: sent.append(r.headers.get("authorization", "")) if "/api/" in r.url else None
    )
    pasted = token()
    sign_in(page, f"  Bearer {pasted}\n")
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    assert token_of(page) == pasted and sent and set(sent) == {f"Bearer {pasted}"}


def test_same_titled_tracks_are_told_apart(open_page: Callable[..., Any]) -> None:
    answers = artist_answers()
    summary = answers[f"{INSIGHTS}/artists/7"][1]
    summary["top_tracks"] = [
        {"track_id": 42, "title": "Dawn", "plays": 900, "listeners": 200},
        {"track_id": 44, "title": "Dawn", "plays": 334, "listeners": 150},
    ]
    tracks = [
        {"track_id": 42, "title": "Dawn", "album_id": 70, "artist_ids": [7]},
        {"track_id": 44, "title": "Dawn", "album_id": None, "artist_ids": [7, 8]},
    ]
    artists = [{"artist_id": 7, "name": "Ana Vale"}, {"artist_id": 8, "name": "Ben Cross"}]
    answers[f"{INSIGHTS}/tracks"] = (200, listing(tracks))
    answers[f"{INSIGHTS}/artists"] = (200, listing(artists))
    page = open_page(answers)
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    table = [row.split("\t")[1] for row in page.inner_text("#tracks-table tbody").splitlines()]
    assert table == ["Dawn #42", "Dawn #44"]
    page.select_option("#kind", "tracks")
    page.fill("#entity", "Dawn")
    page.wait_for_selector("#entity-list [role=option]")
    options = page.eval_on_selector_all("#entity-list [role=option]", "os => os.map(o => o.textContent)")
    assert options == ["Dawn · First Light (#42)", "Dawn · Ana Vale, Ben Cross (#44)"]


def test_the_picker_is_a_combobox_the_keyboard_drives(open_page: Callable[..., Any]) -> None:
    answers = artist_answers()
    answers[f"{INSIGHTS}/tracks"] = (200, {"items": LISTED_TRACKS[:1], "next_cursor": "next"})
    page = open_page(answers)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/tracks?" in r.url and "q=" in r.url else None)
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    page.select_option("#kind", "tracks")
    page.wait_for_function("document.querySelector('#entity').value === 'Dawn · First Light (#42)'")
    page.focus("#entity")
    page.keyboard.type("da")
    page.wait_for_selector("#entity-list [role=option]")
    assert page.get_attribute("#entity", "aria-expanded") == "true"
    assert page.inner_text("#entity-status") == "1 match for “da”, more available."
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # to "More results…", which asks for the next page
    assert page.get_attribute("#entity", "aria-activedescendant") == "entity-list-1"
    answers[f"{INSIGHTS}/tracks"] = (200, listing(LISTED_TRACKS[1:]))
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#entity-list').textContent.includes('Dusk')")
    options = page.eval_on_selector_all("#entity-list [role=option]", "os => os.map(o => o.textContent)")
    assert options == ["Dawn · First Light (#42)", "Dusk · First Light (#43)"], "the last page: no more"
    assert "cursor=next" in asked[-1] and "q=da" in asked[-1], asked
    assert page.get_attribute("#entity", "aria-activedescendant") == "entity-list-1", "on the first new item"
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash.startsWith('#tracks/43/')")
    assert page.get_attribute("#entity", "aria-expanded") == "false"


def test_downloads_hold_what_is_on_screen(open_page: Callable[..., Any]) -> None:
    answers = artist_answers() | {f"{INSIGHTS}/export/csv": (200, {}), f"{INSIGHTS}/export/pdf": (200, {})}
    page = open_page(answers)
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    assert (
        page.inner_text("#export-scope")
        == "The files hold what belongs to artist #7, over the last 30 days (UTC)."
    )
    bodies: list[Any] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if "/export/" in r.url else None)
    page.get_by_role("button", name="Download CSV").click()
    page.get_by_role("button", name="Download PDF report").click()
    page.wait_for_function("document.querySelector('#export-status').textContent.startsWith('Downloaded')")
    page.wait_for_function("() => !document.querySelector('[data-export=pdf]').disabled")
    assert {"type": "tracks", "period": "30-days", "tz": "UTC", "artist_id": 7} in bodies
    assert {"period": "30-days", "tz": "UTC", "artist_id": 7} in bodies


# ---- errors read as sentences -------------------------------------------------------------------


def test_an_expired_token_says_so_and_asks_for_a_new_one(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers())
    sign_in(page, token(days=1, now=datetime.now(UTC) - timedelta(days=2)))
    assert notice(page) == "Your token has expired. Paste a new one to sign in again."
    assert page.is_visible("#token-input")


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        (
            "The token is not valid.",
            "This token was not accepted: The token is not valid. Paste a valid token to sign in again.",
        ),
        ("The token has expired.", "Your token has expired. Paste a new one to sign in again."),
    ],
)
def test_a_token_the_server_refuses_signs_out_with_its_reason(
    open_page: Callable[..., Any], reason: str, sentence: str
) -> None:
    page = open_page({f"{INSIGHTS}/artists/7": refusal(401, "unauthorized", reason)})
    sign_in(page, token())
    assert notice(page) == sentence
    assert page.is_visible("#token-input")
    assert page.evaluate("sessionStorage.getItem('insights.token')") is None


def test_no_access_names_what_was_refused(open_page: Callable[..., Any]) -> None:
    answers = {f"{INSIGHTS}/artists/9": refusal(403, "forbidden", "This token may not read artist 9.")}
    page = open_page(answers, hash_="#artists/9/30d")
    sign_in(page, token())
    assert notice(page).startswith("This token has no access to artist 9.")
    assert page.inner_text("#card-plays") == "\u2013", "a dash, not a stale figure"


def test_after_a_refusal_every_part_of_the_page_agrees(open_page: Callable[..., Any]) -> None:
    answers = artist_answers() | {
        f"{INSIGHTS}/artists/9": refusal(403, "forbidden", "This token may not read artist 9.")
    }
    page = open_page(answers)
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#live-active').textContent === '3'")
    page.evaluate("location.hash = '#artists/9/30d'")
    assert notice(page).startswith("This token has no access to artist 9.")
    page.wait_for_function("document.querySelector('#entity-title').textContent === 'Artist 9'")
    assert page.inner_text("#entity-detail") == "#9 · no access"
    assert page.input_value("#entity") == "#9", "the picker shows no other"
    assert page.input_value("#entity-id") == "9"
    assert page.inner_text("#country-empty") == "No plays in this range."
    assert page.is_hidden("#live-body") and page.inner_text("#live-hint") == "Nothing to follow live here."
    assert page.is_hidden("#tracks-table")


def test_rate_limited_says_how_long_to_wait(open_page: Callable[..., Any]) -> None:
    limited = refusal(429, "rate_limited", "Too many requests.", retry_after=42)
    page = open_page(artist_answers() | {f"{INSIGHTS}/artists/7/charts": limited})
    sign_in(page, token())
    assert notice(page) == "Too many requests for now. Try again in 42 seconds."
    assert page.inner_text("#card-plays") == "1,234", "what did load is still shown"


def test_an_unavailable_store_and_a_lost_connection_read_as_sentences(open_page: Callable[..., Any]) -> None:
    down = refusal(503, "unavailable", "The analytics store is unavailable right now; please retry.")
    page = open_page({f"{INSIGHTS}/artists/7": down})
    sign_in(page, token())
    assert notice(page) == "The analytics service is unavailable right now; try again in 5 seconds."
    page.route(f"{ORIGIN}/api/**", lambda route: route.abort())  # the connection is lost
    page.get_by_label("1 year").check()
    page.wait_for_function("document.querySelector('#notice').textContent.includes('cannot be reached')")
    assert notice(page) == "The Insights API cannot be reached. Check the connection and retry."
    screenshot(page, "unit-error-laptop")


def test_text_that_is_not_a_token_is_refused_before_any_request(open_page: Callable[..., Any]) -> None:
    page = open_page({})
    sign_in(page, "hello")
    assert notice(page).startswith("That is not an Insights token")


# ---- accessibility ---------------------------------------------------------------------------------


def test_every_control_has_a_label(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers())
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, textarea, button')]
             .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim()))
             .map(e => e.id || e.outerHTML)"""
    )
    assert unlabelled == []


FOCUS_RING = """() => {
  const e = document.activeElement;
  if (e === document.body) return true;  // past the last control, before the first
  const shown = e.type === 'radio' ? e.labels[0] : e;  // a radio is drawn by its label
  return getComputedStyle(shown).outlineStyle !== 'none';
}"""


def test_the_keyboard_reaches_and_shows_every_control(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers())
    assert page.evaluate("document.activeElement.id") == "token-input", "the page opens ready to paste"
    page.keyboard.type(token())
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        reached.add(focused)
        assert page.evaluate(FOCUS_RING), f"no focus ring on {focused}"
    assert {
        "Skip to content",
        "sign-out",
        "kind",
        "entity",
        "entity-id",
        "tf-30d",
        "Dawn",
        "Download CSV",
    } <= reached
    page.focus("#tf-30d")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("location.hash === '#artists/7/90d'")


CONTRAST = """
(selectors) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const channel = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const shown = selectors.flatMap(s => [...document.querySelectorAll(s)]);
  return shown.filter(e => e.textContent.trim() && e.checkVisibility()).map(e => {
    const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(background(e))];
    return [e.id || e.className || e.tagName, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""


def test_text_contrast_is_at_least_4_5_to_1(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers())
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    selectors = ["h1", "h2", "p", "label", "th", "td", "button", ".change", "dt", "dd", ".who span", "legend"]
    ratios = page.evaluate(CONTRAST, selectors)
    assert ratios and [r for r in ratios if r[1] < 4.5] == []


def test_phone_layout_has_no_sideways_scroll(open_page: Callable[..., Any]) -> None:
    page = open_page(artist_answers(), viewport=PHONE)
    screenshot(page, "unit-sign-in-phone")
    sign_in(page, token())
    page.wait_for_function("document.querySelector('#card-plays').textContent === '1,234'")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "unit-artist-phone")
