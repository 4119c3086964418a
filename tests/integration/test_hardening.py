"""The API on the internet: fuzzed from its own OpenAPI document (no input gets a 500, every error has
the API's error shape), hostile JSON, and no SQL ever built from input."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from starlette.testclient import TestClient

from api.app import ApiOptions, create_app
from api.ingest.publisher import Publisher, ensure_topic
from insights.dev.kafka_local import LocalKafka
from insights.store import Store
from schemas.openapi import openapi_document
from schemas.topics import CATALOG_TOPIC, EVENTS_TOPIC
from tests.integration.harness import INSIGHTS, SECRET, UNLIMITED, token

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ERROR_KEYS = {"success", "message", "error", "errors", "retry_after"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    kafka = LocalKafka(tmp_path_factory.mktemp("fuzz") / "kafka", partitions=1)
    kafka.start()
    yield kafka
    kafka.stop()


@pytest.fixture(scope="module")
def client(broker: LocalKafka, embedded_store: Store) -> Iterator[TestClient]:
    """The real app on the real engines; fuzzed events really go to Kafka (no worker reads them)."""
    publisher = Publisher(broker.bootstrap)
    app = create_app(embedded_store, publisher, SECRET, ApiOptions(limits=UNLIMITED))
    with TestClient(app) as client:
        for topic in (EVENTS_TOPIC, CATALOG_TOPIC):
            client.portal.call(ensure_topic, broker.bootstrap, topic, 1)
        client.portal.call(publisher.start)
        yield client
        client.portal.call(publisher.stop)


schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@hypothesis.settings(
    max_examples=25,
    derandomize=True,  # the same cases every run: CI never fails on a draw it has not seen before
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_no_input_gets_a_server_error_and_every_error_has_the_contract_shape(
    case: Any, client: TestClient
) -> None:
    # Sent through the module's client, whose event loop the Kafka producer belongs to.
    request = case.as_transport_kwargs(headers={"Authorization": f"Bearer {token('admin')}"})
    request.pop("cookies", None)  # the API reads none
    # Generated header values may hold any character: send them as UTF-8 bytes, as a client could.
    request["headers"] = {name: str(value).encode() for name, value in request["headers"].items()}
    if "json" in request:
        request["content"] = json.dumps(request.pop("json")).encode()
    if "data" in request:
        request["content"] = request.pop("data")
    response = client.request(**request)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
    assert response.headers.get("x-request-id"), f"{case.method} {case.formatted_path}: no request id"
    assert response.headers.get("x-content-type-options") == "nosniff"
    if response.status_code >= 400:
        body = response.json()
        assert body["success"] is False and isinstance(body["message"], str), body
        assert set(body) <= ERROR_KEYS, body
        assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/catalog", "/api/v1/tokens/revocations"])
def test_deeply_nested_json_is_refused_not_crashed_on(client: TestClient, path: str) -> None:
    nested = b'{"events": ' + b"[" * 1800 + b"]" * 1800 + b"}"  # past the decoder's depth, under 4 KiB
    answer = client.post(path, content=nested, headers={"Authorization": f"Bearer {token('admin')}"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body"


class RecordingStore(Store):
    """The real store, keeping the text of every statement it is sent."""

    statements: list[str] = []

    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        RecordingStore.statements.append(sql)
        return super().query_rows(sql, parameters, binary)


def test_input_reaches_clickhouse_only_as_query_parameters(embedded_store: Store) -> None:
    marker = 918273645546372819  # an id no SQL text contains unless it was pasted in
    store = RecordingStore(embedded_store.dsn)
    store.insert("artists", [(marker, "Marker", 1)], ("artist_id", "name", "version"))
    store.insert(
        "tracks",
        [(marker, "Marker", marker, [marker], 1)],
        ("track_id", "title", "album_id", "artist_ids", "version"),
    )
    store.insert("albums", [(marker, "Marker", marker, 1)], ("album_id", "title", "artist_id", "version"))
    app = create_app(store, None, SECRET, ApiOptions(limits=UNLIMITED))  # type: ignore[arg-type]
    paths = [
        f"/tracks/{marker}",
        f"/tracks/{marker}/charts?timeframe=1y",
        f"/tracks/{marker}/realtime",
        f"/albums/{marker}",
        f"/albums/{marker}/charts",
        f"/artists/{marker}?period=1-year",
        f"/artists/{marker}/charts?timeframe=7d",
        f"/artists/{marker}/collaborations",
    ]
    try:
        with TestClient(app) as client:
            for path in paths:
                answer = client.get(INSIGHTS + path, headers={"Authorization": f"Bearer {token('admin')}"})
                assert answer.status_code == 200, answer.text
    finally:
        store.close()
    assert len(RecordingStore.statements) >= len(paths)
    assert not [sql for sql in RecordingStore.statements if str(marker) in sql]


QUERY_METHODS = {"query", "query_rows", "aquery_rows", "command", "raw_query"}


def built_sql_calls(path: Path) -> list[str]:
    """Calls that send SQL whose text interpolates anything but module constants (UPPER_CASE) or
    comes from anything but a constant or a `*_sql` builder."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        if node.func.attr not in QUERY_METHODS:
            continue
        sql = node.args[0]
        if isinstance(sql, ast.JoinedStr):
            names = [v.value for v in sql.values if isinstance(v, ast.FormattedValue)]
            if all(isinstance(n, ast.Name) and n.id.lstrip("_").isupper() for n in names):
                continue
        elif isinstance(sql, ast.Call) and getattr(sql.func, "attr", getattr(sql.func, "id", "")).endswith(
            "_sql"
        ):
            continue  # a named builder of placeholders (e.g. one per partition range), never of values
        elif not isinstance(sql, ast.BinOp | ast.Call):
            continue
        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_sql_text_is_built_from_values_in_the_code() -> None:
    sources = [p for package in ("api", "pipeline", "insights") for p in (ROOT / package).rglob("*.py")]
    assert sources
    assert [call for path in sources for call in built_sql_calls(path)] == []
