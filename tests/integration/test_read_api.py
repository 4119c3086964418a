"""Every read endpoint of §6.3 against `insights up`, for every period and timeframe, compared with
the reference model computed from the events the test posted; plus the access matrix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration import reference
from tests.integration.harness import eventually, token
from tests.integration.read_deployment import (
    ALBUMS,
    ARTISTS,
    NAMES,
    PLAYED,
    TRACKS,
    Deployment,
    post,
    running_deployment,
    tracks_of_album,
    tracks_of_artist,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_deployment(tmp_path_factory.mktemp("read") / "data") as deployment:
        yield deployment


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
