"""The OpenAPI document against the app it describes, with stand-ins for Kafka and ClickHouse: a valid
OpenAPI 3.1 document, the same routes, parameters, scopes, rules and limits as the code, and the
answers the app gives without a database (health, ingest, auth and validation errors) match it."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from api.http.auth import required_scope
from api.http.errors import CODES
from api.http.health import Readiness
from api.pages.docs import example, render_page, resolve
from schemas.events import MAX_BODY_BYTES, validate_batch
from schemas.openapi import openapi_document
from schemas.tokens import create_token
from tests.unit.conftest import SECRET, FakePublisher, FakeStore

INSIGHTS = "/api/v1/producer-intelligence/insights"


# ---- checking a response against the document (also used by the integration test) -----------------


def pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def registry_of(spec: dict[str, Any]) -> Registry[Any]:
    """The document as a JSON Schema resource, so `#/components/...` refs resolve inside it."""
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resource("urn:openapi", resource)


def response_problems(
    spec: dict[str, Any], template: str, method: str, response: httpx.Response
) -> list[str]:
    """Why `response` does not match what the document promises for this operation ([] if it does)."""
    documented = spec["paths"][template][method]["responses"]
    status = str(response.status_code)
    if status not in documented:
        return [f"{method.upper()} {template} answered {status}, which is not documented"]
    where: tuple[str, ...] = ("paths", template, method, "responses", status)
    answer = documented[status]
    if "$ref" in answer:
        where = tuple(answer["$ref"].removeprefix("#/").split("/"))
        answer = spec["components"]["responses"][where[-1]]
    problems = [
        f"header {name} is missing" for name in answer.get("headers", {}) if name not in response.headers
    ]
    media = response.headers.get("content-type", "").split(";")[0]
    if "content" not in answer:  # a documented answer without a body (304)
        return [*problems, *(["a body was sent"] if response.content else [])]
    if media not in answer["content"]:
        return [*problems, f"content type {media!r} is not documented"]
    if media == "application/json":
        schema = {"$ref": "urn:openapi#" + pointer(*where, "content", media, "schema")}
        validator = Draft202012Validator(
            schema,
            registry=registry_of(spec),
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        problems += [
            f"at {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())
        ]
    return problems


# ---- the app with stand-ins (fixtures in tests/unit/conftest.py) -----------------------------------


def bearer(*scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(SECRET, subject='unit', scopes=scopes)}"}


def operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec["paths"].items() for method in item}


def app_routes(app: Starlette) -> dict[tuple[str, str], Route]:
    return {
        (route.path, method.lower()): route
        for route in app.routes
        if isinstance(route, Route) and route.include_in_schema
        for method in (route.methods or ()) - {"HEAD"}  # Starlette adds HEAD to every GET itself
    }


# ---- the document and the code -----------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_document_describes_exactly_the_routes_of_the_app(spec: dict[str, Any], app: Starlette) -> None:
    assert operations(spec) == set(app_routes(app))


def test_path_parameters_are_the_route_parameters(spec: dict[str, Any], app: Starlette) -> None:
    refs = spec["components"]["parameters"]
    for (path, method), route in app_routes(app).items():
        declared = [
            refs[p["$ref"].rsplit("/", 1)[-1]] for p in spec["paths"][path][method].get("parameters", [])
        ]
        in_path = {p["name"] for p in declared if p["in"] == "path"}
        assert in_path == set(route.param_convertors) == set(re.findall(r"{(\w+)}", path)), path


def test_each_operation_names_the_scope_the_auth_middleware_demands(spec: dict[str, Any]) -> None:
    for path, method in operations(spec):
        security = spec["paths"][path][method]["security"]
        named = [scope for requirement in security for scope in requirement["bearerAuth"]]
        needed = required_scope(path)
        assert named == ([needed] if needed else []), path
        responses = spec["paths"][path][method]["responses"]
        assert ("401" in responses) == ("403" in responses) == (needed is not None), path


# ---- served by the app ---------------------------------------------------------------------------


def test_openapi_json_is_served_without_a_token(client: TestClient, spec: dict[str, Any]) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == spec | {"servers": [{"url": "http://testserver"}]}, "where it was asked"
    assert response_problems(spec, "/openapi.json", "get", response) == []


def test_docs_page_is_served_without_a_token_and_shows_every_path(
    client: TestClient, spec: dict[str, Any]
) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for path, item in spec["paths"].items():
        assert html.escape(path) in page, path
        for op in item.values():
            assert f'id="op-{op["operationId"]}"' in page
    for code in CODES.values():
        assert code in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/docs/try.js" defer>'], "no inline script"
    assert "@import" not in page and "url(" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page must not load anything from elsewhere"
    script = client.get("/docs/try.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "fetch(" in script.text and not re.search(r"https?://", script.text), "it calls this origin only"


def test_curl_examples_send_headers_as_headers_and_every_operation_can_be_tried(spec: dict[str, Any]) -> None:
    page = html.unescape(render_page("http://127.0.0.1:8000", date.today()))
    assert "If-None-Match=" not in page, "a header is not a query parameter"
    assert '-H "If-None-Match: $ETAG"' in page
    forms = re.findall(r'<form class="try" data-method="(\w+)" data-path="([^"]+)"', page)
    assert {(path, method) for method, path in forms} == operations(spec)


def test_examples_leave_out_what_has_no_example_and_ask_for_one_range_form(spec: dict[str, Any]) -> None:
    page = html.unescape(render_page("http://127.0.0.1:8000", date.today()))
    urls = re.findall(r"'(http://127\.0\.0\.1:8000/[^']*)'", page)
    assert f"{INSIGHTS}/tracks/101?period=30-days&tz=UTC'" in page
    assert not [u for u in urls if re.search(r"[?&](from|to|cursor|q|interval)=", u)], "made-up values"
    bodies = [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", page)]
    ranges = [b for b in bodies if "period" in b or "from" in b]
    assert ranges and all(not ("period" in b and "from" in b) for b in ranges)
    assert all(sum(k in b for k in ("artist_id", "album_id", "track_id")) <= 1 for b in bodies)


def test_docs_page_escapes_what_it_shows() -> None:
    # The base URL comes from the request's Host header.
    page = render_page("http://<b>evil</b>", date.today())
    assert "<b>evil</b>" not in page
    assert "&lt;b&gt;evil&lt;/b&gt;" in page


# ---- answers that need no database, against the document --------------------------------------------


def event(**changes: Any) -> dict[str, Any]:
    base = {"event_id": "e-1", "type": "play", "track_id": 101, "listener_id": "fan-1"}
    return base | {"occurred_at": datetime.now(UTC).isoformat()} | changes


ARTIST = {"artist_id": 1, "name": "Ana Vale"}


@pytest.mark.parametrize(
    ("path", "body", "good"),
    [
        ("/api/v1/events", {"events": [event(), event(track_id="x")]}, {"events": [event()]}),
        ("/api/v1/catalog", {"artists": [ARTIST, {"artist_id": 0}]}, {"artists": [ARTIST]}),
    ],
)
def test_write_answers_match_the_document(
    client: TestClient,
    fakes: tuple[FakeStore, FakePublisher],
    spec: dict[str, Any],
    path: str,
    body: dict[str, Any],
    good: dict[str, Any],
) -> None:
    scope = required_scope(path)
    assert scope is not None
    answers = {
        202: client.post(path, json=body, headers=bearer(scope)),
        401: client.post(path, json=good),
        403: client.post(path, json=good, headers=bearer("insights:read")),
        413: client.post(path, content=b" " * (MAX_BODY_BYTES + 1), headers=bearer(scope)),
        422: client.post(path, json={"events": [{}], "artists": [{}]}, headers=bearer(scope)),
    }
    fakes[1].up = False
    answers[503] = client.post(path, json=good, headers=bearer(scope))
    for status, response in answers.items():
        assert response.status_code == status, response.text
        assert response_problems(spec, path, "post", response) == [], status
    assert answers[202].json()["data"]["rejected"] == 1


def test_health_answers_match_the_document(
    client: TestClient, fakes: tuple[FakeStore, FakePublisher], spec: dict[str, Any]
) -> None:
    answers = [(path, client.get(path)) for path in ("/healthz", "/metrics", "/readyz")]
    fakes[0].up = False
    client.app.state.readiness = Readiness(*fakes)  # type: ignore[attr-defined]  # not the last check kept
    answers.append(("/readyz", client.get("/readyz")))
    assert [r.status_code for _, r in answers] == [200, 200, 200, 503]
    for path, response in answers:
        assert response_problems(spec, path, "get", response) == [], path


def test_read_refusals_before_any_query_match_the_document(client: TestClient, spec: dict[str, Any]) -> None:
    reads = [(path, method) for path, method in operations(spec) if path.startswith(INSIGHTS) and "{" in path]
    assert len(reads) == 11  # analytics, charts, realtime, collaborations, breakdowns
    for template, method in reads:
        valid = re.sub(r"{\w+}", "7", template)
        answers = {
            401: client.get(valid),
            403: client.get(valid, headers=bearer("events:write")),
            422: client.get(re.sub(r"{\w+}", "0", template), headers=bearer("insights:read")),
        }
        for status, response in answers.items():
            assert response.status_code == status, (template, response.text)
            assert response_problems(spec, template, method, response) == [], (template, status)


def test_an_undocumented_field_or_status_is_caught(spec: dict[str, Any]) -> None:
    path = "/healthz"
    extra = httpx.Response(200, json={"status": "ok", "uptime": 3})
    assert response_problems(spec, path, "get", extra) != []
    assert response_problems(spec, path, "get", httpx.Response(418, json={})) != []


# ---- what a client may rely on -----------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2026, 1, 1), date(2031, 7, 15)])
def test_the_example_batch_is_one_the_api_takes_on_any_day(day: date) -> None:
    doc = openapi_document(today=day)
    batch = example(doc, doc["components"]["schemas"]["EventBatch"])
    end_of_day = datetime.combine(day, datetime.max.time(), UTC)
    accepted, errors = validate_batch(batch["events"], end_of_day)
    assert (len(accepted), errors) == (1, [])


def test_the_served_document_dates_its_examples_today(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas, today = document["components"]["schemas"], datetime.now(UTC).date()
    assert schemas["Event"]["properties"]["occurred_at"]["examples"] == [f"{today}T00:00:00Z"]
    assert schemas["PdfRequest"]["properties"]["from"]["examples"] == [today.isoformat()]
    assert schemas["TrackAnalytics"]["properties"]["to"]["examples"] == [today.isoformat()]
    assert "<today>" not in client.get("/openapi.json").text
    # `from`/`to` have none: examples are sent together, and `period` with `from`/`to` is refused.
    parameters = document["components"]["parameters"]
    assert "examples" not in parameters["From"]["schema"] and "examples" not in parameters["To"]["schema"]


def nodes_with(key: str, node: Any, where: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (JSON pointer parts, schema) under `node` that has `key`."""
    if isinstance(node, list):
        return [found for i, item in enumerate(node) for found in nodes_with(key, item, (*where, str(i)))]
    if not isinstance(node, dict):
        return []
    here = [(where, node)] if key in node and isinstance(node[key], (list, str)) else []
    return here + [found for k, v in node.items() for found in nodes_with(key, v, (*where, k))]


def test_every_reference_of_the_document_resolves(spec: dict[str, Any]) -> None:
    for where, node in nodes_with("$ref", spec):
        assert resolve(spec, node), "/".join(where)


def test_every_example_of_the_document_is_valid_for_its_schema(spec: dict[str, Any]) -> None:
    registry = registry_of(spec)
    checked = 0
    for where, node in nodes_with("examples", spec["components"]):
        schema = {"$ref": "urn:openapi#" + pointer("components", *where)}
        validator = Draft202012Validator(
            schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for value in node["examples"]:
            assert validator.is_valid(value), ("/".join(where), value)
            checked += 1
    assert checked > 100


# A body whose example, as /docs builds it from the fields' own, breaks a rule: realtime's 60 buckets (it
# shows one).
EXAMPLES_NOT_TAKEN = {"TrackRealtime"}


def test_the_example_of_every_body_is_valid_for_its_schema(spec: dict[str, Any]) -> None:
    """The examples /docs shows, built from the fields' own (api/pages/docs.py)."""
    registry = registry_of(spec)
    for name, schema in spec["components"]["schemas"].items():
        if name in EXAMPLES_NOT_TAKEN:
            continue
        validator = Draft202012Validator(
            {"$ref": "urn:openapi#" + pointer("components", "schemas", name)},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        value = example(spec, schema)
        assert [e.message for e in validator.iter_errors(value)] == [], (name, value)


def test_an_export_body_is_required_exactly_where_it_has_a_required_field(spec: dict[str, Any]) -> None:
    exports = [(path, m) for path, m in operations(spec) if path.startswith(INSIGHTS + "/export/")]
    for path, method in exports:
        body = spec["paths"][path][method].get("requestBody")
        if body is not None:  # no body at all is `{}`: refused only when a field must be there
            schema = resolve(spec, body["content"]["application/json"]["schema"])
            assert body["required"] is bool(schema.get("required")), path


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE", "PATCH"])
def test_a_method_a_path_does_not_serve_gets_405_listing_every_method_it_does(
    client: TestClient, spec: dict[str, Any], method: str
) -> None:
    for path, item in spec["paths"].items():
        url = re.sub(r"{\w+}", "7", path)
        answer = client.request(method, url, headers=bearer("admin"))
        documented = {m.upper() for m in item} | ({"HEAD"} if "get" in item else set())
        assert answer.status_code == 405, (method, path)
        assert set(answer.headers["Allow"].split(", ")) == documented, (method, path)
        assert answer.json()["error"] == "method_not_allowed"


def test_a_revocation_with_a_field_it_does_not_have_is_refused(client: TestClient) -> None:
    body = {"token_id": "5f0c6b1e", "reasn": "leaked"}
    answer = client.post("/api/v1/tokens/revocations", json=body, headers=bearer("admin"))
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "reasn", "message": "Unknown field 'reasn': a revocation has only token_id and reason."}
    ]


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"period": "7-days", "artist_id": 1}, True),
        ({"artist_id": 1, "album_id": None, "track_id": None}, True),
        ({"artist_id": 1, "track_id": 101}, False),
        ({"album_id": 10, "track_id": 101, "artist_id": None}, False),
    ],
)
def test_an_export_body_names_one_entity_at_most_as_the_code_says(
    spec: dict[str, Any], client: TestClient, body: dict[str, Any], valid: bool
) -> None:
    schema = {"$ref": "urn:openapi#/components/schemas/PdfRequest"}
    validator = Draft202012Validator(schema, registry=registry_of(spec))
    assert validator.is_valid(body) is valid
    answer = client.post(f"{INSIGHTS}/export/pdf", json=body, headers=bearer("insights:read"))
    assert (answer.status_code == 422) is not valid  # (the valid ones go on to the store)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"type": "tracks"}, True),
        ({"type": "tracks", "include_breakdowns": False}, True),
        ({"type": "tracks", "layout": "breakdowns", "include_breakdowns": True}, True),
        ({"type": "tracks", "include_breakdowns": True}, False),
        ({"type": "tracks", "layout": "entities", "include_breakdowns": True}, False),
    ],
)
def test_a_csv_body_asks_for_breakdowns_only_as_rows_as_the_code_says(
    spec: dict[str, Any], client: TestClient, body: dict[str, Any], valid: bool
) -> None:
    operation = spec["paths"][f"{INSIGHTS}/export/csv"]["post"]
    schema = {
        "$ref": "urn:openapi" + operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    }
    validator = Draft202012Validator(schema, registry=registry_of(spec))
    assert validator.is_valid(body) is valid
    answer = client.post(f"{INSIGHTS}/export/csv", json=body, headers=bearer("insights:read"))
    assert (answer.status_code == 422) is not valid  # (the valid ones go on to the store)
