"""The export endpoints against `insights up`: CSV and JSON rows equal to the reference model and to the
single-entity endpoints (listening and breakdowns included, in both layouts), only readable entities,
formula injection neutralised, the JSON report, and a PDF that parses, names the artist, its tracks,
totals and audience, and renders to pages that are not blank."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pypdfium2
import pytest
from pypdf import PdfReader

from schemas.audience import DIMENSIONS
from schemas.countries import COUNTRY_NAMES
from tests.integration import reference
from tests.integration.harness import INSIGHTS, token
from tests.integration.read_deployment import (
    ALBUMS,
    ARTISTS,
    TRACKS,
    Deployment,
    running_deployment,
    tracks_of_album,
)

pytestmark = pytest.mark.integration

FORMULA_TITLE = '=HYPERLINK("http://evil.example","click")'
EXTRA = {
    "artists": [{"artist_id": 5, "name": "@Evil Twin"}],
    "tracks": [{"track_id": 501, "title": FORMULA_TITLE, "album_id": None, "artist_ids": [5]}],
}
ALL_TRACKS = TRACKS + EXTRA["tracks"]
KNOWN_ARTISTS = {a["artist_id"]: a["name"] for a in ARTISTS + EXTRA["artists"]}
ANA, BEN = (1,), (2,)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with running_deployment(tmp_path_factory.mktemp("exports") / "data", EXTRA) as deployment:
        yield deployment


def export(
    deployment: Deployment, path: str, body: Any, artists: tuple[int, ...] | None = None
) -> httpx.Response:
    """POST /export/<path> with a read token for `artists`, or an admin token."""
    bearer = token("admin") if artists is None else token("insights:read", artists=artists)
    with deployment.up.client(bearer) as client:
        return client.post(f"{INSIGHTS}/export{path}", json=body)


def track_sets(artists: tuple[int, ...] | None) -> dict[str, dict[int, tuple[str, list[int]]]]:
    """What a token may read, from the test's own catalog: per type, id -> (title or name, its tracks)."""

    def readable(owners: list[int]) -> bool:
        return artists is None or bool(set(owners) & set(artists))

    return {
        "tracks": {
            t["track_id"]: (t["title"], [t["track_id"]]) for t in ALL_TRACKS if readable(t["artist_ids"])
        },
        "albums": {
            a["album_id"]: (a["title"], [t["track_id"] for t in ALL_TRACKS if t["album_id"] == a["album_id"]])
            for a in ALBUMS
            if readable([a["artist_id"]])
        },
        "artists": {
            a: (name, [t["track_id"] for t in ALL_TRACKS if a in t["artist_ids"]])
            for a, name in KNOWN_ARTISTS.items()
            if readable([a])
        },
    }


ALBUM_TITLES = {a["album_id"]: a["title"] for a in ALBUMS}
ALBUM_ARTISTS = {a["album_id"]: a["artist_id"] for a in ALBUMS}
TRACK_ENTRIES = {t["track_id"]: t for t in ALL_TRACKS}


def description(kind: str, entity_id: int) -> dict[str, Any]:
    """What tells an entity apart, from the test's own catalog."""
    if kind == "tracks":
        track = TRACK_ENTRIES[entity_id]
        album = track["album_id"]
        return {
            "album_id": album,
            "album": ALBUM_TITLES.get(album, ""),
            "artist_ids": track["artist_ids"],
            "artists": [KNOWN_ARTISTS[a] for a in track["artist_ids"]],
        }
    if kind == "albums":
        return {"artist_id": ALBUM_ARTISTS[entity_id], "artist": KNOWN_ARTISTS[ALBUM_ARTISTS[entity_id]]}
    return {}


def audience(
    events: list[dict[str, Any]], track_ids: list[int], zone: str, first: date, last: date, limit: int = 10
) -> dict[str, Any]:
    """`listening` and `breakdowns` of a set of tracks over local days, from the reference model."""
    return {
        "listening": reference.listening(events, track_ids, zone, first, last),
        "breakdowns": {
            d: reference.breakdown(events, track_ids, d, zone, first, last, limit) for d in DIMENSIONS
        },
    }


def expected_rows(
    events: list[dict[str, Any]],
    kind: str,
    artists: tuple[int, ...] | None,
    period: str,
    focus: set[int] | None = None,
    local: tuple[str, date, date] | None = None,
    limit: int = 10,
    breakdowns: bool = False,
) -> list[dict[str, Any]]:
    """The JSON rows: most played in the period first, then by id; `local`: (zone, first, last), local
    dates instead of the period's UTC days; `breakdowns`: with them (`include_breakdowns`)."""
    days, today = reference.PERIODS.get(period, 0), datetime.now(UTC).date()
    label = "name" if kind == "artists" else "title"
    covered = local if local is not None else ("UTC", today - timedelta(days=days - 1), today)
    dates = {"from": covered[1].isoformat(), "to": covered[2].isoformat(), "tz": covered[0]}
    rows = []
    for entity_id, (name, track_ids) in track_sets(artists)[kind].items():
        if focus is not None and entity_id not in focus:
            continue
        if local is None:
            f = reference.analytics(events, track_ids, days, today)
        else:
            f = reference.local_analytics(events, track_ids, *local)
        rows.append(
            {f"{kind[:-1]}_id": entity_id, label: name}
            | description(kind, entity_id)
            | {
                "plays": f["plays"]["period"],
                "plays_total": f["plays"]["total"],
                "listeners": f["listeners"]["unique"],
                "likes": f["engagement"]["likes"],
                "reposts": f["engagement"]["reposts"],
            }
            | dates
            | without(audience(events, track_ids, *covered, limit), *(() if breakdowns else ("breakdowns",)))
        )
    return sorted(rows, key=lambda row: (-row["plays"], row[f"{kind[:-1]}_id"]))


TEXT_COLUMNS = ("title", "name", "album", "artist", "artists", "artist_ids", "from", "to", "tz")


def csv_rows(response: httpx.Response) -> list[dict[str, Any]]:
    """Numbers as ints, an empty number (a track without an album) as None, text as it is."""
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
    return [{k: v if k in TEXT_COLUMNS else (int(v) if v else None) for k, v in row.items()} for row in rows]


def as_csv(row: dict[str, Any]) -> dict[str, Any]:
    """A JSON row as the CSV shows it: a list as one cell, joined by "; "; `listening` as its
    `listening_*` columns, the breakdowns left to the other layout."""
    cells = {k: "; ".join(str(i) for i in v) if isinstance(v, list) else v for k, v in row.items()}
    listening = cells.pop("listening")
    cells.pop("breakdowns", None)
    return cells | {f"listening_{k}": v for k, v in listening.items()}


def unquoted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV rows with the formula guard removed, to compare with the raw titles."""
    return [
        {k: v[1:] if isinstance(v, str) and v[:2] in ("'=", "'@") else v for k, v in row.items()}
        for row in rows
    ]


@pytest.mark.parametrize("period", reference.PERIODS)
def test_csv_and_json_rows_match_the_definitions(deployment: Deployment, period: str) -> None:
    for kind in ("tracks", "albums", "artists"):
        for artists in (None, ANA, BEN):
            expected = expected_rows(deployment.events, kind, artists, period, breakdowns=True)
            body = {"type": kind, "period": period, "include_breakdowns": True}
            as_json = export(deployment, "/json", body, artists)
            assert as_json.status_code == 200, as_json.text
            dates = {k: expected[0][k] for k in ("from", "to", "tz")}
            assert as_json.json() == {
                "success": True,
                "data": {"type": kind, "period": period} | dates | {"layout": "entities", "rows": expected},
            }
            in_csv = export(deployment, "/csv", {"type": kind, "period": period}, artists)
            assert in_csv.status_code == 200, in_csv.text
            assert unquoted(csv_rows(in_csv)) == [as_csv(row) for row in expected], (kind, artists)


def test_rows_equal_what_the_single_entity_endpoints_answer(deployment: Deployment) -> None:
    for kind in ("tracks", "albums", "artists"):
        rows = export(deployment, "/json", {"type": kind, "period": "90-days"}).json()["data"]["rows"]
        assert rows
        for row in rows:
            entity_id = row[f"{kind[:-1]}_id"]
            single = deployment.data(f"/{kind}/{entity_id}", period="90-days")
            assert (row["plays"], row["plays_total"], row["listeners"], row["likes"], row["reposts"]) == (
                single["plays"]["period"],
                single["plays"]["total"],
                single["listeners"]["unique"],
                single["engagement"]["likes"],
                single["engagement"]["reposts"],
            ), (kind, entity_id)


def test_album_and_artist_listeners_are_distinct_across_tracks(deployment: Deployment) -> None:
    tracks = {
        r["track_id"]: r
        for r in export(deployment, "/json", {"type": "tracks", "period": "1-year"}).json()["data"]["rows"]
    }
    albums = export(deployment, "/json", {"type": "albums", "period": "1-year"}).json()["data"]["rows"]
    album = next(a for a in albums if a["album_id"] == 10)
    assert album["listeners"] < sum(tracks[t]["listeners"] for t in (101, 102, 103))


def test_only_readable_entities_appear(deployment: Deployment) -> None:
    def ids(kind: str, artists: tuple[int, ...] | None) -> list[int]:
        body = {"type": kind, "period": "7-days"}
        return [row[f"{kind[:-1]}_id"] for row in csv_rows(export(deployment, "/csv", body, artists))]

    assert sorted(ids("tracks", ANA)) == [101, 102, 103, 202]
    assert sorted(ids("tracks", BEN)) == [102, 201, 202]
    assert sorted(ids("tracks", (1, 2))) == [101, 102, 103, 201, 202]
    assert sorted(ids("tracks", None)) == [101, 102, 103, 201, 202, 301, 501]
    assert ids("albums", ANA) == [10] and ids("albums", (3,)) == []
    assert ids("artists", ANA) == [1] and sorted(ids("artists", None)) == [1, 2, 3, 4, 5]
    assert ids("tracks", (99,)) == []  # an artist nobody knows: a header and nothing else
    empty = export(deployment, "/csv", {"type": "tracks"}, (99,))
    head = "track_id,title,album_id,album,artist_ids,artists,plays,plays_total,listeners,likes,reposts"
    head += ",from,to,tz,listening_qualified_plays,listening_total_ms,listening_avg_ms"
    assert empty.content == head.encode() + b"\r\n"


@pytest.mark.parametrize(
    ("focus", "kind", "expected"),
    [
        ({"artist_id": 2}, "tracks", {102, 201, 202}),
        ({"artist_id": 2}, "albums", {11}),
        ({"album_id": 10}, "tracks", {101, 102, 103}),
        ({"album_id": 10}, "artists", {1}),
        ({"track_id": 202}, "artists", {1, 2, 3}),
        ({"track_id": 102}, "albums", {10}),
    ],
)
def test_an_export_can_follow_the_entity_on_screen(
    deployment: Deployment, focus: dict[str, int], kind: str, expected: set[int]
) -> None:
    body = {"type": kind, "period": "90-days"} | focus
    rows = export(deployment, "/json", body).json()["data"]["rows"]
    assert rows == expected_rows(deployment.events, kind, None, "90-days", expected)
    in_csv = export(deployment, "/csv", body)
    assert unquoted(csv_rows(in_csv)) == [as_csv(row) for row in rows]


def test_a_focus_the_token_may_not_read_is_403_and_an_unknown_one_404(deployment: Deployment) -> None:
    assert export(deployment, "/csv", {"type": "tracks", "artist_id": 2}, ANA).status_code == 403
    assert export(deployment, "/pdf", {"album_id": 11}, ANA).status_code == 403
    assert export(deployment, "/json", {"type": "tracks", "album_id": 99}, ANA).status_code == 404


def test_a_report_can_follow_one_album(deployment: Deployment) -> None:
    report = export(deployment, "/report", {"period": "30-days", "album_id": 10}, ANA).json()["data"]
    assert [a["album_id"] for a in report["albums"]] == [10]
    assert sorted(t["track_id"] for t in report["tracks"]) == [101, 102, 103]
    assert [a["artist_id"] for a in report["artists"]] == [1]


def test_csv_is_a_named_utf8_attachment_with_formulas_neutralised(deployment: Deployment) -> None:
    response = export(deployment, "/csv", {"type": "tracks", "period": "7-days"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).date().isoformat()
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="insights-tracks-7-days-{today}.csv"'
    )
    titles = {row["track_id"]: row["title"] for row in csv_rows(response)}
    assert titles[501] == "'" + FORMULA_TITLE
    assert titles[102] == "Tide (with Ben)"
    names = {
        row["artist_id"]: row["name"] for row in csv_rows(export(deployment, "/csv", {"type": "artists"}))
    }
    assert names[5] == "'@Evil Twin"
    json_rows = export(deployment, "/json", {"type": "tracks"}).json()["data"]["rows"]
    assert (
        next(r["title"] for r in json_rows if r["track_id"] == 501) == FORMULA_TITLE
    )  # JSON carries it as is


def test_bad_bodies_are_422(deployment: Deployment) -> None:
    for path, body, field in [
        ("/csv", {"type": "playlists"}, "type"),
        ("/json", {"type": "tracks", "period": "2-weeks"}, "period"),
        ("/report", {"include_charts": 1}, "include_charts"),
        ("/pdf", {"period": None}, "period"),
    ]:
        response = export(deployment, path, body, ANA)
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, field)


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


# What a GET answer says of its range and exactness, which the report says once for all its entities.
RANGE_KEYS = ("tz", "from", "to", "estimates", "complete_through")


def endpoint_breakdowns(deployment: Deployment, path: str, **params: str) -> dict[str, Any]:
    """What GET <path>/breakdown answers for each dimension, without what says which and when."""
    header = ("track_id", "album_id", "artist_id", "dimension", "period", *RANGE_KEYS)
    return {
        d: without(deployment.data(f"{path}/breakdown", dimension=d, **params), *header) for d in DIMENSIONS
    }


def test_report_holds_what_the_endpoints_answer(deployment: Deployment) -> None:
    period, days, today = "30-days", 30, datetime.now(UTC).date()
    report = export(deployment, "/report", {"period": period, "include_charts": True}, ANA).json()["data"]
    readable = sorted(track_sets(ANA)["tracks"])
    first = today - timedelta(days=days - 1)
    assert report["summary"] == {"artists": 1, "albums": 1, "tracks": len(readable)} | reference.analytics(
        deployment.events, readable, days, today
    ) | audience(deployment.events, readable, "UTC", first, today)
    [artist] = report["artists"]
    assert without(artist, "collaborations", "breakdowns") == without(
        deployment.data("/artists/1", period=period), "period", *RANGE_KEYS
    )
    assert artist["breakdowns"] == endpoint_breakdowns(deployment, "/artists/1", period=period)
    assert artist["collaborations"] == without(deployment.data("/artists/1/collaborations"), "artist_id")
    [album] = report["albums"]
    assert without(album, "breakdowns") == without(
        deployment.data("/albums/10", period=period), "period", *RANGE_KEYS
    )
    assert album["breakdowns"] == endpoint_breakdowns(deployment, "/albums/10", period=period)
    assert [t["track_id"] for t in report["tracks"]] == sorted(
        readable,
        key=lambda t: (-reference.analytics(deployment.events, [t], days, today)["plays"]["period"], t),
    )
    for track in report["tracks"]:
        path = f"/tracks/{track['track_id']}"
        single = deployment.data(path, period=period)
        assert without(track, "album_id", "artist_ids", "breakdowns") == without(
            single, "period", *RANGE_KEYS
        )
        assert track["breakdowns"] == endpoint_breakdowns(deployment, path, period=period)
    chart = deployment.data("/artists/1/charts", timeframe="30d")
    assert report["chart"] == without(chart, "artist_id", "period", *RANGE_KEYS)
    assert (report["period"], report["period_start"], report["period_end"]) == (
        period,
        (today - timedelta(days=days - 1)).isoformat(),
        today.isoformat(),
    )
    plain = export(deployment, "/report", {"period": period}, ANA).json()["data"]
    assert plain["chart"] is None and plain["summary"] == report["summary"]
    ben = export(deployment, "/report", {"period": period}, BEN).json()["data"]
    assert [a["artist_id"] for a in ben["artists"]] == [2] and [a["album_id"] for a in ben["albums"]] == [11]


def test_pdf_report_names_the_artist_tracks_and_totals(deployment: Deployment, tmp_path: Path) -> None:
    response = export(deployment, "/pdf", {"period": "90-days"}, ANA)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    today = datetime.now(UTC).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="insights-report-ana-vale-90-days-{today}.pdf"'
    )
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    words = " ".join(text.split())
    figures = reference.analytics(
        deployment.events, sorted(track_sets(ANA)["tracks"]), 90, datetime.now(UTC).date()
    )
    assert "Ana Vale" in words
    for title in ("Dawn", "Tide (with Ben)", "Noon", "Lanterns", "First Light", "Ben Cross"):
        assert title in words, title
    assert f"{figures['plays']['period']:,}" in words
    assert f"{figures['listeners']['unique']:,}" in words
    assert f"All time: {figures['plays']['total']:,} plays" in words
    document = pypdfium2.PdfDocument(response.content)
    assert len(document) >= 3
    for index in range(len(document)):
        image = document[index].render(scale=0.5).to_pil().convert("L")
        path = tmp_path / f"page-{index + 1}.png"
        image.save(path)
        dark = sum(image.histogram()[:200])
        assert dark > 500, f"page {index + 1} looks blank ({path})"


def local_days(zone: str, back: int, days: int) -> tuple[str, date, date]:
    """(zone, first, last): `days` local days ending `back` days before today in `zone`."""
    last = datetime.now(ZoneInfo(zone)).date() - timedelta(days=back)
    return zone, last - timedelta(days=days - 1), last


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "America/St_Johns"])
def test_rows_count_the_local_days_of_a_zone_and_say_which(deployment: Deployment, zone: str) -> None:
    local = local_days(zone, 3, 38)
    body = {"tz": zone, "from": local[1].isoformat(), "to": local[2].isoformat()}
    for kind in ("tracks", "albums", "artists"):
        for artists in (None, ANA):
            expected = expected_rows(deployment.events, kind, artists, "custom", local=local)
            as_json = export(deployment, "/json", {"type": kind} | body, artists)
            assert as_json.status_code == 200, as_json.text
            assert as_json.json()["data"] == {"type": kind, "period": "custom"} | body | {
                "layout": "entities",
                "rows": expected,
            }
            in_csv = export(deployment, "/csv", {"type": kind} | body, artists)
            assert unquoted(csv_rows(in_csv)) == [as_csv(row) for row in expected], (kind, artists)
    name = f"insights-artists-{local[1]}-to-{local[2]}-{zone.replace('/', '-')}.csv"
    assert in_csv.headers["content-disposition"] == f'attachment; filename="{name}"'
    for row in export(deployment, "/json", {"type": "albums"} | body).json()["data"]["rows"]:
        single = deployment.data(f"/albums/{row['album_id']}", **body)
        assert (row["plays"], row["listeners"], row["likes"]) == (
            single["plays"]["period"],
            single["listeners"]["unique"],
            single["engagement"]["likes"],
        )


def test_a_period_in_a_zone_is_its_last_local_days(deployment: Deployment) -> None:
    zone = "Asia/Kolkata"
    local = local_days(zone, 0, 30)
    data = export(deployment, "/json", {"type": "artists", "period": "30-days", "tz": zone}).json()["data"]
    assert (data["period"], data["from"], data["to"], data["tz"]) == (
        "30-days",
        str(local[1]),
        str(local[2]),
        zone,
    )
    assert data["rows"] == expected_rows(deployment.events, "artists", None, "30-days", local=local)


def test_a_report_in_a_zone_covers_its_local_days(deployment: Deployment) -> None:
    zone, first, last = local_days("Asia/Kathmandu", 2, 20)
    body = {"tz": zone, "from": str(first), "to": str(last), "include_charts": True}
    report = export(deployment, "/report", body, ANA).json()["data"]
    assert (report["period"], report["tz"], report["from"], report["to"]) == (
        "custom",
        zone,
        str(first),
        str(last),
    )
    assert (report["period_start"], report["period_end"]) == (str(first), str(last))
    readable = sorted(track_sets(ANA)["tracks"])
    assert without(report["summary"], "artists", "albums", "tracks") == reference.local_analytics(
        deployment.events, readable, zone, first, last
    ) | audience(deployment.events, readable, zone, first, last)
    [album] = report["albums"]
    days = {"tz": zone, "from": str(first), "to": str(last)}
    assert without(album, "breakdowns") == without(
        deployment.data("/albums/10", **days), "period", *RANGE_KEYS
    )
    assert album["breakdowns"] == endpoint_breakdowns(deployment, "/albums/10", **days)
    assert (
        album["breakdowns"]
        == audience(deployment.events, tracks_of_album(10), zone, first, last)["breakdowns"]
    )
    assert report["chart"]["interval"] == "day" and report["chart"]["timeframe"] == "custom"
    assert report["chart"]["series"] == reference.local_chart(
        deployment.events, readable, zone, first, last, "day"
    )


def test_a_pdf_in_a_zone_says_its_dates_and_zone(deployment: Deployment) -> None:
    zone, first, last = local_days("America/St_Johns", 1, 10)
    response = export(deployment, "/pdf", {"tz": zone, "from": str(first), "to": str(last)}, ANA)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="insights-report-ana-vale-{first}-to-{last}-America-St_Johns.pdf"'
    )
    words = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages).split()
    )
    day = "%d %b %Y"
    dates = f"{first.strftime(day).lstrip('0')} to {last.strftime(day).lstrip('0')}, America/St_Johns time"
    assert dates in words
    figures = reference.local_analytics(
        deployment.events, sorted(track_sets(ANA)["tracks"]), zone, first, last
    )
    assert f"{figures['plays']['period']:,}" in words


# How a report spells the sources and platforms the deployment's events carry (countries: by name).
VALUE_NAMES = {
    "source": {
        "search": "Search",
        "library": "Library",
        "playlist": "Playlist",
        "album": "Album",
        "artist_page": "Artist page",
        "radio": "Radio",
        "recommendation": "Recommendation",
        "embed": "Embed",
        "external": "External",
        "other": "Other",
    },
    "platform": {"web": "Web", "ios": "iOS", "android": "Android", "desktop": "Desktop", "tv": "TV"},
    "country": COUNTRY_NAMES,
}


PLURALS = {"country": "countries", "source": "sources", "platform": "platforms"}


def percent(part: int, whole: int) -> float:
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def long_rows(kind: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """An entity row's breakdowns as the `breakdowns` layout lists them: per dimension the ranked
    values, then `other` and `unknown` when they had plays."""
    identity = {k: row[k] for k in (f"{kind[:-1]}_id", "name" if kind == "artists" else "title")}
    dates = {k: row[k] for k in ("from", "to", "tz")}
    found = []
    for dimension, b in row["breakdowns"].items():
        total = sum(r["plays"] for r in b["rows"]) + b["other"]["plays"] + b["unknown"]["plays"]
        for rank, r in enumerate(b["rows"], start=1):
            found.append(
                identity
                | {"dimension": dimension, "slice": "ranked", "rank": rank, "value": r["value"]}
                | {"value_name": VALUE_NAMES[dimension][r["value"]], "plays": r["plays"]}
                | {"listeners": r["listeners"], "share": r["share"]}
                | dates
            )
        for part, name in (("other", f"All other {PLURALS[dimension]}"), ("unknown", "Not stated")):
            if b[part]["plays"]:
                found.append(
                    identity
                    | {"dimension": dimension, "slice": part, "rank": None, "value": None, "value_name": name}
                    | b[part]
                    | {"share": percent(b[part]["plays"], total)}
                    | dates
                )
    return found


def parsed_long_csv(response: httpx.Response) -> list[dict[str, Any]]:
    """Counts as ints, the share as a float, an empty rank or value as None."""
    numbers = {"track_id", "album_id", "artist_id", "rank", "plays", "listeners"}

    def cell(name: str, text: str) -> Any:
        if name in numbers or name == "value":
            return (int(text) if name in numbers else text) if text else None
        return float(text) if name == "share" else text

    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline=""))
    return unquoted([{k: cell(k, v) for k, v in row.items()} for row in rows])


@pytest.mark.parametrize(
    ("kind", "artists", "body", "local"),
    [
        ("tracks", ANA, {"period": "90-days"}, None),
        ("albums", None, {"period": "1-year", "limit": 3}, None),
        ("artists", None, {"tz": "Asia/Kathmandu", "limit": 2}, "Asia/Kathmandu"),
    ],
)
def test_the_breakdowns_layout_has_a_row_per_entity_dimension_and_value(
    deployment: Deployment,
    kind: str,
    artists: tuple[int, ...] | None,
    body: dict[str, Any],
    local: str | None,
) -> None:
    days = None
    if local is not None:
        days = local_days(local, 2, 45)
        body = body | {"from": str(days[1]), "to": str(days[2])}
    limit = body.get("limit", 10)
    entities = expected_rows(
        deployment.events,
        kind,
        artists,
        body.get("period", "custom"),
        local=days,
        limit=limit,
        breakdowns=True,
    )
    expected = [row for entity in entities for row in long_rows(kind, entity)]
    assert {r["slice"] for r in expected} == {"ranked", "other", "unknown"}, "the data has all three"
    wanted = {"type": kind, "layout": "breakdowns"} | body
    as_json = export(deployment, "/json", wanted, artists)
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["data"]["layout"] == "breakdowns"
    assert as_json.json()["data"]["rows"] == expected
    in_csv = export(deployment, "/csv", wanted, artists)
    assert in_csv.status_code == 200, in_csv.text
    assert "-breakdowns-" in in_csv.headers["content-disposition"]
    assert parsed_long_csv(in_csv) == expected


def test_the_pdf_shows_where_and_how_they_listen(deployment: Deployment) -> None:
    today = datetime.now(UTC).date()
    response = export(deployment, "/pdf", {"period": "90-days"}, ANA)
    assert response.status_code == 200, response.text
    words = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages).split()
    )
    readable = sorted(track_sets(ANA)["tracks"])
    heard = audience(deployment.events, readable, "UTC", today - timedelta(days=89), today)
    assert "Where and how they listen" in words
    assert f"Listening: {heard['listening']['qualified_plays']:,} plays of 30 seconds or more" in words
    for heading in ("Countries: where the listeners were", "Sources:", "Platforms: what they played on"):
        assert heading in words, heading
    for dimension, found in heard["breakdowns"].items():
        for rank, row in enumerate(found["rows"], start=1):
            name = VALUE_NAMES[dimension][row["value"]]
            line = f"{rank} {name} {row['plays']:,} {row['listeners']:,} {row['share']:.1f}%"
            assert line in words, (dimension, line)
        plays = sum(r["plays"] for r in found["rows"]) + found["other"]["plays"] + found["unknown"]["plays"]
        for part, name in (("other", f"All other {PLURALS[dimension]}"), ("unknown", "Not stated")):
            if found[part]["plays"]:
                line = f"{name} {found[part]['plays']:,} {found[part]['listeners']:,}"
                assert f"{line} {percent(found[part]['plays'], plays):.1f}%" in words, (dimension, line)
