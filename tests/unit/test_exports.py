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
from starlette.testclient import TestClient

from api.export_tables import columns, csv_chunks, csv_text, json_chunks, row_pages, spreadsheet_safe
from api.pdf_charts import label_for, nice_ceiling
from schemas.openapi_exports import EXPORT, MAX_EXPORT_BODY_BYTES
from schemas.periods import period_bounds
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


def test_columns_follow_the_contract() -> None:
    figures = ["plays", "plays_total", "listeners", "likes", "reposts"]
    assert columns("tracks") == ["track_id", "title", *figures]
    assert columns("albums") == ["album_id", "title", *figures]
    assert columns("artists") == ["artist_id", "name", *figures]


@pytest.mark.parametrize(("highest", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (4558, 5000)])
def test_chart_axes_end_on_a_round_number_at_or_above_the_highest_value(highest: int, top: int) -> None:
    assert nice_ceiling(highest) == top


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


class PagedStore:
    """A stand-in store holding tracks 1..count, all with the same figures: answers the export queries."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.queries: list[str] = []

    async def aquery_rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        if "LIMIT {limit:UInt32}" in sql:
            self.queries.append("page")
            first, last = parameters["after"] + 1, min(self.count, parameters["after"] + parameters["limit"])
            return [(i, f"Track {i}") for i in range(first, last + 1)]
        self.queries.append("figures")
        # entity, plays_total, listeners_total, plays, listeners, likes, reposts, previous plays/listeners
        return [(i, 10, 20, 3, 2, 4, 5, 0, 0) for i in parameters["ids"]]


async def collect(pages: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in pages])


@pytest.mark.parametrize(
    ("count", "queries"), [(7, ["page", "figures"] * 3), (6, ["page", "figures"] * 2 + ["page"])]
)
def test_rows_come_in_pages_with_one_figures_query_each(count: int, queries: list[str]) -> None:
    store = PagedStore(count)
    claims = TokenClaims("unit", frozenset(), frozenset({"admin"}), datetime.now(UTC), "t")
    bounds = period_bounds("7-days", datetime.now(UTC))

    async def run() -> tuple[bytes, bytes]:
        pages = row_pages(store, "tracks", claims, bounds, page_rows=3)  # type: ignore[arg-type]
        as_csv = await collect(csv_chunks("tracks", pages))
        pages = row_pages(store, "tracks", claims, bounds, page_rows=3)  # type: ignore[arg-type]
        return as_csv, await collect(json_chunks("tracks", "7-days", pages))

    as_csv, as_json = asyncio.run(run())
    assert store.queries == queries * 2
    lines = as_csv.decode().split("\r\n")
    assert lines[0] == "track_id,title,plays,plays_total,listeners,likes,reposts"
    assert lines[1:] == [f"{i},Track {i},3,10,2,4,5" for i in range(1, count + 1)] + [""]
    rows = json.loads(as_json)["data"]["rows"]
    assert [r["track_id"] for r in rows] == list(range(1, count + 1))
    assert rows[0] == {"track_id": 1, "title": "Track 1", "plays": 3, "plays_total": 10} | {
        "listeners": 2,
        "likes": 4,
        "reposts": 5,
    }


def test_an_empty_export_is_valid_json() -> None:
    async def nothing() -> AsyncIterator[list[dict[str, Any]]]:
        for page in ([], []):
            yield page

    body = asyncio.run(collect(json_chunks("albums", "1-year", nothing())))
    assert json.loads(body) == {"success": True, "data": {"type": "albums", "period": "1-year", "rows": []}}


def test_chart_tick_labels() -> None:
    assert label_for("2026-11-26T00:00:00Z", "day") == "Nov 26"
    assert label_for("2026-01-05T00:00:00Z", "week") == "Jan 5"
    assert label_for("2026-11-20T14:00:00Z", "hour") == "Nov 20 14:00"
