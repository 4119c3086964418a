"""The ingest edge against a real broker that goes away: 503 + Retry-After, never a false 202."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.ingest.publisher import Publisher, ensure_topic
from insights.dev.kafka_local import LocalKafka
from insights.store import Store
from schemas.topics import EVENTS_TOPIC
from tests.integration.harness import SECRET, token

pytestmark = pytest.mark.integration


def batch() -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    event = {"event_id": "e", "type": "play", "track_id": 1, "listener_id": "u", "occurred_at": now}
    return {"events": [event]}


def test_ingest_answers_503_while_kafka_is_down(local_kafka: LocalKafka, embedded_store: Store) -> None:
    publisher = Publisher(local_kafka.bootstrap, send_timeout=3)
    with TestClient(create_app(embedded_store, publisher, SECRET)) as client:
        client.portal.call(ensure_topic, local_kafka.bootstrap, EVENTS_TOPIC, 2)
        client.portal.call(publisher.start)
        headers = {"Authorization": f"Bearer {token('events:write')}"}
        assert client.post("/api/v1/events", json=batch(), headers=headers).status_code == 202
        assert client.get("/readyz").status_code == 200

        local_kafka.stop()
        down = client.post("/api/v1/events", json=batch(), headers=headers)
        assert down.status_code == 503
        assert down.headers["Retry-After"].isdigit()
        assert down.json()["error"] == "unavailable"
        assert client.get("/readyz").status_code == 503
        client.portal.call(publisher.stop)
