"""Every operation of /openapi.json against a real `insights up`: each success and each error status the
document promises that a client can provoke is called once, and its body, headers and content type
must match the document (jsonschema, with the document's components resolved)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas.openapi import openapi_document
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token
from tests.unit.test_openapi import response_problems
from tests.utc_days import on_utc_days

pytestmark = pytest.mark.integration

ARTISTS = [{"artist_id": 1, "name": "Ana Vale"}, {"artist_id": 2, "name": "Ben Cross"}]
ALBUMS = [{"album_id": 10, "title": "First Light", "artist_id": 1}]
TRACKS = [
    {"track_id": 101, "title": "Dawn", "album_id": 10, "artist_ids": [1, 2]},
    {"track_id": 102, "title": "Noon", "album_id": 10, "artist_ids": [1]},
]
REVOCATIONS = "/api/v1/tokens/revocations"
KAFKA_RESET = "/api/v1/kafka/reset"
IDS = {"trackId": 101, "albumId": 10, "artistId": 1}
UNKNOWN = {"trackId": 999, "albumId": 999, "artistId": 999}
PARAMS = {
    "/charts": {"timeframe": "7d"},
    "/realtime": {},
    "/collaborations": {},
    "/breakdown": {"dimension": "country", "period": "7-days"},
}
LIMIT = 4  # requests a minute per token for every family, so that 429 is cheap to provoke


def event(number: int, kind: str, track_id: int, minutes_ago: int) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "event_id": f"openapi-{number}",
        "type": kind,
        "track_id": track_id,
        "listener_id": f"fan-{number % 3}",
        "occurred_at": moment.isoformat(),
    } | ({"country": "de", "source": "radio", "platform": "ios", "listened_ms": 40_000} if number % 3 else {})


EVENTS = [
    event(n, kind, 101 if n % 2 else 102, n) for n, kind in enumerate(["play"] * 6 + ["like", "heartbeat"])
]
PLAYS_OF_101 = sum(1 for e in EVENTS if e["type"] == "play" and e["track_id"] == 101)


@dataclass(frozen=True)
class Call:
    """One request, and the status the document says it gets."""

    template: str
    method: str
    status: int
    scopes: tuple[str, ...] | None = ("admin",)  # None: no Authorization header
    artists: tuple[int, ...] = ()
    ids: dict[str, int] = field(default_factory=lambda: IDS)
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None
    before: int = 0  # the same request sent this many times first, with the same token (429)
    conditional: bool = False  # sent again with If-None-Match: the first answer's ETag (304)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.template} {self.status}"

    def send(self, up: UpProcess) -> httpx.Response:
        path = re.sub(r"{(\w+)}", lambda m: str(self.ids[m.group(1)]), self.template)
        bearer = token(*self.scopes, artists=self.artists) if self.scopes is not None else None
        with up.client(bearer) as client:

            def send() -> httpx.Response:
                if self.method == "get":
                    return client.get(path, params=self.params)
                return client.post(path, json=self.body, content=self.raw)

            for _ in range(self.before):
                send()
            if self.conditional:
                etag = send().headers["ETag"]
                return client.get(path, params=self.params, headers={"If-None-Match": etag})
            return send()


def write_calls(template: str, scope: str, good: dict[str, Any], bad: dict[str, Any]) -> list[Call]:
    return [
        Call(template, "post", 202, (scope,), body=good),
        Call(template, "post", 401, None, body=good),
        Call(template, "post", 403, ("insights:read",), body=good),
        Call(template, "post", 413, (scope,), raw=b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'),
        Call(template, "post", 422, (scope,), body=bad),
        Call(template, "post", 429, (scope,), body=bad, before=LIMIT),
    ]


def read_calls(template: str) -> list[Call]:
    params = PARAMS.get(template.rsplit("}", 1)[-1], {"period": "7-days"})
    if params:
        invalid = Call(template, "get", 422, params={name: "forever" for name in params})
    else:
        invalid = Call(template, "get", 422, ids={name: 0 for name in IDS})
    return [
        Call(template, "get", 200, ("insights:read",), artists=(1,), params=params),
        Call(template, "get", 401, None),
        Call(template, "get", 403, ("insights:read",), artists=(7,), params=params),
        Call(template, "get", 404, ids=UNKNOWN, params=params),
        invalid,
        Call(template, "get", 304, ("insights:read",), artists=(1,), params=params, conditional=True),
        Call(template, "get", 429, params=params, before=LIMIT),
    ]


def listing_calls(template: str) -> list[Call]:
    return [
        Call(template, "get", 200, ("insights:read",), artists=(1,), params={"limit": "1"}),
        Call(template, "get", 401, None),
        Call(template, "get", 403, ("events:write",)),
        Call(template, "get", 422, params={"limit": "0"}),
        Call(template, "get", 429, params={"limit": "1"}, before=LIMIT),
    ]


def export_calls(template: str, body: dict[str, Any]) -> list[Call]:
    """An export as an artist's token (200 with real figures), and each refusal it documents."""
    if template.endswith("/formats"):
        return [
            Call(template, "get", 200, ("insights:read",), artists=(1,)),
            Call(template, "get", 401, None),
            Call(template, "get", 403, ("events:write",)),
            Call(template, "get", 429, ("insights:read",), before=LIMIT),
        ]
    return [
        Call(template, "post", 200, ("insights:read",), artists=(1,), body=body),
        Call(template, "post", 401, None, body=body),
        Call(template, "post", 403, ("events:write",), body=body),
        Call(template, "post", 404, ("insights:read",), artists=(1,), body=body | {"artist_id": 999}),
        Call(template, "post", 413, ("insights:read",), raw=b'{"pad": "' + b"x" * (64 * 1024) + b'"}'),
        Call(template, "post", 422, ("insights:read",), body=body | {"period": "forever"}),
        Call(template, "post", 429, ("insights:read",), body=body | {"period": "forever"}, before=LIMIT),
    ]


EXPORT_BODIES = {
    "/formats": {},
    "/csv": {"type": "tracks", "period": "7-days"},
    "/json": {"type": "albums", "period": "7-days", "include_breakdowns": True},
    "/report": {"period": "7-days", "include_charts": True},
    "/pdf": {"period": "7-days"},
}

SPEC = openapi_document()
CALLS = [
    Call("/healthz", "get", 200, None),
    Call("/readyz", "get", 200, None),
    Call("/metrics", "get", 200, None),
    Call("/openapi.json", "get", 200, None),
    Call("/docs", "get", 200, None),
    *write_calls(
        "/api/v1/events",
        "events:write",
        {"events": [event(100, "play", 102, 1), {"event_id": "bad", "type": "skip"}]},
        {"events": [{"event_id": ""}]},
    ),
    *write_calls(
        "/api/v1/catalog",
        "catalog:write",
        {"artists": [{"artist_id": 3, "name": "Cy Moreau"}], "tracks": [{"track_id": 5}]},
        {"albums": [{"album_id": "ten"}]},
    ),
    *(
        call
        for path in SPEC["paths"]
        if path.startswith(INSIGHTS) and "{" in path
        for call in read_calls(path)
    ),
    *(call for kind in ("tracks", "albums", "artists") for call in listing_calls(f"{INSIGHTS}/{kind}")),
    *(
        call
        for tail, body in EXPORT_BODIES.items()
        for call in export_calls(f"{INSIGHTS}/export{tail}", body)
    ),
    Call(
        f"{INSIGHTS}/export/json",
        "post",
        200,
        ("insights:read",),
        artists=(1,),
        body={"type": "tracks", "period": "7-days", "layout": "breakdowns"},
    ),
    Call(REVOCATIONS, "post", 201, body={"token_id": "openapi-test-token", "reason": "a test"}),
    Call(REVOCATIONS, "post", 401, None, body={"token_id": "x"}),
    Call(REVOCATIONS, "post", 403, ("insights:read",), body={"token_id": "x"}),
    Call(REVOCATIONS, "post", 413, raw=b'{"token_id": "' + b"x" * 8192 + b'"}'),
    Call(REVOCATIONS, "post", 422, body={"token_id": 7}),
    Call(REVOCATIONS, "post", 429, body={"token_id": 7}, before=LIMIT),
    Call(REVOCATIONS, "get", 200),
    Call(REVOCATIONS, "get", 401, None),
    Call(REVOCATIONS, "get", 403, ("insights:read",)),
    Call(REVOCATIONS, "get", 429, before=LIMIT),
    Call(KAFKA_RESET, "post", 200, body={"reason": "nothing to accept: Kafka matches"}),
    Call(KAFKA_RESET, "post", 401, None, body={}),
    Call(KAFKA_RESET, "post", 403, ("events:write",), body={}),
    Call(KAFKA_RESET, "post", 413, raw=b'{"reason": "' + b"x" * 8192 + b'"}'),
    Call(KAFKA_RESET, "post", 422, body={"reason": 7}),
    Call(KAFKA_RESET, "post", 429, body={"reason": 7}, before=LIMIT),
]

# Statuses no request can provoke while the system is healthy; the unit tests check 503 with stand-ins.
NOT_PROVOKED = {
    ("/readyz", "get", 503),
    ("/api/v1/events", "post", 503),
    ("/api/v1/catalog", "post", 503),
    (REVOCATIONS, "post", 503),
    (REVOCATIONS, "get", 503),
    (KAFKA_RESET, "post", 503),  # Kafka unreachable
    (KAFKA_RESET, "post", 404),  # an API that does not watch Kafka's identity (not `insights up`)
}


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    up = UpProcess(tmp_path_factory.mktemp("openapi") / "data")
    for family in ("READ", "EXPORT", "INGEST"):
        up.env[f"INSIGHTS_RATE_LIMIT_{family}"] = str(LIMIT)
    up.start()
    try:
        with up.client(token("catalog:write", "events:write")) as client:
            catalog = client.post(
                "/api/v1/catalog", json={"artists": ARTISTS, "albums": ALBUMS, "tracks": TRACKS}
            )
            assert catalog.status_code == 202, catalog.text
            events = client.post("/api/v1/events", json={"events": EVENTS})
            assert events.status_code == 202, events.text

        def counted() -> bool:
            with up.client(token("admin")) as client:  # a fresh token each time: LIMIT is small
                answer = client.get(f"{INSIGHTS}/tracks/101").json()
            return bool(answer.get("data", {}).get("plays", {}).get("total") == PLAYS_OF_101)

        eventually(counted, timeout=60)
        yield up
    finally:
        assert up.stop() == 0, up.log_tail()


@pytest.fixture(scope="module")
def served_spec(up: UpProcess) -> dict[str, Any]:
    def served() -> dict[str, Any]:
        with up.client() as client:
            spec: dict[str, Any] = client.get("/openapi.json").json()
        return spec

    spec, days = on_utc_days(served)
    # Its examples are dated the UTC day it is served; `servers`: where it was asked from.
    assert spec in [openapi_document(up.url, today=day) for day in days]
    return spec


@pytest.mark.parametrize("call", CALLS, ids=[call.id for call in CALLS])
def test_answer_matches_the_document(up: UpProcess, served_spec: dict[str, Any], call: Call) -> None:
    response = call.send(up)
    assert response.status_code == call.status, response.text
    assert response_problems(served_spec, call.template, call.method, response) == []


def test_the_figures_are_not_empty(up: UpProcess) -> None:
    """The success bodies above were checked with real numbers in them, not only zeros."""
    # EVENTS were made when this module was collected, maybe minutes ago: send a fresh heartbeat.
    beat = event(99, "heartbeat", 101, 0) | {"event_id": f"openapi-beat-{time.time_ns()}"}
    with up.client(token("events:write")) as client:
        assert client.post("/api/v1/events", json={"events": [beat]}).status_code == 202

    def realtime() -> dict[str, Any]:
        with up.client(token("admin")) as client:
            data: dict[str, Any] = client.get(f"{INSIGHTS}/tracks/101/realtime").json()["data"]
        return data

    eventually(lambda: realtime()["active_listeners"] > 0, timeout=30)
    assert realtime()["plays_last_60m"] == sum(
        1
        for e in EVENTS
        if e["type"] == "play"
        and e["track_id"] == 101
        and datetime.fromisoformat(e["occurred_at"]) > datetime.now(UTC) - timedelta(minutes=59)
    )


def test_every_documented_status_is_called_or_known_unprovokable() -> None:
    documented = {
        (path, method, int(status))
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        for status in op["responses"]
        if status != "500"  # no request provokes a server error on purpose
    }
    called = {(call.template, call.method, call.status) for call in CALLS}
    assert called | NOT_PROVOKED == documented
