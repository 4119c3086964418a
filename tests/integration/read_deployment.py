"""The catalog and event history the read tests run against, and `insights up` loaded with them: shared by
test_read_api.py and test_exports.py, each of which starts its own deployment."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from schemas.events import PLATFORMS, SOURCES
from tests.integration import reference
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token

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


COUNTRIES = ("DE", "de", "US", "np", "IN", "BR", "JP", "GB", "KE", "FR", "MX", "CA")


def audience(rng: random.Random) -> dict[str, Any]:
    """Where and how: each optional field present on some events only (countries in either case)."""
    fields: dict[str, Any] = {}
    if rng.random() < 0.8:
        fields["listened_ms"] = rng.choice((0, 5_000, 29_999, 30_000, 61_234, 200_000))
    if rng.random() < 0.85:
        fields["country"] = rng.choice(COUNTRIES[: rng.randrange(1, len(COUNTRIES) + 1)])
    if rng.random() < 0.7:
        fields["source"] = rng.choice(SOURCES)
    if rng.random() < 0.75:
        fields["platform"] = rng.choice(PLATFORMS[:5])
    return fields


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
            | audience(rng)
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


@contextmanager
def running_deployment(data_dir: Path, extra_catalog: dict[str, Any] | None = None) -> Iterator[Deployment]:
    """`insights up` with the catalog (then `extra_catalog`, if any) and the events, all visible."""
    up = UpProcess(data_dir)
    up.start()
    try:
        stale = {"track_id": 103, "title": "Old title", "album_id": 10, "artist_ids": [1]}
        post(up, "/api/v1/catalog", {"tracks": [stale]}, "catalog:write")
        post(up, "/api/v1/catalog", {"artists": ARTISTS, "albums": ALBUMS, "tracks": TRACKS}, "catalog:write")
        if extra_catalog:
            post(up, "/api/v1/catalog", extra_catalog, "catalog:write")
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
        for track in (extra_catalog or {}).get("tracks", []):
            path = f"/tracks/{track['track_id']}"
            eventually(
                lambda path=path, track=track: deployment.data(path)["title"] == track["title"], timeout=30
            )
        yield deployment
    finally:
        assert up.stop() == 0, up.log_tail()
