"""The HTTP observability middleware and the log formats: request ids are accepted or generated,
returned and logged; latency is recorded per route template, never per raw path."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.http.observability import ObservabilityMiddleware
from insights.logs import (
    REQUEST_ID,
    FaustNoise,
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
)
from insights.metrics import REGISTRY

seen_ids: list[str | None] = []


async def item(request: Request) -> PlainTextResponse:
    seen_ids.append(REQUEST_ID.get())
    logging.getLogger("tests.item").info("serving item %s", request.path_params["item_id"])
    return PlainTextResponse("ok")


async def broken(request: Request) -> PlainTextResponse:
    raise RuntimeError("boom")


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = Starlette(
        routes=[
            Route("/obs-test/items/{item_id:int}", item),
            Route("/obs-test/broken", broken),
        ],
        middleware=[Middleware(ObservabilityMiddleware)],
    )
    return TestClient(app, raise_server_exceptions=False)


def request_count(route: str, status: str, method: str = "GET") -> float:
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if (
                sample.name == "insights_http_request_duration_seconds_count"
                and sample.labels["route"] == route
                and sample.labels["status"] == status
                and sample.labels["method"] == method
            ):
                return sample.value
    return 0.0


def test_a_request_without_an_id_gets_a_new_one_returned_and_seen_by_the_handler(client: TestClient) -> None:
    first = client.get("/obs-test/items/1")
    second = client.get("/obs-test/items/2")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert seen_ids[-2:] == [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert REQUEST_ID.get() is None  # reset after the request


def test_a_plain_caller_id_is_kept_and_an_unsafe_one_replaced(client: TestClient) -> None:
    kept = client.get("/obs-test/items/3", headers={"X-Request-ID": "trace-42.a:b"})
    assert kept.headers["x-request-id"] == "trace-42.a:b"
    unsafe = client.get("/obs-test/items/3", headers={"X-Request-ID": "evil\tid with spaces"})
    assert unsafe.headers["x-request-id"] != "evil\tid with spaces"
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    assert (
        len(client.get("/obs-test/items/3", headers={"X-Request-ID": "x" * 129}).headers["x-request-id"])
        == 32
    )


def test_latency_is_labelled_by_route_template_not_by_path(client: TestClient) -> None:
    template = "/obs-test/items/{item_id:int}"
    before = request_count(template, "200")
    for item_id in range(10, 15):
        assert client.get(f"/obs-test/items/{item_id}").status_code == 200
    assert request_count(template, "200") == before + 5
    assert request_count("/obs-test/items/10", "200") == 0


def test_unknown_paths_share_one_label_and_failures_count_as_500(client: TestClient) -> None:
    before_unmatched, before_broken = (
        request_count("unmatched", "404"),
        request_count("/obs-test/broken", "500"),
    )
    client.get("/obs-test/nothing/here/123")
    client.get("/obs-test/nothing/else")
    response = client.get("/obs-test/broken")
    assert response.status_code == 500
    assert request_count("unmatched", "404") == before_unmatched + 2
    assert request_count("/obs-test/broken", "500") == before_broken + 1


def test_an_unusual_method_shares_one_label(client: TestClient) -> None:
    template = "/obs-test/items/{item_id:int}"
    before = request_count(template, "405", method="other")
    client.request("BREW", "/obs-test/items/1")
    client.request("SPIN", "/obs-test/items/1")
    assert request_count(template, "405", method="other") == before + 2


def record(message: str) -> logging.LogRecord:
    entry = logging.LogRecord("insights.test", logging.WARNING, __file__, 1, message, ("x",), None)
    RequestIdFilter().filter(entry)
    return entry


def test_json_logs_are_one_object_per_line_with_the_request_id() -> None:
    token = REQUEST_ID.set("req-7")
    try:
        line = JsonFormatter().format(record("hello %s"))
    finally:
        REQUEST_ID.reset(token)
    entry = json.loads(line)
    assert "\n" not in line
    assert (
        entry["message"] == "hello x" and entry["level"] == "WARNING" and entry["logger"] == "insights.test"
    )
    assert entry["request_id"] == "req-7"
    assert entry["time"].endswith("+00:00")
    assert "request_id" not in json.loads(JsonFormatter().format(record("outside %s")))


def test_text_logs_name_the_request_id_only_inside_a_request() -> None:
    token = REQUEST_ID.set("req-8")
    try:
        assert TextFormatter().format(record("hi %s")).endswith("insights.test: hi x [request_id=req-8]")
    finally:
        REQUEST_ID.reset(token)
    assert TextFormatter().format(record("hi %s")).endswith("insights.test: hi x")


def test_an_unknown_log_format_is_refused() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with pytest.raises(ValueError, match="INSIGHTS_LOG_FORMAT"):
        configure_logging("INFO", "xml")
    assert root.handlers == handlers and root.level == level


def test_faust_s_warning_of_sensors_the_app_never_had_is_dropped_and_its_others_kept() -> None:
    def warning(logger: str, message: str) -> logging.LogRecord:
        return logging.LogRecord(logger, logging.WARNING, __file__, 1, message, (3,), None)

    noise = FaustNoise()
    # as Faust's services log it: behind their name
    assert not noise.filter(warning("faust.app.base", "[^App]: Missing sensor state for rebalance #%s"))
    assert not noise.filter(warning("faust.app.base", "[^App]: Missing sensor state for rebalance end #%s"))
    assert noise.filter(warning("faust.app.base", "Timed out waiting for %s"))
    assert noise.filter(warning("insights", "Missing sensor state for rebalance #%s"))
