"""Rate limits, the sign-in throttle, ETags and 304s, the response cache, revocation and security
headers, on the real app over a real ClickHouse engine (chDB)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.app import ApiOptions, create_app
from api.http import background
from api.http.limits import Limits
from insights.store import Store
from tests.integration.harness import INSIGHTS, SECRET, token

pytestmark = pytest.mark.integration

ARTIST, OTHER_ARTIST, TRACK = 7001, 7002, 700101


class CountingStore(Store):
    """The real store, counting the statements the API sends it."""

    queries = 0

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        CountingStore.queries += 1
        return super().query_rows(sql, parameters, binary)


@pytest.fixture(scope="module")
def catalog(embedded_store: Store) -> Store:
    embedded_store.insert(
        "artists", [(ARTIST, "Ana Vale", 1), (OTHER_ARTIST, "Ben Cross", 1)], ("artist_id", "name", "version")
    )
    embedded_store.insert(
        "tracks",
        [(TRACK, "Night Drive", None, [ARTIST], 1)],
        ("track_id", "title", "album_id", "artist_ids", "version"),
    )
    return embedded_store


class ManualClock:
    """The response cache's clock, moved by hand: expiry and refresh-ahead without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def app_with(store: Store, clock: ManualClock | None = None, **limits: int) -> Starlette:
    options = ApiOptions(limits=Limits(**limits), clock=clock or ManualClock())
    return create_app(store, publisher=None, secret=SECRET, options=options)  # type: ignore[arg-type]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(catalog: Store, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(app_with(catalog, clock)) as client:
        yield client


def reader() -> dict[str, str]:
    return bearer(token("insights:read", artists=(ARTIST,)))


def test_reads_carry_rate_limit_headers_and_answer_429_beyond_the_limit(catalog: Store) -> None:
    with TestClient(app_with(catalog, read=3)) as client:
        mine, other = reader(), reader()
        remaining = []
        for _ in range(3):
            answer = client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=mine)
            assert answer.status_code == 200
            assert answer.headers["X-RateLimit-Limit"] == "3"
            assert int(answer.headers["X-RateLimit-Reset"]) >= int(time.time())
            remaining.append(answer.headers["X-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]

        limited = client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=mine)
        assert limited.status_code == 429
        body = limited.json()
        assert body["success"] is False and body["error"] == "rate_limited"
        assert 1 <= body["retry_after"] <= 60
        assert limited.headers["Retry-After"] == str(body["retry_after"])
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        # The limit is per token: another token of the same artist is not affected.
        assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=other).status_code == 200


def test_exports_and_ingest_count_against_their_own_limits(catalog: Store) -> None:
    with TestClient(app_with(catalog, read=100, export=2, ingest=2)) as client:
        mine = bearer(token("insights:read", "events:write", artists=(ARTIST,)))
        for _ in range(2):
            assert client.post(f"{INSIGHTS}/export/csv", headers=mine).status_code != 429
        assert client.post(f"{INSIGHTS}/export/csv", headers=mine).status_code == 429
        for _ in range(2):
            answer = client.post("/api/v1/events", json={"events": []}, headers=mine)
            assert answer.status_code == 422 and answer.headers["X-RateLimit-Limit"] == "2"
        assert client.post("/api/v1/events", json={"events": []}, headers=mine).status_code == 429
        read = client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=mine)
        assert read.status_code == 200 and read.headers["X-RateLimit-Remaining"] == "99"


def test_default_ingest_limit_lets_a_player_send_thousands_of_events_a_second() -> None:
    full_batches_a_second = Limits().ingest / 60
    assert full_batches_a_second * 1000 >= 5_000


def test_failed_sign_ins_are_throttled_per_address_but_a_valid_token_always_passes(catalog: Store) -> None:
    with TestClient(app_with(catalog, auth_failures=3)) as client:
        forged = bearer(jwt.encode({"sub": "x"}, "a-guessed-secret-of-some-length-1234", algorithm="HS256"))
        for _ in range(3):
            assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=forged).status_code == 401
        # Beyond the limit the address's failing attempts are refused without a verdict...
        throttled = client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=forged)
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "rate_limited"
        assert int(throttled.headers["Retry-After"]) >= 1
        assert "secret" not in throttled.text
        # ...but others' failures from the same address (a shared NAT) never lock out a valid token.
        assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=reader()).status_code == 200
        assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=forged).status_code == 429


def test_answers_carry_a_strong_etag_and_if_none_match_gets_304_without_recomputing(
    client: TestClient,
) -> None:
    first = client.get(f"{INSIGHTS}/tracks/{TRACK}?period=7-days", headers=reader())
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, max-age=2"
    assert first.headers["Vary"] == "Authorization"
    computed = client.app.state.cache.computed  # type: ignore[attr-defined]

    again = client.get(f"{INSIGHTS}/tracks/{TRACK}?period=7-days", headers=reader() | {"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert "X-RateLimit-Remaining" in again.headers
    assert client.app.state.cache.computed == computed  # type: ignore[attr-defined]

    other = client.get(
        f"{INSIGHTS}/tracks/{TRACK}?period=7-days", headers=reader() | {"If-None-Match": '"x"'}
    )
    assert other.status_code == 200 and other.json() == first.json()


def test_longer_max_age_for_charts_with_wide_buckets(client: TestClient) -> None:
    ages = {
        timeframe: client.get(
            f"{INSIGHTS}/tracks/{TRACK}/charts?timeframe={timeframe}", headers=reader()
        ).headers["Cache-Control"]
        for timeframe in ("7d", "1y")
    }
    assert ages == {"7d": "private, max-age=5", "1y": "private, max-age=30"}
    realtime = client.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader())
    assert realtime.headers["Cache-Control"] == "private, max-age=1"


def test_a_thousand_pollers_cost_one_computation(catalog: Store) -> None:
    store = CountingStore(catalog.dsn)
    clock = ManualClock()
    app = app_with(store, clock)

    async def poll(pollers: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            calls = [
                http.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader()) for _ in range(pollers)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    try:
        assert asyncio.run(poll(1)) == [200]  # loads the catalog into the API's memory
        clock.advance(1.1)  # the kept answer expires
        before, computed = CountingStore.queries, app.state.cache.computed
        assert asyncio.run(poll(1000)) == [200] * 1000
        assert app.state.cache.computed == computed + 1
        # The realtime query, and at most the catalog's check that it is current.
        assert CountingStore.queries - before <= 2
    finally:
        store.close()


def test_a_kept_answer_expires_after_its_max_age(client: TestClient, clock: ManualClock) -> None:
    first = client.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader())
    computed = client.app.state.cache.computed  # type: ignore[attr-defined]
    assert first.headers["Age"] == "0"
    clock.advance(0.5)  # before the last quarter of the max-age, where a refresh would start
    kept = client.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader())
    assert kept.headers["Age"] == "0" and client.app.state.cache.computed == computed  # type: ignore[attr-defined]
    clock.advance(0.6)  # 1.1 s: past the realtime max-age of 1 s
    client.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader())
    assert client.app.state.cache.computed == computed + 1  # type: ignore[attr-defined]


def test_a_polled_answer_is_refreshed_before_it_expires_so_no_poller_waits(
    client: TestClient, clock: ManualClock
) -> None:
    """Asked for in the last quarter of its max-age, a kept answer is served as it is and computed
    again in the background; past the old one's expiry the new one is served without computing."""
    url = f"{INSIGHTS}/tracks/{TRACK}?period=90-days"
    cache = client.app.state.cache  # type: ignore[attr-defined]
    assert client.get(url, headers=reader()).status_code == 200  # max-age 2
    computed = cache.computed
    clock.advance(1.6)  # in the last quarter of its max-age
    late = client.get(url, headers=reader())
    assert late.status_code == 200 and late.headers["Age"] == "1"  # the kept answer, not a new one
    deadline = time.monotonic() + 5
    while cache.computed == computed and time.monotonic() < deadline:
        client.get("/healthz")  # lets the app's event loop run the refresh
        time.sleep(0.05)
    assert cache.computed == computed + 1
    clock.advance(0.6)  # 2.2 s: the first answer has expired
    after = client.get(url, headers=reader())
    assert after.status_code == 200 and after.json() == late.json()
    assert cache.computed == computed + 1  # the refreshed answer, made before anyone needed it


def test_pollers_asking_at_once_near_expiry_start_one_refresh(
    catalog: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Many requests in the last quarter of an answer's max-age, all before the refresh has started,
    still make a single background computation (each used to start its own, and all but one failed)."""
    clock = ManualClock()
    app = app_with(catalog, clock)
    url = f"{INSIGHTS}/tracks/{TRACK}?period=7-days"

    async def refreshes() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            assert (await http.get(url, headers=reader())).status_code == 200  # max-age 2
            computed = app.state.cache.computed
            clock.advance(1.6)  # in the last quarter of its max-age
            answers = await asyncio.gather(*(http.get(url, headers=reader()) for _ in range(50)))
            assert {(a.status_code, a.headers["Age"]) for a in answers} == {(200, "1")}
            await background.settled()  # every refresh those requests started has finished
            return int(app.state.cache.computed - computed)

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(refreshes()) == 1
    assert "refreshing a kept answer failed" not in caplog.text


def test_a_kept_answer_is_still_checked_against_each_token(client: TestClient) -> None:
    assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=reader()).status_code == 200
    stranger = bearer(token("insights:read", artists=(OTHER_ARTIST,)))
    denied = client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=stranger)
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    assert denied.headers["Cache-Control"] == "no-store"
    admin = bearer(token("admin"))
    assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=admin).status_code == 200
    assert client.get(f"{INSIGHTS}/tracks/999999001", headers=admin).status_code == 404


def test_a_revoked_token_is_refused_by_every_api_process(catalog: Store) -> None:
    victim = token("insights:read", artists=(ARTIST,))
    victim_id = jwt.decode(victim, options={"verify_signature": False})["jti"]
    admin = bearer(token("admin"))
    with TestClient(app_with(catalog)) as one, TestClient(app_with(catalog)) as two:
        assert two.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(victim)).status_code == 200
        revoked = one.post(
            "/api/v1/tokens/revocations", json={"token_id": victim_id, "reason": "leaked"}, headers=admin
        )
        assert revoked.status_code == 201 and revoked.json()["data"]["token_id"] == victim_id
        assert one.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(victim)).status_code == 401

        deadline = time.monotonic() + 5
        while two.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(victim)).status_code != 401:
            assert time.monotonic() < deadline, "the other API process still accepts a revoked token"
            time.sleep(0.1)
        answer = two.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(victim)).json()
        assert answer["message"] == "The token has been revoked."

        listed = one.get("/api/v1/tokens/revocations", headers=admin).json()["data"]["revocations"]
        assert {"token_id": victim_id, "reason": "leaked"}.items() <= listed[0].items()
        assert one.get("/api/v1/tokens/revocations", headers=reader()).status_code == 403
        bad = one.post("/api/v1/tokens/revocations", json={"token_id": ""}, headers=admin)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "token_id"


def test_security_headers_everywhere_and_cors_off_by_default(client: TestClient, catalog: Store) -> None:
    for path in ("/healthz", f"{INSIGHTS}/tracks/{TRACK}", "/docs"):
        answer = client.get(path, headers=reader() | {"Origin": "https://evil.example"})
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Access-Control-Allow-Origin" not in answer.headers
    options = ApiOptions(cors_origins=("https://app.example",))
    with TestClient(create_app(catalog, None, SECRET, options)) as cors:  # type: ignore[arg-type]
        preflight = cors.options(
            f"{INSIGHTS}/tracks/{TRACK}",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
        other = cors.get(f"{INSIGHTS}/tracks/{TRACK}", headers=reader() | {"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers


def test_idle_realtime_polls_get_304_although_time_moves_on(client: TestClient, clock: ManualClock) -> None:
    """No event arrives: the figures stay, so the earlier answer (its as_of too) stays valid."""
    while datetime.now(UTC).second >= 55:  # the series moves on with the minute: not within one
        time.sleep(0.5)
    first = client.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader())
    etag = first.headers["ETag"]
    time.sleep(1.2)  # a later second for `as_of`, the moment the answer describes
    clock.advance(1.2)  # past the 1 s max-age: the figures are computed again
    again = client.get(f"{INSIGHTS}/tracks/{TRACK}/realtime", headers=reader() | {"If-None-Match": etag})
    assert again.status_code == 304


def test_expiry_is_enforced_on_every_request_even_for_a_token_seen_before(client: TestClient) -> None:
    from schemas.tokens import create_token

    short = create_token(SECRET, artists=(ARTIST,), days=2 / 86400)  # two seconds
    assert client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(short)).status_code == 200
    time.sleep(2.1)
    expired = client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(short))
    assert expired.status_code == 401 and expired.json()["message"] == "The token has expired."


def test_no_token_or_secret_reaches_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    good, forged = token("insights:read", artists=(ARTIST,)), token("admin")[:-4] + "AAAA"
    with caplog.at_level("DEBUG"):
        for bearer_token in (good, forged, "not-a-token"):
            client.get(f"{INSIGHTS}/tracks/{TRACK}", headers=bearer(bearer_token))
            client.post("/api/v1/tokens/revocations", json={"token_id": 1}, headers=bearer(bearer_token))
    assert caplog.records, "nothing was logged, so nothing was checked"
    for secret in (SECRET, good, forged, good.split(".")[2]):
        assert secret not in caplog.text
