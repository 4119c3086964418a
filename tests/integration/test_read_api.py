"""Every read endpoint against `insights up`, for every period and timeframe, compared with
the reference model computed from the events the test posted; plus the access matrix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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


# What every analytics and chart answer carries besides the fixed periods' figures (checked apart, below).
RANGE_KEYS = ("tz", "from", "to", "estimates", "complete_through", "listening")


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys + RANGE_KEYS}


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
        assert without(data, "track_id", "album_id", "artist_id", "period") in candidates, path


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


def test_a_fixed_period_says_its_utc_days_and_that_it_is_exact(deployment: Deployment) -> None:
    today = datetime.now(UTC).date()
    data = deployment.data("/tracks/101", period="7-days")
    assert (data["period"], data["tz"], data["to"], data["estimates"]) == ("7-days", "UTC", str(today), [])
    assert data["from"] == str(today - timedelta(days=6))
    chart = deployment.data("/albums/10/charts", timeframe="90d")
    assert (chart["period"], chart["timeframe"], chart["interval"], chart["tz"]) == (
        "90-days",
        "90d",
        "day",
        "UTC",
    )


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "UTC"])
def test_any_zone_and_range_match_the_local_days_of_the_events(deployment: Deployment, zone: str) -> None:
    today = datetime.now(ZoneInfo(zone)).date()
    first, last = today - timedelta(days=40), today - timedelta(days=3)
    params = {"tz": zone, "from": str(first), "to": str(last)}
    for path, track_ids in [("/tracks/101", [101]), ("/albums/10", tracks_of_album(10))]:
        data = deployment.data(path, **params)
        assert (data["period"], data["tz"], data["from"], data["to"]) == (
            "custom",
            zone,
            str(first),
            str(last),
        )
        figures = {k: data[k] for k in ("plays", "listeners", "engagement", "growth")}
        assert figures == reference.local_analytics(deployment.events, track_ids, zone, first, last)
        for interval in ("day", "week", "month"):
            chart = deployment.data(f"{path}/charts", interval=interval, **params)
            assert chart["series"] == reference.local_chart(
                deployment.events, track_ids, zone, first, last, interval
            )
    week = {"tz": zone, "from": str(last - timedelta(days=6)), "to": str(last)}
    chart = deployment.data("/artists/2/charts", **week)
    assert chart["interval"] == "hour" and chart["timeframe"] == "custom"
    assert chart["series"] == reference.local_chart(
        deployment.events, tracks_of_artist(2), zone, last - timedelta(days=6), last, "hour"
    )


def test_the_last_n_local_days_of_a_zone(deployment: Deployment) -> None:
    zone = "Asia/Kathmandu"
    today = datetime.now(ZoneInfo(zone)).date()
    data = deployment.data("/artists/1", period="30-days", tz=zone)
    assert (data["from"], data["to"]) == (str(today - timedelta(days=29)), str(today))
    figures = {k: data[k] for k in ("plays", "listeners", "engagement", "growth")}
    expected = reference.local_analytics(
        deployment.events, tracks_of_artist(1), zone, today - timedelta(days=29), today
    )
    assert figures == expected
    chart = deployment.data("/tracks/101/charts", timeframe="7d", tz=zone)
    assert chart["series"][0]["t"] == f"{today - timedelta(days=6)}T00:00:00+05:45"


@pytest.mark.parametrize(
    ("template", "params", "field"),
    [
        ("/tracks/101", {"timezone": "America/New_York"}, "timezone"),
        ("/tracks/101", {"tz": "Mars/Olympus"}, "tz"),
        ("/tracks/101", {"from": "2026-11-01"}, "to"),
        ("/tracks/101", {"from": "2026-11-01", "to": "2026-11-15", "period": "7-days"}, "period"),
        ("/tracks/101", {"from": "1999-12-31", "to": "2000-01-02"}, "from"),
        ("/tracks/101", {"from": "2024-01-01", "to": "2026-01-02"}, "from"),
        ("/tracks/101", {"from": "2026-11-05", "to": "2026-11-01"}, "from"),
        ("/tracks/101", {"from": "2026-1-5", "to": "2026-11-01"}, "from"),
        ("/tracks/101", {"from": "2026-11-05", "to": str(date.today() + timedelta(days=2))}, "to"),
        ("/tracks/101", {"interval": "day"}, "interval"),
        ("/tracks/101/charts", {"interval": "year"}, "interval"),
        ("/tracks/101/charts", {"interval": "hour", "timeframe": "90d"}, "interval"),
        ("/tracks/101/charts", {"period": "7-days"}, "period"),
        ("/tracks/101/realtime", {"tz": "UTC"}, "tz"),
        ("/artists/1/collaborations", {"period": "7-days"}, "period"),
    ],
)
def test_unknown_parameters_and_bad_ranges_are_422_naming_the_parameter(
    deployment: Deployment, template: str, params: dict[str, str], field: str
) -> None:
    response = deployment.get(template, None, **params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


# Where and how they listen, and finding one's catalog.

ENTITIES = [
    ("/tracks/101", [101]),
    ("/tracks/202", [202]),
    ("/albums/10", tracks_of_album(10)),
    ("/artists/2", tracks_of_artist(2)),
]


@pytest.mark.parametrize("period", reference.PERIODS)
def test_listening_counts_plays_of_30_seconds_and_the_time_listened(
    deployment: Deployment, period: str
) -> None:
    today = datetime.now(UTC).date()
    first = today - timedelta(days=reference.PERIODS[period] - 1)
    for path, track_ids in ENTITIES:
        data = deployment.data(path, period=period)
        assert data["listening"] == reference.listening(deployment.events, track_ids, "UTC", first, today)
    zone = "Asia/Kathmandu"
    local = datetime.now(ZoneInfo(zone)).date()
    data = deployment.data("/albums/10", period=period, tz=zone)
    start = local - timedelta(days=reference.PERIODS[period] - 1)
    assert data["listening"] == reference.listening(
        deployment.events, tracks_of_album(10), zone, start, local
    )


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns"])
@pytest.mark.parametrize("dimension", ["country", "source", "platform"])
def test_breakdowns_match_the_plays_of_the_range_by_value(
    deployment: Deployment, zone: str, dimension: str
) -> None:
    today = datetime.now(ZoneInfo(zone)).date()
    ranges = [(today - timedelta(days=40), today - timedelta(days=2)), (today - timedelta(days=6), today)]
    for first, last in ranges:
        for path, track_ids in ENTITIES:
            for limit in ("1", "3", "10"):
                data = deployment.data(
                    f"{path}/breakdown",
                    dimension=dimension,
                    tz=zone,
                    limit=limit,
                    **{"from": str(first), "to": str(last)},
                )
                expected = reference.breakdown(
                    deployment.events, track_ids, dimension, zone, first, last, int(limit)
                )
                assert {k: data[k] for k in ("rows", "other", "unknown")} == expected, (path, limit)
                assert (
                    data["dimension"],
                    data["period"],
                    data["tz"],
                    data["from"],
                    data["to"],
                    data["estimates"],
                ) == (
                    dimension,
                    "custom",
                    zone,
                    str(first),
                    str(last),
                    [],
                )
    data = deployment.data("/artists/1/breakdown", dimension=dimension, period="1-year", tz=zone)
    first = today - timedelta(days=364)
    assert data["period"] == "1-year" and data["from"] == str(first)
    expected = reference.breakdown(deployment.events, tracks_of_artist(1), dimension, zone, first, today)
    assert {k: data[k] for k in ("rows", "other", "unknown")} == expected
    default = deployment.data("/tracks/101/breakdown", dimension=dimension)
    assert default["period"] == "30-days" and len(default["rows"]) <= 10


def test_a_breakdowns_rows_rank_by_plays_then_value_and_shares_add_up(deployment: Deployment) -> None:
    data = deployment.data("/artists/1/breakdown", dimension="country", period="1-year", limit="50")
    keys = [(-r["plays"], r["value"]) for r in data["rows"]]
    assert keys == sorted(keys) and all(r["value"] == r["value"].upper() for r in data["rows"])
    plays = sum(r["plays"] for r in data["rows"]) + data["other"]["plays"] + data["unknown"]["plays"]
    assert plays == deployment.data("/artists/1", period="1-year")["plays"]["period"]
    assert data["other"] == {"plays": 0, "listeners": 0} and data["unknown"]["plays"] > 0


BREAKDOWNS = ["/tracks/{t}/breakdown", "/albums/{a}/breakdown", "/artists/{r}/breakdown"]


def test_breakdowns_have_the_access_rules_of_the_analytics(deployment: Deployment) -> None:
    ana, ben = token("insights:read", artists=(1,)), token("insights:read", artists=(2,))
    for template in BREAKDOWNS:
        mine, theirs, missing = (
            path(template, 101, 10, 1),
            path(template, 201, 11, 2),
            path(template, 999, 99, 99),
        )
        assert deployment.get(mine, ana, dimension="source").status_code == 200
        assert deployment.get(theirs, ana, dimension="source").json()["error"] == "forbidden"
        assert deployment.get(theirs, ben, dimension="source").status_code == 200
        answer = deployment.get(missing, ana, dimension="source")
        assert (answer.status_code, answer.json()["error"]) == (404, "not_found")
        assert deployment.get(mine, "", dimension="source").json()["error"] == "unauthorized"
        assert deployment.get(mine, token("events:write"), dimension="source").json()["error"] == "forbidden"
        for params, field in [
            ({}, "dimension"),
            ({"dimension": "city"}, "dimension"),
            ({"dimension": "country", "limit": "0"}, "limit"),
            ({"dimension": "country", "limit": "51"}, "limit"),
            ({"dimension": "country", "limit": "ten"}, "limit"),
            ({"dimension": "country", "tz": "Mars/Olympus"}, "tz"),
            ({"dimension": "country", "from": "2026-01-01"}, "to"),
            ({"dimension": "country", "timeframe": "7d"}, "timeframe"),
        ]:
            answer = deployment.get(mine, ana, **params)
            assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field, (
                params,
                answer.text,
            )


def walk(deployment: Deployment, kind: str, bearer: str, **params: str) -> list[dict[str, Any]]:
    """Every item of a listing, following next_cursor page by page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        asked = params | ({"cursor": cursor} if cursor else {})
        response = deployment.get(f"/{kind}", bearer, **asked)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        items += data["items"]
        cursor = data["next_cursor"]
        if cursor is None:
            return items


def test_listings_walk_every_readable_item_once_in_id_order(deployment: Deployment) -> None:
    admin, ana = token("admin"), token("insights:read", artists=(1, 3))
    tracks = [
        {
            "track_id": t["track_id"],
            "title": t["title"],
            "album_id": t["album_id"],
            "artist_ids": t["artist_ids"],
        }
        for t in TRACKS
    ]
    assert walk(deployment, "tracks", admin, limit="2") == tracks
    assert walk(deployment, "tracks", ana, limit="1") == [t for t in tracks if {1, 3} & set(t["artist_ids"])]
    assert walk(deployment, "albums", ana) == [a for a in ALBUMS if a["artist_id"] in (1, 3)]
    assert walk(deployment, "albums", admin, limit="1") == ALBUMS
    names = {a["artist_id"]: a["name"] for a in ARTISTS}
    assert walk(deployment, "artists", ana) == [{"artist_id": a, "name": names[a]} for a in (1, 3)]
    assert [a["artist_id"] for a in walk(deployment, "artists", admin, limit="3")] == [1, 2, 3, 4]
    assert walk(deployment, "tracks", token("insights:read", artists=(77,))) == []


def test_listings_find_titles_and_names_by_any_case_substring(deployment: Deployment) -> None:
    ana = token("insights:read", artists=(1,))
    found = walk(deployment, "tracks", ana, q="N")  # Dawn, Tide (with Ben), Noon, Lanterns; not Pier
    assert [t["track_id"] for t in found] == [101, 102, 103, 202]
    assert [t["track_id"] for t in walk(deployment, "tracks", token("admin"), q="PIER")] == [201]
    assert walk(deployment, "albums", ana, q="light") == [ALBUMS[0]]
    assert walk(deployment, "artists", token("admin"), q="cross") == [{"artist_id": 2, "name": "Ben Cross"}]
    assert walk(deployment, "tracks", ana, q="zzz") == []


def test_listings_narrow_to_an_artist_or_album_within_what_the_token_reads(deployment: Deployment) -> None:
    admin, ben = token("admin"), token("insights:read", artists=(2,))

    def ids(kind: str, bearer: str, **params: str) -> list[int]:
        return [item[f"{kind[:-1]}_id"] for item in walk(deployment, kind, bearer, limit="1", **params)]

    # Computed from the catalog, independently of the code: tracks listing the artist, an album's tracks.
    for artist_id in (1, 2, 3, 4, 99):
        listed = [t["track_id"] for t in TRACKS if artist_id in t["artist_ids"]]
        assert ids("tracks", admin, artist_id=str(artist_id)) == listed
        albums = [a["album_id"] for a in ALBUMS if a["artist_id"] == artist_id]
        assert ids("albums", admin, artist_id=str(artist_id)) == albums
    assert ids("tracks", admin, album_id="10") == [101, 102, 103]
    # Ben reads the tracks that list him: of Ana's (artist 1), only those he is on.
    assert ids("tracks", ben, artist_id="1") == [102, 202]
    assert ids("tracks", ben, album_id="10") == [102]
    assert ids("albums", ben, artist_id="1") == []
    assert ids("tracks", ben, artist_id="1", q="TIDE") == [102]
    assert ids("tracks", admin, artist_id="2", album_id="10") == [102]  # both: the album's, with Ben
    for params, field in [({"artist_id": "0"}, "artist_id"), ({"album_id": "x"}, "album_id")]:
        answer = deployment.get("/tracks", admin, **params)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field, params
    refused = deployment.get("/artists", admin, artist_id="1")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "artist_id"
    assert deployment.get("/albums", admin, album_id="10").json()["errors"][0]["field"] == "album_id"


def test_listing_parameters_are_checked(deployment: Deployment) -> None:
    admin = token("admin")
    for params, field in [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 257}, "q"),
        ({"period": "7-days"}, "period"),
    ]:
        answer = deployment.get("/tracks", admin, **params)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == field, params
    album_cursor = deployment.get("/albums", admin, limit="1").json()["data"]["next_cursor"]
    assert deployment.get("/tracks", admin, cursor=album_cursor).json()["errors"][0]["field"] == "cursor"
    assert deployment.get("/tracks", "").json()["error"] == "unauthorized"
    assert deployment.get("/tracks", token("events:write")).json()["error"] == "forbidden"


def test_a_walk_under_inserts_lists_each_item_once(deployment: Deployment) -> None:
    """Items written during a walk: every item there from the start comes once, in order; one written
    past the cursor shows up; an admin also sees tracks counted without a catalog entry."""
    admin = token("admin")
    before = walk(deployment, "tracks", admin)
    seen: list[int] = []
    cursor = None
    added = False
    while True:
        data = deployment.get("/tracks", admin, limit="2", **({"cursor": cursor} if cursor else {})).json()[
            "data"
        ]
        seen += [t["track_id"] for t in data["items"]]
        if not added:
            late = [{"track_id": 150, "title": "Late", "album_id": None, "artist_ids": [1]}]
            post(
                deployment.up,
                "/api/v1/catalog",
                {"tracks": [*late, {**TRACKS[0], "title": "Dawn II"}]},
                "catalog:write",
            )
            post(deployment.up, "/api/v1/events", {"events": [uncatalogued_play(9_000_001)]}, "events:write")
            eventually(lambda: deployment.get("/tracks/150", admin).status_code == 200, timeout=30)
            eventually(lambda: deployment.get("/tracks/9000001", admin).status_code == 200, timeout=30)
            # Listings see an uncatalogued track within a second of its count (they keep the list that long).
            listed = lambda: 9_000_001 in [t["track_id"] for t in walk(deployment, "tracks", admin)]  # noqa: E731
            eventually(listed, timeout=30)
            added = True
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(set(seen))  # ascending, none twice
    assert {t["track_id"] for t in before} <= set(seen) and {150, 9_000_001} <= set(seen)
    tail = walk(deployment, "tracks", admin)[-1]
    assert tail == {"track_id": 9_000_001, "title": "", "album_id": None, "artist_ids": []}
    post(deployment.up, "/api/v1/catalog", {"tracks": [TRACKS[0]]}, "catalog:write")


def uncatalogued_play(track_id: int) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(days=400)  # outside every figure the other tests compare
    return {
        "event_id": f"listing-{track_id}",
        "type": "play",
        "track_id": track_id,
        "listener_id": "walker",
        "occurred_at": (moment + timedelta(days=1)).isoformat(),
    }


def test_unknown_event_fields_are_accepted_with_warnings(deployment: Deployment) -> None:
    result = post(
        deployment.up,
        "/api/v1/events",
        {"events": [uncatalogued_play(9_000_002) | {"contry": "DE"}]},
        "events:write",
    )
    assert result["accepted"] == 1
    assert result["warnings"] == [
        {"index": 0, "field": "contry", "message": "Unknown field 'contry' is ignored."}
    ]
