"""A read while ClickHouse is unreachable answers 503 with Retry-After, never a 500."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.exceptions import OperationalError
from starlette.testclient import TestClient

from api.app import create_app
from insights.store import Store
from schemas.tokens import create_token

SECRET = "unit-test-secret-of-a-reasonable-length"


class UnreachableStore(Store):
    def query_rows(
        self, sql: str, parameters: dict[str, Any] | None = None, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        raise OperationalError("Connection refused to clickhouse:8123 (user=app password=hunter2)")


def test_reads_answer_503_when_clickhouse_is_unreachable() -> None:
    store = UnreachableStore("http://nowhere:8123")
    app = create_app(store, publisher=None, secret=SECRET)  # type: ignore[arg-type]
    bearer = create_token(SECRET, scopes=["insights:read"])
    with TestClient(app) as client:
        response = client.get(
            "/api/v1/producer-intelligence/insights/tracks/1",
            headers={"Authorization": f"Bearer {bearer}"},
        )
    store.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"] == "unavailable"
    assert "hunter2" not in response.text and "clickhouse:8123" not in response.text
