"""Every read endpoint of §6.3 against `insights up`, for every period and timeframe, compared with
the reference model computed from the events the test posted; plus the access matrix."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration import reference
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token

pytestmark = pytest.mark.integration

ARTISTS = [{"artist_id": 1, "name": "Ana Vale"}, {"artist_id": 2, "name": "Ben Cross"}]
ARTISTS += [{"artist_id": 3, "name": "Cy Moreau"}, {"artist_id": 4, "name": "Dee Quinn"}]
ALBUMS = [
    {"album_id": 10, "title": "First Light", "artist_id": 1},
    {"album_id": 11, "title": "Harbor", "artist_id": 2},
]
TRACKS = [
    {"track_id": 101, "title": "Dawn", "album_id": 10, "artist_ids": [1]},
    {"track_id": 102, "title": "Tide (with Ben)", "album_id": 10, "artist_ids": [1, 2]},
    {"track_id": 103, "title": "Noon", "album_id": 10, "artist_ids": [1]},
    {"track_id": 201, "title": "Pier", "album_id": 11, "artist_ids": [2]},
    {"track_id": 202, "title": "Lanterns", "album_id": None, "artist_ids": [2, 3, 1]},
    {"track_id": 301, "title": "Never Played", "album_id": None, "artist_ids": [3]},
]
PLAYED = [101, 102, 103, 201, 202]
NAMES = {a["artist_id"]: a["name"] for a in ARTISTS}


def tracks_of_album(album_id: int) -> list[int]:
    return [t["track_id"] for t in TRACKS if t["album_id"] == album_id]


def tracks_of_artist(artist_id: int) -> list[int]:
    return [t["track_id"] for t in TRACKS if artist_id in t["artist_ids"]]


def make_events(now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """History over 400 days with listeners shared across tracks, repeats, and a live minute."""
    events = []

    def add(track_id: int, kind: str, listener: str, moment: datetime) -> None:
        events.append(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "type": kind,
                "track_id": track_id,
                "listener_id": listener,
                "occurred_at": moment.isoformat(),
            }
        )

    for _ in range(2500):
        age = timedelta(seconds=rng.randint(600, 399 * 86400))
        if rng.random() < 0.5:
            age = timedelta(seconds=rng.randint(600, 20 * 86400))  # recent-heavy, so 7d charts fill
        kind = rng.choices(["play", "like", "repost", "heartbeat"], weights=[10, 2, 1, 2])[0]
        add(rng.choice(PLAYED), kind, f"fan-{rng.randint(1, 60)}", now - age)
    for seconds in (20, 45, 90, 150, 240, 330, 900, 1800, 3000):  # live: inside/outside 5 and 60 min
        add(101, "play", f"live-{seconds % 7}", now - timedelta(seconds=seconds))
        add(101, "heartbeat", f"beat-{seconds % 5}", now - timedelta(seconds=seconds + 5))
    events += rng.sample(events, 200)  # the same event_id again
    rng.shuffle(events)
    return events


class Deployment:
    def __init__(self, up: UpProcess, events: list[dict[str, Any]]) -> None:
        self.up = up
        self.events = events

    def get(self, path: str, bearer: str | None = None, **params: str) -> httpx.Response:
        with self.up.client(bearer if bearer is not None else token("admin")) as client:
            return client.get(INSIGHTS + path, params=params)

    def data(self, path: str, **params: str) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["success"] is True
        return body["data"]  # type: ignore[no-any-return]


def post(up: UpProcess, path: str, body: dict[str, Any], scope: str) -> dict[str, Any]:
    with up.client(token(scope)) as client:
        response = client.post(path, json=body)
    assert response.status_code == 202, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    up = UpProcess(tmp_path_factory.mktemp("read") / "data")
    up.start()
    try:
        stale = {"track_id": 103, "title": "Old title", "album_id": 10, "artist_ids": [1]}
        post(up, "/api/v1/catalog", {"tracks": [stale]}, "catalog:write")
        post(up, "/api/v1/catalog", {"artists": ARTISTS, "albums": ALBUMS, "tracks": TRACKS}, "catalog:write")
        events = make_events(datetime.now(UTC), random.Random(3))
        for start in range(0, len(events), 700):
            assert (
                post(up, "/api/v1/events", {"events": events[start : start + 700]}, "events:write")[
                    "rejected"
                ]
                == 0
            )
        deployment = Deployment(up, events)
        expected = reference.analytics(events, PLAYED, 365, datetime.now(UTC).date())["plays"]["total"]
        eventually(
            lambda: (
                deployment.data("/artists/1", period="1-year")["plays"]["total"]
                == expected - sum(1 for e in reference.counted(events, [201]) if e["type"] == "play")
            ),
            timeout=60,
        )
        eventually(lambda: deployment.data("/tracks/103")["title"] == "Noon", timeout=30)
        yield deployment
    finally:
        assert up.stop() == 0, up.log_tail()


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


@pytest.mark.parametrize("period", reference.PERIODS)
def test_track_album_and_artist_analytics_match_the_definitions(deployment: Deployment, period: str) -> None:
    days, today = reference.PERIODS[period], datetime.now(UTC).date()
    events = deployment.events
    for track_id in [*PLAYED, 301]:
        data = deployment.data(f"/tracks/{track_id}", period=period)
        assert without(data, "track_id", "title", "period") == reference.analytics(
            events, [track_id], days, today
        )
    for album in ALBUMS:
        data = deployment.data(f"/albums/{album['album_id']}", period=period)
        track_ids = tracks_of_album(album["album_id"])
        assert (data["title"], data["artist_id"], data["period"]) == (
            album["title"],
            album["artist_id"],
            period,
        )
        assert without(data, "album_id", "title", "artist_id", "period", "tracks") == reference.analytics(
            events, track_ids, days, today
        )
        figures = reference.per_track(events, track_ids, days, today)
        ranked = sorted(track_ids, key=lambda t: (-figures[t][0], t))
        titles = {t["track_id"]: t["title"] for t in TRACKS}
        assert data["tracks"] == [
            {"track_id": t, "title": titles[t], "plays": figures[t][0], "listeners": figures[t][1]}
            for t in ranked
        ]
    for artist_id in NAMES:
        data = deployment.data(f"/artists/{artist_id}", period=period)
        track_ids = tracks_of_artist(artist_id)
        assert data["name"] == NAMES[artist_id]
        assert without(data, "artist_id", "name", "period", "top_tracks") == reference.analytics(
            events, track_ids, days, today
        )
        figures = reference.per_track(events, track_ids, days, today)
        assert [t["track_id"] for t in data["top_tracks"]] == sorted(
            track_ids, key=lambda t: (-figures[t][0], t)
        )[:10]


def test_album_and_artist_listeners_are_distinct_across_tracks_not_summed(deployment: Deployment) -> None:
    album = deployment.data("/albums/10", period="1-year")
    assert album["listeners"]["unique"] < sum(t["listeners"] for t in album["tracks"])


@pytest.mark.parametrize("timeframe", reference.TIMEFRAMES)
def test_charts_are_gap_filled_buckets_matching_the_definitions(
    deployment: Deployment, timeframe: str
) -> None:
    targets = [(f"/tracks/{t}", [t]) for t in (101, 202, 301)]
    targets += [("/albums/10", tracks_of_album(10)), ("/artists/2", tracks_of_artist(2))]
    for path, track_ids in targets:
        before = datetime.now(UTC)
        data = deployment.data(f"{path}/charts", timeframe=timeframe)
        after = datetime.now(UTC)
        candidates = [
            reference.chart(deployment.events, track_ids, timeframe, moment) for moment in (before, after)
        ]
        assert without(data, "track_id", "album_id", "artist_id") in candidates, path


def test_realtime_counts_the_last_minutes(deployment: Deployment) -> None:
    for track_id in (101, 301):
        data = deployment.data(f"/tracks/{track_id}/realtime")
        as_of = datetime.fromisoformat(data["as_of"].replace("Z", "+00:00"))
        assert abs((datetime.now(UTC) - as_of).total_seconds()) < 5
        assert without(data, "track_id", "as_of") == reference.realtime(deployment.events, track_id, as_of)
    assert deployment.data("/tracks/101/realtime")["active_listeners"] > 0


def test_collaborations(deployment: Deployment) -> None:
    for artist_id in (1, 2, 3, 4):
        data = deployment.data(f"/artists/{artist_id}/collaborations")
        assert data == reference.collaborations(deployment.events, TRACKS, NAMES, artist_id)
    assert deployment.data("/artists/2/collaborations")["total_collaborations"] == 2


ENDPOINTS = [
    "/tracks/{t}",
    "/tracks/{t}/charts",
    "/tracks/{t}/realtime",
    "/albums/{a}",
    "/albums/{a}/charts",
    "/artists/{r}",
    "/artists/{r}/charts",
    "/artists/{r}/collaborations",
]


def path(template: str, track: int, album: int, artist: int) -> str:
    return template.format(t=track, a=album, r=artist)


def test_access_matrix(deployment: Deployment) -> None:
    ana, ben = token("insights:read", artists=(1,)), token("insights:read", artists=(2,))
    for template in ENDPOINTS:
        assert deployment.get(path(template, 101, 10, 1), ana).status_code == 200
        assert deployment.get(path(template, 201, 11, 2), ana).json()["error"] == "forbidden"
        assert deployment.get(path(template, 201, 11, 2), ben).status_code == 200
        missing = deployment.get(path(template, 999, 99, 99), ana)
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
        assert deployment.get(path(template, 101, 10, 1), "").json()["error"] == "unauthorized"
        writer = deployment.get(path(template, 101, 10, 1), token("events:write"))
        assert writer.json()["error"] == "forbidden"
        assert deployment.get(path(template, 0, 0, 0), ana).status_code == 422
    assert deployment.get("/tracks/102", ben).status_code == 200  # a collaborator reads the shared track
    assert deployment.get("/tracks/202", ana).status_code == 200
    assert deployment.get("/tracks/301", ana).status_code == 403


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("/tracks/101", {"period": "1-week"}),
        ("/albums/10", {"period": ""}),
        ("/artists/1/charts", {"timeframe": "7-days"}),
    ],
)
def test_bad_period_or_timeframe_is_422(
    deployment: Deployment, template: str, params: dict[str, str]
) -> None:
    response = deployment.get(template, None, **params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in ("period", "timeframe")


def test_catalog_keeps_the_newest_write_and_reports_bad_items(deployment: Deployment) -> None:
    assert deployment.data("/tracks/103")["title"] == "Noon"
    result = post(
        deployment.up,
        "/api/v1/catalog",
        {
            "artists": [{"artist_id": 4, "name": "Dee Q."}, {"artist_id": 0, "name": "zero"}],
            "tracks": [{"track_id": 5}],
        },
        "catalog:write",
    )
    assert (result["accepted"], result["rejected"]) == (1, 2)
    assert [(e["field"], e["index"]) for e in result["errors"]] == [
        ("artists[1].artist_id", 1),
        ("tracks[0].title", 0),
    ]
    eventually(lambda: deployment.data("/artists/4")["name"] == "Dee Q.", timeout=30)
    with deployment.up.client(token("events:write")) as client:
        assert client.post("/api/v1/catalog", json={"artists": ARTISTS}).status_code == 403
    with deployment.up.client(token("catalog:write")) as client:
        assert client.post("/api/v1/catalog", json={"tracks": [{"track_id": "x"}]}).status_code == 422
        assert client.post("/api/v1/catalog", json={}).status_code == 422
