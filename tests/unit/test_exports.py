"""Export requests refused before any query (auth, body rules) against the OpenAPI document, and the
pure parts of the exports: CSV cells made spreadsheet-safe, the columns, the chart axis."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.export_tables import columns, csv_text, spreadsheet_safe
from api.pdf_charts import nice_ceiling
from schemas.openapi_exports import EXPORT, MAX_EXPORT_BODY_BYTES
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
