"""The demo/load generator: catalog and events that honour the contracts, and the HTTP sender's manners."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest

from insights.dev.generate import (
    Catalog,
    GenerateError,
    ProgressBar,
    add_generate_arguments,
    make_catalog,
    make_events,
    post_catalog,
    post_events,
    run_generate,
)
from schemas.countries import COUNTRIES
from schemas.events import PLATFORMS, SOURCES, validate_batch

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EVENT_COUNT = 20_000


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return make_catalog(2000, random.Random(7))


@pytest.fixture(scope="module")
def events(catalog: Catalog) -> list[dict[str, Any]]:
    return list(make_events(catalog, EVENT_COUNT, random.Random(7), NOW))


def occurred(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


# The catalog


def test_catalog_has_the_requested_tracks_and_about_one_artist_per_twelve(catalog: Catalog) -> None:
    assert len(catalog.tracks) == 2000
    assert 150 <= len(catalog.artists) <= 185
    assert len(make_catalog(5, random.Random(1)).artists) == 3


def test_catalog_items_have_exactly_the_contract_shapes(catalog: Catalog) -> None:
    assert all(set(a) == {"artist_id", "name"} and a["name"] for a in catalog.artists)
    assert all(set(a) == {"album_id", "title", "artist_id"} and a["title"] for a in catalog.albums)
    assert all(
        set(t) == {"track_id", "title", "album_id", "artist_ids"} and t["title"] for t in catalog.tracks
    )
    json.dumps([catalog.artists, catalog.albums, catalog.tracks])  # plain JSON values only


def test_catalog_ids_are_unique_and_in_their_ranges(catalog: Catalog) -> None:
    artist_ids = [a["artist_id"] for a in catalog.artists]
    album_ids = [a["album_id"] for a in catalog.albums]
    track_ids = [t["track_id"] for t in catalog.tracks]
    assert artist_ids == list(range(1, len(artist_ids) + 1))
    assert album_ids == list(range(1001, 1001 + len(album_ids)))
    assert track_ids == list(range(100001, 100001 + len(track_ids)))


def test_every_reference_in_the_catalog_exists(catalog: Catalog) -> None:
    artists = {a["artist_id"] for a in catalog.artists}
    albums = {a["album_id"]: a["artist_id"] for a in catalog.albums}
    assert {a["artist_id"] for a in catalog.albums} <= artists
    for track in catalog.tracks:
        assert set(track["artist_ids"]) <= artists
        assert len(set(track["artist_ids"])) == len(track["artist_ids"])
        if track["album_id"] is not None:
            assert albums[track["album_id"]] == track["artist_ids"][0]  # the album's artist leads


def test_artists_have_one_to_four_albums_of_five_to_fourteen_tracks(catalog: Catalog) -> None:
    albums_per_artist = Counter(a["artist_id"] for a in catalog.albums)
    tracks_per_album = Counter(t["album_id"] for t in catalog.tracks if t["album_id"] is not None)
    assert len(albums_per_artist) == len(catalog.artists)
    assert set(albums_per_artist.values()) <= {1, 2, 3, 4}
    assert set(tracks_per_album) == {a["album_id"] for a in catalog.albums}
    assert all(5 <= n <= 14 for n in tracks_per_album.values())


def test_catalog_has_singles_and_about_fifteen_percent_collaborations(catalog: Catalog) -> None:
    singles = sum(t["album_id"] is None for t in catalog.tracks)
    collaborations = [t for t in catalog.tracks if len(t["artist_ids"]) > 1]
    assert 100 <= singles <= 400
    assert 0.10 <= len(collaborations) / 2000 <= 0.20
    assert {len(t["artist_ids"]) for t in collaborations} == {2, 3}


def test_the_same_seed_gives_the_same_catalog_and_events() -> None:
    def run(seed: int) -> tuple[Catalog, list[dict[str, Any]]]:
        rng = random.Random(seed)
        catalog = make_catalog(300, rng)
        return catalog, list(make_events(catalog, 500, rng, NOW))

    assert run(3) == run(3)
    assert run(3) != run(4)


# The events


def test_every_event_passes_the_ingest_validation(events: list[dict[str, Any]]) -> None:
    accepted, errors = validate_batch(events, NOW)
    assert errors == []
    assert len(accepted) == len(events) == EVENT_COUNT


def test_event_ids_are_unique_and_new_in_every_run(catalog: Catalog, events: list[dict[str, Any]]) -> None:
    assert len({e["event_id"] for e in events}) == EVENT_COUNT
    assert all(1 <= len(e["event_id"]) <= 64 for e in events)
    later = make_events(catalog, EVENT_COUNT, random.Random(7), NOW + timedelta(seconds=1))
    assert not {e["event_id"] for e in later} & {e["event_id"] for e in events}  # a rerun is not deduped


def test_events_stay_inside_the_history_and_never_in_the_future(
    catalog: Catalog, events: list[dict[str, Any]]
) -> None:
    assert all(NOW - timedelta(days=399) < occurred(e) <= NOW for e in events)
    assert all(e["occurred_at"].endswith("Z") for e in events)
    short = list(make_events(catalog, 2000, random.Random(1), NOW, days=30))
    assert all(NOW - timedelta(days=30) < occurred(e) <= NOW for e in short)
    assert min(occurred(e) for e in events) < NOW - timedelta(days=300)  # the history is deep


def test_event_mix_is_mostly_plays_with_likes_reposts_and_heartbeats(events: list[dict[str, Any]]) -> None:
    types = Counter(e["type"] for e in events)
    assert 0.06 <= types["like"] / EVENT_COUNT <= 0.10
    assert 0.02 <= types["repost"] / EVENT_COUNT <= 0.04
    assert 0.05 <= types["heartbeat"] / EVENT_COUNT <= 0.15
    assert types["play"] / EVENT_COUNT >= 0.7
    assert all(("listened_ms" in e) == (e["type"] == "play") for e in events)


def test_events_say_where_and_how_with_values_the_api_accepts(events: list[dict[str, Any]]) -> None:
    plays = [e for e in events if e["type"] == "play"]
    assert {e["country"] for e in events if "country" in e} <= COUNTRIES
    assert {e["source"] for e in plays if "source" in e} == set(SOURCES), "every source shows up"
    assert {e["platform"] for e in events if "platform" in e} == set(PLATFORMS)
    assert not any("source" in e for e in events if e["type"] != "play"), "a source is where a play began"
    for field, (low, high) in {
        "country": (0.03, 0.10),
        "platform": (0.02, 0.07),
        "source": (0.05, 0.11),
    }.items():
        missing = sum(field not in e for e in plays) / len(plays)
        assert low <= missing <= high, (field, missing)  # some players leave it out: `unknown`


def test_a_few_large_markets_and_a_long_tail_of_countries(events: list[dict[str, Any]]) -> None:
    plays = Counter(e["country"] for e in events if e["type"] == "play" and "country" in e)
    ranked = [country for country, _ in plays.most_common()]
    assert ranked[0] == "US" and set(ranked[:6]) >= {"GB", "DE", "BR"}
    assert len(plays) >= 40 and plays.most_common(1)[0][1] / plays.total() < 0.35
    sources = Counter(e["source"] for e in events if "source" in e)
    assert sources.most_common(1)[0][0] == "playlist" and sources["playlist"] > 10 * sources["other"]
    devices = Counter(e["platform"] for e in events if "platform" in e)
    assert devices["ios"] + devices["android"] > 0.6 * devices.total()


def test_a_listener_mostly_listens_from_home_on_one_device(events: list[dict[str, Any]]) -> None:
    by_listener: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_listener.setdefault(event["listener_id"], []).append(event)
    regulars = [own for own in by_listener.values() if len(own) >= 20]
    assert len(regulars) >= 50
    for field, share in (("country", 0.9), ("platform", 0.75)):
        steady = 0
        for own in regulars:
            values = Counter(e[field] for e in own if field in e)
            if not values or values.most_common(1)[0][1] >= share * values.total():
                steady += 1
        assert steady >= 0.9 * len(regulars), field


def test_each_heartbeat_follows_a_play_of_the_same_listener_and_track(events: list[dict[str, Any]]) -> None:
    for previous, event in pairwise(events):
        if event["type"] == "heartbeat":
            assert previous["type"] == "play"
            assert (previous["listener_id"], previous["track_id"]) == (
                event["listener_id"],
                event["track_id"],
            )
            assert occurred(previous) <= occurred(event)


def test_a_few_hits_take_a_large_share_of_plays_over_a_long_tail(
    catalog: Catalog, events: list[dict[str, Any]]
) -> None:
    plays = Counter(e["track_id"] for e in events if e["type"] == "play")
    top = sum(n for _, n in plays.most_common(len(catalog.tracks) // 100))
    assert top / sum(plays.values()) >= 0.25
    assert len(plays) >= len(catalog.tracks) // 2  # and the tail still gets played


def test_listeners_come_back_and_some_listen_a_lot(events: list[dict[str, Any]]) -> None:
    per_listener = Counter(e["listener_id"] for e in events)
    assert len(per_listener) < EVENT_COUNT / 4
    assert per_listener.most_common(1)[0][1] >= 50
    assert any(listener.startswith("anon-") for listener in per_listener)


def test_evenings_are_busier_than_early_mornings(events: list[dict[str, Any]]) -> None:
    old = [occurred(e) for e in events if occurred(e) < NOW - timedelta(days=1)]
    evening = sum(18 <= t.hour < 22 for t in old)
    early = sum(3 <= t.hour < 7 for t in old)
    assert evening > 3 * early


def test_recent_months_are_busier_than_a_year_ago(events: list[dict[str, Any]]) -> None:
    ages = [(NOW - occurred(e)).days for e in events]
    assert sum(a < 30 for a in ages) > 2 * sum(330 <= a < 360 for a in ages)


def test_the_last_slice_lands_in_the_last_ten_minutes(events: list[dict[str, Any]]) -> None:
    last_slice = events[-EVENT_COUNT // 50 :]
    assert all(NOW - occurred(e) <= timedelta(minutes=10) for e in last_slice)
    assert {"play", "heartbeat"} <= {e["type"] for e in last_slice}


# Sending


def accepting(seen: list[httpx.Request], status: Callable[[int], int] = lambda n: 202) -> httpx.MockTransport:
    """A fake API that records requests and accepts every item, or answers `status(n)` to request n."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        code = status(len(seen))
        if code != 202:
            body = {"success": False, "message": f"Answer {code}.", "error": "x"}
            return httpx.Response(code, json=body, headers={"Retry-After": "0"})
        payload = json.loads(request.content)
        count = sum(len(v) for v in payload.values())
        return httpx.Response(202, json={"success": True, "data": {"accepted": count, "rejected": 0}})

    return httpx.MockTransport(handle)


def send(transport: httpx.MockTransport, events: list[dict[str, Any]], **options: Any) -> tuple[int, int]:
    """post_events over `transport`; returns (accepted, total reported to the progress callback)."""
    progressed: list[int] = []

    async def go() -> int:
        async with httpx.AsyncClient(base_url="http://api", transport=transport) as client:
            return await post_events(client, events, progress=progressed.append, **options)

    return asyncio.run(go()), sum(progressed)


def sample_events(count: int) -> list[dict[str, Any]]:
    return list(make_events(make_catalog(50, random.Random(1)), count, random.Random(1), NOW))


def test_post_events_sends_batches_and_counts_what_was_accepted() -> None:
    seen: list[httpx.Request] = []
    assert send(accepting(seen), sample_events(1200), batch=500) == (1200, 1200)
    sizes = sorted(len(json.loads(r.content)["events"]) for r in seen)
    assert sizes == [200, 500, 500]
    assert all(r.url.path == "/api/v1/events" and r.method == "POST" for r in seen)
    sent_ids = [e["event_id"] for r in seen for e in json.loads(r.content)["events"]]
    assert len(set(sent_ids)) == 1200


class SlowAPI(httpx.AsyncBaseTransport):
    """Accepts everything, but answers after a pause, so that concurrent senders interleave."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        count = len(json.loads(request.content)["events"])
        return httpx.Response(202, json={"success": True, "data": {"accepted": count, "rejected": 0}})


def test_concurrent_senders_count_every_accepted_event() -> None:
    progressed: list[int] = []

    async def go() -> int:
        async with httpx.AsyncClient(base_url="http://api", transport=SlowAPI()) as client:
            return await post_events(
                client, sample_events(4000), batch=250, concurrency=4, progress=progressed.append
            )

    assert asyncio.run(go()) == 4000 == sum(progressed)


def test_post_events_retries_a_503_after_the_retry_after_delay() -> None:
    times: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        if len(times) == 1:
            body = {"success": False, "message": "Kafka is down.", "error": "unavailable"}
            return httpx.Response(503, json=body, headers={"Retry-After": "1"})
        return httpx.Response(202, json={"success": True, "data": {"accepted": 10, "rejected": 0}})

    assert send(httpx.MockTransport(handle), sample_events(10)) == (10, 10)
    assert len(times) == 2
    assert times[1] - times[0] >= 0.95


def test_post_events_gives_up_after_a_bounded_number_of_503s() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(GenerateError, match="503: Answer 503"):
        send(accepting(seen, lambda n: 503), sample_events(10))
    assert 2 <= len(seen) <= 20


def test_post_events_stops_on_403_with_the_servers_message() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = {
            "success": False,
            "message": "This token lacks the scope 'events:write'.",
            "error": "forbidden",
        }
        return httpx.Response(403, json=body)

    with pytest.raises(GenerateError, match="403: This token lacks the scope 'events:write'"):
        send(httpx.MockTransport(handle), sample_events(1200))


def test_post_events_keeps_under_the_rate_cap() -> None:
    started = time.monotonic()
    assert send(accepting([]), sample_events(300), rate=200) == (300, 300)
    assert time.monotonic() - started >= 0.95  # 200 at once, the other 100 one second later


def test_post_catalog_sends_artists_then_albums_then_tracks_in_bounded_requests() -> None:
    catalog = make_catalog(3000, random.Random(2))
    seen: list[httpx.Request] = []

    async def go() -> None:
        async with httpx.AsyncClient(base_url="http://api", transport=accepting(seen)) as client:
            await post_catalog(client, catalog)

    asyncio.run(go())
    bodies = [json.loads(r.content) for r in seen]
    assert all(r.url.path == "/api/v1/catalog" and len(r.content) < 1024 * 1024 for r in seen)
    assert all(len(body) == 1 and len(next(iter(body.values()))) < 1000 for body in bodies)
    kinds = [next(iter(body)) for body in bodies]
    assert kinds == sorted(kinds, key=["artists", "albums", "tracks"].index)
    assert [item for b in bodies for item in b.get("tracks", [])] == catalog.tracks
    assert [item for b in bodies for item in b.get("artists", [])] == catalog.artists


def test_run_generate_posts_catalog_then_events_and_reports_progress() -> None:
    seen: list[httpx.Request] = []
    out = io.StringIO()
    code = run_generate("http://api", "t0ken", 1000, 60, None, 1, 400, out, transport=accepting(seen))
    assert code == 0
    paths = [r.url.path for r in seen]
    assert paths.index("/api/v1/events") > max(i for i, p in enumerate(paths) if p == "/api/v1/catalog")
    assert all(r.headers["authorization"] == "Bearer t0ken" for r in seen)
    lines = out.getvalue().splitlines()
    assert any("1,000/1,000 events" in line for line in lines)
    assert "1,000 of 1,000 events accepted" in lines[-1]


def test_run_generate_reports_a_refusal_and_fails() -> None:
    out = io.StringIO()
    transport = accepting([], lambda n: 401)
    assert run_generate("http://api", "bad", 10, 10, None, 1, 400, out, transport=transport) == 1
    assert "401: Answer 401." in out.getvalue()
    assert "catalog:write" in out.getvalue()


def test_progress_bar_prints_a_line_per_tenth_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar(1000, out)
    for _ in range(40):
        bar.advance(25)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1].startswith("[" + "#" * 30 + "] 1,000/1,000 events")


def test_arguments_have_the_documented_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_generate_arguments(parser)
    args = parser.parse_args(["--events", "10"])
    assert (args.events, args.rate, args.tracks, args.url, args.token, args.seed, args.days) == (
        10,
        None,
        2000,
        "http://127.0.0.1:8000",
        None,
        1,
        400,
    )
    for bad in (["--events", "0"], ["--events", "5", "--rate", "-1"], []):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
