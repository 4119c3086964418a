"""Browsers on other origins (api/http/cors.py): with INSIGHTS_CORS_ORIGINS set, a preflight from an allowed
origin succeeds without a token; one from any other origin, or for a method or header not allowed, is
refused in the API's error shape; the real request still needs its token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from api.app import ApiOptions, create_app
from tests.unit.conftest import SECRET, FakePublisher, FakeStore

ALLOWED = "https://app.example"
PATHS = ["/api/v1/events", "/api/v1/tokens/revocations", "/api/v1/producer-intelligence/insights/tracks/7"]


@pytest.fixture
def browser() -> Iterator[TestClient]:
    app = create_app(FakeStore(), FakePublisher(), SECRET, ApiOptions(cors_origins=(ALLOWED,)))  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client


def preflight(
    origin: str, method: str = "POST", headers: str = "Authorization, Content-Type"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_from_an_allowed_origin_succeeds_without_a_token(browser: TestClient, path: str) -> None:
    answer = browser.options(path, headers=preflight(ALLOWED))
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert set(answer.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}


@pytest.mark.parametrize(
    ("request_headers", "refused"),
    [
        (preflight("https://evil.example"), "origin"),
        (preflight(ALLOWED, method="DELETE"), "method"),
        (preflight(ALLOWED, headers="X-Secret"), "headers"),
    ],
)
@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_outside_the_policy_is_refused_in_the_error_shape(
    browser: TestClient, path: str, request_headers: dict[str, str], refused: str
) -> None:
    answer = browser.options(path, headers=request_headers)
    assert answer.status_code == 403
    assert answer.json() == {
        "success": False,
        "message": f"This cross-origin request is refused: {refused} not allowed.",
        "error": "forbidden",
    }
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_the_real_request_from_an_allowed_origin_still_needs_its_token(browser: TestClient) -> None:
    answer = browser.get(PATHS[2], headers={"Origin": ALLOWED})
    assert answer.status_code == 401
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED  # so the page can read the 401


def test_without_cors_origins_a_preflight_is_an_ordinary_request(client: TestClient) -> None:
    answer = client.options(PATHS[0], headers=preflight(ALLOWED))
    assert answer.status_code == 401  # no token: no browser on another origin gets further
    assert "Access-Control-Allow-Origin" not in answer.headers
