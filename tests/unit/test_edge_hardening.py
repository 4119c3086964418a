"""The edge against hostile input: path ids, the headers every answer carries (a 500 included) and
log lines that a client cannot forge."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.testclient import TestClient

from api.app import ApiOptions, create_app
from api.http.health import READY_CACHE_SECONDS, Readiness
from api.pages.docs import render_page
from insights.logs import TextFormatter
from schemas.openapi import INSIGHTS
from schemas.tokens import create_token
from tests.unit.conftest import SECRET, FakePublisher, FakeStore

READER = {"Authorization": f"Bearer {create_token(SECRET, scopes=['admin'])}"}


@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A4%D9%A2", "%EF%BC%94%EF%BC%92", "4%C2%B2"])
def test_a_path_id_of_non_ascii_digits_is_refused_with_422(client: TestClient, raw: str) -> None:
    # ² (superscript two), ٤٢ (Arabic-Indic 42) and full-width 42 are digits to Python's
    # str.isdigit, and int() reads some of them: they must not reach the queries as numbers.
    answer = client.get(f"{INSIGHTS}/tracks/{raw}", headers=READER)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "trackId"


def test_a_server_error_carries_the_request_id_and_the_security_headers() -> None:
    class BrokenStore(FakeStore):
        async def aquery_rows(self, *args: object, **kwargs: object) -> list[object]:
            raise RuntimeError("a bug, not an outage")

    app = create_app(BrokenStore(), FakePublisher(), SECRET)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(f"{INSIGHTS}/tracks/42", headers=READER | {"X-Request-ID": "probe-1"})
    assert answer.status_code == 500
    assert answer.json() == {
        "success": False,
        "message": "Something went wrong on our side; please try again.",
        "error": "server_error",
    }
    assert answer.headers["X-Request-ID"] == "probe-1"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "a bug" not in answer.text


def text_line(message: str, *args: object) -> str:
    record = logging.LogRecord("insights.http", logging.INFO, __file__, 1, message, args, None)
    return TextFormatter().format(record)


def test_a_client_cannot_forge_a_text_log_line() -> None:
    forged_path = "/x\n2026-01-01 00:00:00,000 WARNING insights: admin token created\r"
    line = text_line("%s %s %d", "GET", forged_path, 404)
    assert "\n" not in line and "\r" not in line
    assert "\\n2026-01-01" in line  # still readable, escaped
    assert "/x" in line


def test_text_logs_keep_unicode_and_tracebacks_readable() -> None:
    assert "Café" in text_line("track %s", "Café")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = TextFormatter().format(record)
    assert "Traceback" in text and "\n" in text  # the traceback is ours, its lines stay lines


def test_the_api_accepts_tokens_of_a_previous_key_only_while_it_is_listed() -> None:
    old_key = "an-old-key-that-is-being-rotated-away-1234"
    before_rotation = {"Authorization": f"Bearer {create_token(old_key, scopes=['admin'])}"}
    rotating = ApiOptions(previous_secrets=(old_key,))
    with TestClient(create_app(FakeStore(), FakePublisher(), SECRET, rotating)) as client:  # type: ignore[arg-type]
        assert client.get("/api/v1/no-such-thing", headers=before_rotation).status_code == 404
        assert client.get("/api/v1/no-such-thing", headers=READER).status_code == 404
    with TestClient(create_app(FakeStore(), FakePublisher(), SECRET)) as client:  # type: ignore[arg-type]
        assert client.get("/api/v1/no-such-thing", headers=before_rotation).status_code == 401


def test_a_client_gone_before_its_body_arrived_is_no_server_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(FakeStore(), FakePublisher(), SECRET)  # type: ignore[arg-type]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/events",
        "raw_path": b"/api/v1/events",
        "query_string": b"",
        "headers": [(b"authorization", READER["Authorization"].encode())],
        "client": ("192.0.2.1", 1234),
        "app": app,
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}  # the server closed it: the body missed its deadline

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 499  # nginx's "client closed request": logged, never seen by anyone
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_metrics_leave_the_api_port_when_served_on_their_own(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200  # `insights up` on this machine: one port
    options = ApiOptions(metrics_route=False)
    with TestClient(create_app(FakeStore(), FakePublisher(), SECRET, options)) as own_port:  # type: ignore[arg-type]
        assert own_port.get("/metrics").status_code == 404


def test_readiness_is_checked_once_however_often_it_is_probed() -> None:
    class CountingStore(FakeStore):
        pings = 0

        async def ping(self) -> bool:
            CountingStore.pings += 1
            return True

    app = create_app(CountingStore(), FakePublisher(), SECRET)  # type: ignore[arg-type]
    now = [0.0]
    app.state.readiness = Readiness(app.state.store, app.state.publisher, clock=lambda: now[0])
    with TestClient(app) as client:
        assert all(client.get("/readyz").status_code == 200 for _ in range(50))
        assert CountingStore.pings == 1
        now[0] = READY_CACHE_SECONDS
        client.get("/readyz")
        assert CountingStore.pings == 2


def test_the_docs_page_is_rendered_once_whatever_host_is_asked_for(client: TestClient) -> None:
    render_page.cache_clear()
    for n in range(20):
        page = client.get("/docs", headers={"Host": f"h{n}.example"})
        assert f"http://h{n}.example/api/v1/events" in page.text
    assert render_page.cache_info().misses == 1
    evil = client.get("/docs", headers={"Host": "<b>x</b>"}).text
    assert "<b>x</b>" not in evil
