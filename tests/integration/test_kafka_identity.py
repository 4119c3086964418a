"""Losing Kafka's log under `insights up` is refused loudly, never a 202 for events that will not be
counted; an operator's `insights kafka accept-reset` resumes counting, exactly, with the catalog's
newest writes still winning across the reset."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from insights.kafka_identity import IdentityGuard, Observed, record_progress
from insights.store import Store
from schemas.topics import EVENTS_TOPIC
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token

pytestmark = pytest.mark.integration

ARTIST_A, ARTIST_B = 9_101, 9_102


def plays(track_id: int, count: int) -> list[dict[str, Any]]:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return [
        {
            "event_id": uuid.uuid4().hex,
            "type": "play",
            "track_id": track_id,
            "listener_id": f"l{n}",
            "occurred_at": at,
        }
        for n in range(count)
    ]


def catalog(client: httpx.Client, track_id: int, artist: int) -> None:
    body = {
        "artists": [{"artist_id": a, "name": f"artist {a}"} for a in (ARTIST_A, ARTIST_B)],
        "tracks": [{"track_id": track_id, "title": "moved", "album_id": None, "artist_ids": [artist]}],
    }
    assert client.post("/api/v1/catalog", json=body).status_code == 202


def total_plays(up: UpProcess, track_id: int) -> int | None:
    with up.client(token("admin")) as client:
        response = client.get(f"{INSIGHTS}/tracks/{track_id}")
    return response.json()["data"]["plays"]["total"] if response.status_code == 200 else None


def readable_by(up: UpProcess, track_id: int, artist: int) -> int:
    with up.client(token("insights:read", artists=(artist,))) as client:
        return client.get(f"{INSIGHTS}/tracks/{track_id}").status_code


def test_a_lost_kafka_log_is_refused_until_accepted_then_counted_once(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "data")
    up.start()
    before, after = 7_000_000_001, 7_000_000_002
    with up.client(token("events:write", "catalog:write")) as writer:
        catalog(writer, before, ARTIST_A)
        catalog(writer, before, ARTIST_B)  # the newest write: the track is B's
        assert writer.post("/api/v1/events", json={"events": plays(before, 5)}).status_code == 202
    eventually(lambda: total_plays(up, before) == 5 and readable_by(up, before, ARTIST_B) == 200)
    assert up.stop() == 0

    shutil.rmtree(tmp_path / "data" / "kafka" / "data")  # Kafka's log is lost
    up.start(until="/healthz")
    ready = eventually(lambda: (r := httpx.get(up.url + "/readyz")).status_code == 503 and r.json())
    assert "accept-reset" in ready["checks"]["kafka_identity"]
    with up.client(token("events:write")) as writer:
        refused = writer.post("/api/v1/events", json={"events": plays(after, 6)})
    assert refused.status_code == 503 and refused.json()["error"] == "unavailable"
    assert "accept-reset" in refused.json()["message"]

    accepted = subprocess.run(
        [sys.executable, "-m", "insights.cli", "kafka", "accept-reset", "--url", up.url, "--reason", "test"],
        env=up.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "epoch 1" in accepted.stdout
    eventually(lambda: httpx.get(up.url + "/readyz").status_code == 200)

    with up.client(token("events:write", "catalog:write")) as writer:
        catalog(writer, before, ARTIST_A)  # offset 0 of the new log, yet newer than B's write
        assert writer.post("/api/v1/events", json={"events": plays(after, 6)}).status_code == 202
    eventually(lambda: total_plays(up, after) == 6 and readable_by(up, before, ARTIST_A) == 200)
    assert total_plays(up, before) == 5
    assert readable_by(up, before, ARTIST_B) == 403
    assert up.stop() == 0


def test_offsets_stored_while_kafka_is_observed_are_not_taken_for_a_reset(clean_store: Store) -> None:
    """A flush may store offsets past the ends the guard has just seen (messages sent since): what is
    stored is read first, so a live Kafka is never judged reset, and ingest never refused for it."""
    record_progress(clean_store, 0, EVENTS_TOPIC, {0: 10})
    ends = {(EVENTS_TOPIC, 0): 10}

    async def observe() -> Observed:
        seen = Observed("c1", dict(ends))
        # Meanwhile the worker reads the next messages and stores their offsets.
        ends[EVENTS_TOPIC, 0] += 15
        await clean_store.run(record_progress, clean_store, 0, EVENTS_TOPIC, {0: ends[EVENTS_TOPIC, 0]})
        return seen

    async def verdicts() -> list[str | None]:
        guard = IdentityGuard(clean_store, "127.0.0.1:9")  # observed above, never reached
        guard.observe = observe  # type: ignore[method-assign]
        found = [(await guard.check()).problem for _ in range(3)]  # the first records cluster c1
        ends[EVENTS_TOPIC, 0] = 3  # the log really lost
        return [*found, (await guard.check()).problem]

    *live, lost = asyncio.run(verdicts())
    assert live == [None, None, None]
    assert lost is not None and "partition 0 ends at 3" in lost
