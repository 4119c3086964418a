"""Export requests refused before any query (auth, body rules) against the OpenAPI document, and the
pure parts of the exports: CSV cells made spreadsheet-safe, the columns, the chart axis."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate
from starlette.testclient import TestClient

from api.exports.focus import focus_field
from api.exports.pdf import charts
from api.exports.pdf.audience import audience
from api.exports.pdf.charts import label_for, nice_ceiling
from api.exports.routes import attachment
from api.exports.tables import (
    breakdown_pages,
    columns,
    csv_chunks,
    csv_text,
    json_chunks,
    row_pages,
    spreadsheet_safe,
)
from schemas.audience import BREAKDOWN_LIMIT, DIMENSIONS
from schemas.exports import EXPORT, MAX_EXPORT_BODY_BYTES
from schemas.local_ranges import custom_range, last_days
from schemas.tokens import TokenClaims
from tests.unit.test_openapi import bearer, response_problems

POSTS = ("/csv", "/json", "/report", "/pdf")


@pytest.mark.parametrize(
    ("formula", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("Dawn = Dusk", "Dawn = Dusk"),
        ("", ""),
    ],
)
def test_text_cells_that_a_spreadsheet_would_run_get_a_leading_quote(formula: str, shown: str) -> None:
    assert spreadsheet_safe(formula) == shown
    parsed = next(csv.reader(io.StringIO(csv_text([[7, formula]]), newline="")))
    assert parsed == ["7", shown]


def test_numbers_are_left_alone_and_lines_end_in_crlf() -> None:
    assert spreadsheet_safe(-3) == -3
    assert csv_text([[1, 'a "quoted", title']]) == '1,"a ""quoted"", title"\r\n'


def test_columns_follow_the_contract_and_tell_same_titles_apart() -> None:
    figures = ["plays", "plays_total", "listeners", "likes", "reposts", "from", "to", "tz"]
    assert columns("tracks") == ["track_id", "title", "album_id", "album", "artist_ids", "artists", *figures]
    assert columns("albums") == ["album_id", "title", "artist_id", "artist", *figures]
    assert columns("artists") == ["artist_id", "name", *figures]


def test_a_list_is_one_cell_and_no_value_an_empty_one() -> None:
    assert csv_text([[42, [7, 8], ["Ana Vale", "=Ben"], None]]) == "42,7; 8,Ana Vale; =Ben,\r\n"
    assert csv_text([[["=evil"]]]) == "'=evil\r\n", "a joined cell is made safe too"


@pytest.mark.parametrize(("highest", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (4558, 5000)])
def test_chart_axes_end_on_a_round_number_at_or_above_the_highest_value(highest: int, top: int) -> None:
    assert nice_ceiling(highest) == top


def test_the_pdf_lays_out_the_most_values_a_breakdown_ranks() -> None:
    # `limit` may ask for 50 countries: their bars once made a chart taller than the page (a 500).
    ranked = [
        {"value": f"C{i}", "plays": 100 - i, "listeners": 1, "share": 1.0} for i in range(BREAKDOWN_LIMIT)
    ]
    nothing = {"plays": 0, "listeners": 0}
    found = {"rows": ranked, "other": {"plays": 3, "listeners": 1}, "unknown": nothing}
    summary = {
        "listening": {"qualified_plays": 1, "total_ms": 45_001, "avg_ms": 22_501},
        "breakdowns": {d: found for d in DIMENSIONS},
    }
    margins = {"leftMargin": 18 * mm, "rightMargin": 18 * mm, "topMargin": 20 * mm, "bottomMargin": 18 * mm}
    doc = SimpleDocTemplate(io.BytesIO(), pagesize=A4, **margins)  # the report's page
    doc.build(audience({"summary": summary}, doc.width))  # raises LayoutError when a flowable cannot fit
    assert charts.bars([r["value"] for r in ranked], [r["plays"] for r in ranked], doc.width).height <= (
        charts.MAX_BARS_HEIGHT
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/csv", {"type": "songs"}, "type"),
        ("/csv", {"period": "7-days"}, "type"),
        ("/json", {"type": "tracks", "period": "1-week"}, "period"),
        ("/json", {"type": ["tracks"]}, "type"),
        ("/report", {"include_charts": "yes"}, "include_charts"),
        ("/report", {"period": 7}, "period"),
        ("/pdf", {"period": "forever"}, "period"),
        ("/pdf", [1, 2], "body"),
        ("/csv", {"type": "tracks", "artist_id": 7, "album_id": 70}, "album_id"),
        ("/json", {"type": "tracks", "track_id": "42"}, "track_id"),
        ("/report", {"artist_id": 0}, "artist_id"),
        ("/pdf", {"album_id": True}, "album_id"),
        ("/csv", {"type": "tracks", "tz": "Mars/Olympus"}, "tz"),
        ("/json", {"type": "tracks", "from": "2026-01-01"}, "to"),
        ("/report", {"period": "7-days", "from": "2026-01-01", "to": "2026-01-02"}, "period"),
        ("/pdf", {"from": 20260101, "to": "2026-01-02"}, "from"),
        ("/csv", {"type": "tracks", "from": "2026-01-09", "to": "2026-01-02"}, "from"),
        ("/report", {"from": "2020-01-01", "to": "2026-01-02"}, "from"),
        ("/pdf", {"tz": "Asia/Kolkata", "from": "2026-01-01", "to": "2999-01-01"}, "to"),
        ("/csv", {"type": "tracks", "layout": "long"}, "layout"),
        ("/json", {"type": "tracks", "layout": None}, "layout"),
        ("/json", {"type": "tracks", "limit": 0}, "limit"),
        ("/csv", {"type": "tracks", "layout": "breakdowns", "limit": 51}, "limit"),
        ("/report", {"limit": "10"}, "limit"),
        ("/pdf", {"limit": 2.5}, "limit"),
        ("/report", {"limit": True}, "limit"),
        ("/json", {"type": "tracks", "include_breakdowns": "yes"}, "include_breakdowns"),
        ("/csv", {"type": "tracks", "include_breakdowns": True}, "include_breakdowns"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient, spec: dict[str, Any], path: str, body: Any, field: str
) -> None:
    response = client.post(EXPORT + path, json=body, headers=bearer("insights:read"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert response_problems(spec, EXPORT + path, "post", response) == []


@pytest.mark.parametrize("path", POSTS)
def test_refusals_before_any_query_match_the_document(
    client: TestClient, spec: dict[str, Any], path: str
) -> None:
    answers = {
        401: client.post(EXPORT + path, json={"type": "tracks"}),
        403: client.post(EXPORT + path, json={"type": "tracks"}, headers=bearer("events:write")),
        413: client.post(
            EXPORT + path, content=b" " * (MAX_EXPORT_BODY_BYTES + 1), headers=bearer("insights:read")
        ),
        422: client.post(EXPORT + path, content=b"{not json", headers=bearer("insights:read")),
    }
    for status, response in answers.items():
        assert response.status_code == status, (path, response.text)
        assert response_problems(spec, EXPORT + path, "post", response) == [], (path, status)


def test_formats_lists_csv_json_and_pdf(client: TestClient, spec: dict[str, Any]) -> None:
    response = client.get(EXPORT + "/formats", headers=bearer("insights:read"))
    assert response.status_code == 200
    assert response_problems(spec, EXPORT + "/formats", "get", response) == []
    body = response.json()
    assert (
        [f["id"] for f in body["formats"]]
        == ["csv", "json", "pdf"]
        == [f["id"] for f in body["data"]["formats"]]
    )


class RankedStore:
    """A stand-in store holding tracks 1..count, track i with i plays: answers the export queries."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.queries: list[str] = []

    async def aquery_rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        if "ORDER BY p.plays DESC" in sql:
            self.queries.append("rank")
            return [(i, f"Track {i}") for i in range(self.count, 0, -1)]  # most played first
        if "track_audience_daily" in sql:
            self.queries.append("breakdowns")
            # entity, dimension, kind (0 ranked, 1 other, 2 unknown), ranked values, plays, listeners
            return [
                row
                for i in parameters["ids"]
                for row in (
                    (i, "country", 0, [("US", i, 1), ("DE", i, 1)], 2 * i, 2),
                    (i, "country", 1, [], 1, 1),
                    (i, "platform", 2, [], i, 1),
                )
            ]
        self.queries.append("figures")
        # entity, part (2 all time, 1 the range, 0 the previous one), plays, listeners, likes, reposts,
        # qualified plays, listened ms, timed plays
        return [
            row
            for i in parameters["ids"]
            for row in ((i, 2, 10 * i, 20, 0, 0, 0, 0, 0), (i, 1, i, 2, 4, 5, 1, 45_001, 2))
        ]


async def collect(pages: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in pages])


def described(track_id: int) -> dict[str, Any]:
    return {"album_id": 70, "album": "First Light", "artist_ids": [7, 8], "artists": ["Ana", "Ben"]}


@pytest.mark.parametrize(
    ("count", "queries"), [(7, ["rank"] + ["figures"] * 3), (6, ["rank"] + ["figures"] * 2)]
)
def test_rows_come_most_played_first_in_pages_with_one_figures_query_each(
    count: int, queries: list[str]
) -> None:
    store = RankedStore(count)
    claims = TokenClaims("unit", frozenset(), frozenset({"admin"}), datetime.now(UTC), "t")
    bounds = last_days("7-days", 7, "UTC", datetime.now(UTC))

    async def run() -> tuple[bytes, bytes]:
        pages = row_pages(store, "tracks", claims, bounds, described, page_rows=3)  # type: ignore[arg-type]
        as_csv = await collect(csv_chunks("tracks", pages))
        pages = row_pages(store, "tracks", claims, bounds, described, page_rows=3)  # type: ignore[arg-type]
        return as_csv, await collect(json_chunks("tracks", bounds, pages))

    as_csv, as_json = asyncio.run(run())
    assert store.queries == queries * 2
    lines = as_csv.decode().split("\r\n")
    head = "track_id,title,album_id,album,artist_ids,artists,plays,plays_total,listeners,likes,reposts"
    head += ",from,to,tz,listening_qualified_plays,listening_total_ms,listening_avg_ms"
    assert lines[0] == head, "the first version's columns first, in their order; then the new ones"
    dates = f"{bounds.first.isoformat()},{bounds.last.isoformat()},UTC"
    assert lines[1:] == [
        f"{i},Track {i},70,First Light,7; 8,Ana; Ben,{i},{10 * i},2,4,5,{dates},1,45001,22501"
        for i in range(count, 0, -1)
    ] + [""]
    data = json.loads(as_json)["data"]
    assert (data["from"], data["to"], data["tz"]) == (
        bounds.first.isoformat(),
        bounds.last.isoformat(),
        "UTC",
    )
    assert [r["track_id"] for r in data["rows"]] == list(range(count, 0, -1))
    assert data["rows"][0] == {"track_id": count, "title": f"Track {count}"} | described(count) | {
        "plays": count,
        "plays_total": 10 * count,
        "listeners": 2,
        "likes": 4,
        "reposts": 5,
        "from": bounds.first.isoformat(),
        "to": bounds.last.isoformat(),
        "tz": "UTC",
        "listening": {"qualified_plays": 1, "total_ms": 45_001, "avg_ms": 22_501},
    }


def test_the_breakdowns_layout_has_a_row_per_entity_dimension_and_value() -> None:
    store = RankedStore(4)
    claims = TokenClaims("unit", frozenset(), frozenset({"admin"}), datetime.now(UTC), "t")
    bounds = last_days("7-days", 7, "UTC", datetime.now(UTC))

    async def run() -> tuple[bytes, bytes]:
        def pages() -> AsyncIterator[list[dict[str, Any]]]:
            rows = row_pages(store, "tracks", claims, bounds, described, page_rows=3, breakdown_limit=2)  # type: ignore[arg-type]
            return breakdown_pages("tracks", rows)

        as_csv = await collect(csv_chunks("tracks", pages(), "breakdowns"))
        return as_csv, await collect(json_chunks("tracks", bounds, pages(), "breakdowns"))

    as_csv, as_json = asyncio.run(run())
    assert store.queries == ["rank", "figures", "breakdowns", "figures", "breakdowns"] * 2
    lines = as_csv.decode().split("\r\n")
    assert lines[0] == "track_id,title,dimension,slice,rank,value,value_name,plays,listeners,share,from,to,tz"
    dates = f"{bounds.first.isoformat()},{bounds.last.isoformat()},UTC"
    # Track 4: US 4 and DE 4 plays, 1 past the limit (9 by country); 4 plays without a platform.
    assert lines[1:5] == [
        f"4,Track 4,country,ranked,1,DE,Germany,4,1,44.4,{dates}",
        f"4,Track 4,country,ranked,2,US,United States,4,1,44.4,{dates}",
        f"4,Track 4,country,other,,,All other countries,1,1,11.1,{dates}",
        f"4,Track 4,platform,unknown,,,Not stated,4,1,100.0,{dates}",
    ]
    assert len(lines) == 4 * 4 + 2
    data = json.loads(as_json)["data"]
    assert data["layout"] == "breakdowns"
    assert data["rows"][2] == {
        "track_id": 4,
        "title": "Track 4",
        "dimension": "country",
        "slice": "other",
        "rank": None,
        "value": None,
        "value_name": "All other countries",
        "plays": 1,
        "listeners": 1,
        "share": 11.1,
        "from": bounds.first.isoformat(),
        "to": bounds.last.isoformat(),
        "tz": "UTC",
    }


def test_an_empty_export_is_valid_json() -> None:
    async def nothing() -> AsyncIterator[list[dict[str, Any]]]:
        for page in ([], []):
            yield page

    bounds = last_days("1-year", 365, "UTC", datetime.now(UTC))
    body = asyncio.run(collect(json_chunks("albums", bounds, nothing())))
    dates = {"from": bounds.first.isoformat(), "to": bounds.last.isoformat(), "tz": "UTC"}
    assert json.loads(body) == {
        "success": True,
        "data": {"type": "albums", "period": "1-year"} | dates | {"layout": "entities", "rows": []},
    }


def test_chart_tick_labels() -> None:
    assert label_for("2026-11-26T00:00:00Z", "day") == "Nov 26"
    assert label_for("2026-01-05T00:00:00Z", "week") == "Jan 5"
    assert label_for("2026-11-20T14:00:00Z", "hour") == "Nov 20 14:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"artist_id": 7}, ("artist_id", 7)),
        ({"album_id": 10.0}, ("album_id", 10)),  # JSON Schema's integer: a whole number, however written
        ({"track_id": None, "artist_id": 3}, ("artist_id", 3)),
        ({}, None),
    ],
)
def test_the_entity_an_export_names(body: dict[str, object], field: tuple[str, int] | None) -> None:
    assert focus_field(body) == field


def test_file_names_say_the_range_and_the_zone() -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    names = [
        attachment("tracks", last_days("30-days", 30, "UTC", now), "csv"),
        attachment("albums", last_days("7-days", 7, "America/St_Johns", now), "json"),
        attachment("report-ana", custom_range("Asia/Kolkata", "2026-11-01", "2026-11-15", now), "pdf"),
    ]
    assert [n["Content-Disposition"] for n in names] == [
        'attachment; filename="insights-tracks-30-days-2026-11-20.csv"',
        'attachment; filename="insights-albums-7-days-2026-11-20-America-St_Johns.json"',
        'attachment; filename="insights-report-ana-2026-11-01-to-2026-11-15-Asia-Kolkata.pdf"',
    ]
