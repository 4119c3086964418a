"""Realtime before the flush, on a real broker and engine: while realtime is asked, a track's realtime
counts a play as soon as its 202 is sent, from the events the API accepted (api/read/unflushed.py),
and counts it once while the worker stores it and after; a repeat of an id already stored is not
counted, even by an API that never saw the first copy."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import ApiOptions, create_app
from api.ingest.publisher import Publisher
from insights.dev.kafka_local import LocalKafka
from insights.runner import ensure_topics
from insights.settings import Settings
from insights.store import Store
from pipeline.worker import Worker
from tests.integration import reference
from tests.integration.harness import INSIGHTS, SECRET, UNLIMITED, token

pytestmark = pytest.mark.integration

ARTIST, TRACK, OTHER = 8901, 890101, 890102
READER = {"Authorization": f"Bearer {token('insights:read', artists=(ARTIST,))}"}
WRITER = {"Authorization": f"Bearer {token('events:write')}"}


class Clock:
    """The response cache's clock, moved by hand: every read below is past the last one's max-age."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def event(kind: str, listener: str, age: timedelta, track: int = TRACK, event_id: str = "") -> dict[str, Any]:
    at = datetime.now(UTC) - age
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "type": kind,
        "track_id": track,
        "listener_id": listener,
        "occurred_at": at.isoformat(),
    }


@dataclass
class Api:
    client: httpx.AsyncClient
    clock: Clock

    async def post(self, events: list[dict[str, Any]]) -> None:
        answer = await self.client.post("/api/v1/events", json={"events": events}, headers=WRITER)
        assert answer.status_code == 202, answer.text

    async def realtime(self, track: int = TRACK) -> dict[str, Any]:
        self.clock.now += 2  # past the kept answer's max-age: computed again
        answer = await self.client.get(f"{INSIGHTS}/tracks/{track}/realtime", headers=READER)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data


def expected(events: list[dict[str, Any]], data: dict[str, Any], track: int = TRACK) -> dict[str, Any]:
    as_of = datetime.fromisoformat(data["as_of"])
    return reference.realtime(events, track, as_of)


def figures(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("active_listeners", "plays_last_5m", "plays_last_60m", "series")}


@contextlib.asynccontextmanager
async def served(store: Store, publisher: Publisher) -> AsyncIterator[Api]:
    """An API of its own (nothing accepted yet) on the shared broker and store."""
    clock = Clock()
    app = create_app(store, publisher, SECRET, ApiOptions(limits=UNLIMITED, clock=clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://insights"
    ) as client:
        yield Api(client, clock)


@contextlib.asynccontextmanager
async def broker(
    kafka: LocalKafka, store: Store, tmp_path: Path
) -> AsyncIterator[tuple[Settings, Publisher]]:
    store.insert("artists", [(ARTIST, "Ida Moss", 1)], ("artist_id", "name", "version"))
    store.insert(
        "tracks",
        [(TRACK, "Low Tide", None, [ARTIST], 1), (OTHER, "High Tide", None, [ARTIST], 1)],
        ("track_id", "title", "album_id", "artist_ids", "version"),
    )
    settings = Settings.from_env(env={"INSIGHTS_TOPIC_PARTITIONS": "3"}, data_dir=tmp_path)
    await ensure_topics(settings, kafka.bootstrap)
    publisher = Publisher(kafka.bootstrap)
    await publisher.start()
    try:
        yield settings, publisher
    finally:
        await publisher.stop()


@contextlib.asynccontextmanager
async def working(settings: Settings, store: Store, bootstrap: str) -> AsyncIterator[None]:
    """A worker storing what was accepted, for the length of the block."""
    worker = Worker(settings, store, bootstrap)
    await worker.start()
    try:
        yield
    finally:
        await worker.stop()


def stored_plays(store: Store, track: int = TRACK) -> int:
    ((plays,),) = store.query_rows(
        "SELECT sum(plays) FROM track_realtime WHERE track_id = {track:UInt64}", {"track": track}
    )
    return int(plays)


async def until(check: Callable[[], bool], seconds: float = 60.0) -> None:
    async with asyncio.timeout(seconds):
        for _ in itertools.count():  # polled: the worker says nothing when it has stored a message
            if check():
                return
            await asyncio.sleep(0.1)


def test_realtime_counts_an_accepted_event_before_its_flush_and_once_while_and_after_it_is_stored(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with (
            broker(kafka, clean_store, tmp_path) as (settings, publisher),
            served(clean_store, publisher) as api,
        ):
            first = [
                event("play", "ana", timedelta(seconds=5)),
                event("play", "ben", timedelta(minutes=3)),
                event("heartbeat", "cleo", timedelta(seconds=30)),
                event("play", "ana", timedelta(minutes=20)),
                event("play", "dev", timedelta(minutes=59)),
                event("play", "eve", timedelta(hours=2)),  # too old for realtime
                event("like", "ana", timedelta(seconds=5)),
                event("play", "fay", timedelta(seconds=5), track=OTHER),
            ]
            first.append(dict(first[1]))  # a repeat in the same batch
            second = [dict(first[0]), event("play", "gus", timedelta(seconds=1))]  # and in another
            sent = first + second
            assert (await api.realtime())["plays_last_60m"] == 0  # a dashboard opened: realtime is asked
            await api.post(first)
            await api.post(second)

            # Nothing is stored: no worker runs yet.
            assert stored_plays(clean_store) == 0
            data = await api.realtime()
            assert figures(data) == expected(sent, data)
            assert (data["plays_last_60m"], data["active_listeners"]) == (5, 4)

            async with working(settings, clean_store, kafka.bootstrap):
                # While the worker stores them, and after: every answer counts each play once.
                answers = []
                while stored_plays(clean_store) < 5:
                    answers.append(await api.realtime())
                    await asyncio.sleep(0.02)
                answers.append(await api.realtime())
                assert all(figures(a) == expected(sent, a) for a in answers), answers
                other = await api.realtime(OTHER)
                assert figures(other) == expected(sent, other, OTHER)

    asyncio.run(scenario())


def test_a_repeat_of_a_stored_id_is_not_counted_by_an_api_that_never_saw_its_first_copy(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with broker(kafka, clean_store, tmp_path) as (settings, publisher):
            first = [
                event("play", "ana", timedelta(seconds=10)),
                event("heartbeat", "ben", timedelta(seconds=9)),
            ]
            async with working(settings, clean_store, kafka.bootstrap), served(clean_store, publisher) as api:
                await api.post(first)
                await until(lambda: stored_plays(clean_store) == 1)

            # Another API (a restart, or another process): it never saw the first copies.
            async with served(clean_store, publisher) as api:
                again = [dict(first[0], listener_id="zed"), dict(first[1], listener_id="yul")]
                new = event("play", "cleo", timedelta(seconds=2))
                assert (await api.realtime())["plays_last_60m"] == 1
                await api.post([*again, new])
                sent = [*first, *again, new]
                data = await api.realtime()
                assert figures(data) == expected(sent, data)
                assert (data["plays_last_60m"], data["active_listeners"]) == (2, 3)

                async with working(settings, clean_store, kafka.bootstrap):
                    await until(lambda: stored_plays(clean_store) == 2)
                    data = await api.realtime()
                    assert figures(data) == expected(sent, data)

    asyncio.run(scenario())


def test_a_track_outside_the_catalog_has_a_realtime_from_its_first_accepted_event(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    stray = 890199  # in no catalog: known once it has events (to admin only), to realtime once accepted
    admin = {"Authorization": f"Bearer {token('admin')}"}

    async def scenario() -> None:
        async with (
            broker(kafka, clean_store, tmp_path) as (_, publisher),
            served(clean_store, publisher) as api,
        ):
            path = f"{INSIGHTS}/tracks/{stray}/realtime"
            assert (await api.client.get(path, headers=admin)).status_code == 404
            sent = [event("play", "ana", timedelta(seconds=3), track=stray)]
            await api.post(sent)
            answer = await api.client.get(path, headers=admin)
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            assert figures(data) == expected(sent, data, stray) and data["plays_last_60m"] == 1

    asyncio.run(scenario())
