"""Shared pieces of the fault-injection tests: a stream of events, a sender that survives crashes of
`insights up`, and the exact-count check against the reference model."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.integration import reference
from tests.integration.harness import INSIGHTS, UpProcess, eventually, token

Event = dict[str, Any]


def event_stream(count: int, seed: int, tracks: int = 24, max_age_days: int = 20) -> list[Event]:
    """`count` events on `tracks` tracks of their own, with 5 % exact repeats, shuffled."""
    rng = random.Random(seed)
    first_track = rng.randint(10**9, 10**12)
    now = datetime.now(UTC)
    events = []
    for _ in range(int(count * 0.95)):
        events.append(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "type": rng.choices(["play", "like", "repost", "heartbeat"], weights=[10, 2, 1, 2])[0],
                "track_id": first_track + rng.randrange(tracks),
                "listener_id": f"listener-{rng.randrange(800)}",
                "occurred_at": (now - timedelta(seconds=rng.randint(60, max_age_days * 86400))).isoformat(),
            }
        )
    events += rng.choices(events, k=count - len(events))
    rng.shuffle(events)
    return events


def track_ids(events: list[Event]) -> list[int]:
    return sorted({e["track_id"] for e in events})


class CrashTolerantSender:
    """Posts batches like a player would: on a dead connection or a 503 it waits and retries the
    same batch, restarting `insights up` if it died; counts the 202s and the restarts."""

    def __init__(self, up: UpProcess, restart: Callable[[], None] | None = None) -> None:
        self.up = up
        self.restart = restart or up.start
        self.restarts = 0
        self.unavailable = 0
        self.accepted = 0
        self.restart_seconds: list[float] = []  # from noticing the crash to ready again

    def send(
        self, events: list[Event], batch: int = 1000, between: Callable[[int], None] | None = None
    ) -> None:
        for number, start in enumerate(range(0, len(events), batch)):
            self.post_until_accepted(events[start : start + batch])
            if between is not None:
                between(number)

    def post_until_accepted(self, chunk: list[Event], deadline_s: float = 240.0) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            try:
                with self.up.client(token("events:write")) as client:
                    response = client.post("/api/v1/events", json={"events": chunk})
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 202:
                self.accepted += response.json()["data"]["accepted"]
                return
            if response is not None and response.status_code == 503:
                assert response.headers["Retry-After"].isdigit()
                self.unavailable += 1
                time.sleep(0.5)
                continue
            assert response is None, response.text
            if self.up.process is not None and self.up.process.poll() is not None:
                self.up.process = None
            if self.up.process is None:
                self.restarts += 1
                started = time.monotonic()
                self.restart()
                self.restart_seconds.append(time.monotonic() - started)
            else:
                time.sleep(0.2)
        raise AssertionError("a batch was never accepted")


def totals(up: UpProcess, track_id: int) -> dict[str, Any]:
    with up.client(token("admin")) as client:
        response = client.get(f"{INSIGHTS}/tracks/{track_id}", params={"period": "1-year"})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return {k: data[k] for k in ("plays", "listeners", "engagement", "growth")}


def expected_totals(events: list[Event], track_id: int) -> dict[str, Any]:
    return reference.analytics(events, [track_id], 365, datetime.now(UTC).date())


def assert_counted_exactly_once(up: UpProcess, events: list[Event], timeout: float = 180.0) -> None:
    """Wait until the first track is complete, then every track must match exactly."""
    tracks = track_ids(events)
    expected = {t: expected_totals(events, t) for t in tracks}

    def all_counted() -> bool:
        return all(totals(up, t)["plays"] == expected[t]["plays"] for t in tracks)

    started = time.monotonic()
    eventually(all_counted, timeout=timeout, interval=1.0)
    # A figure for the closing notes, shown with `pytest -s` (not a timing assertion).
    print(f"\n[recovery] every event counted {time.monotonic() - started:.1f} s after the last 202")
    time.sleep(1.5)  # anything counted twice would show up now
    for t in tracks:
        assert totals(up, t) == expected[t], t
