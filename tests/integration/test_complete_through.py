"""`complete_through` end to end on a real broker and engine: events posted through the API are
counted in every answer that claims an instant after their 202; a worker frozen mid-write holds the
claim back; once the pipeline is idle the claim is within a few seconds of now, also for answers
kept unchanged (the memo, the response cache), which are renewed rather than computed again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import ApiOptions, create_app
from api.ingest.publisher import Publisher
from api.read.changes import ChangeFeed, TrackChanges
from api.read.watermark import Watermark, WatermarkFeed
from insights.dev.kafka_local import LocalKafka
from insights.metrics import COMPLETE_THROUGH_LAG, KEPT_ANSWERS
from insights.store import Store
from schemas.topics import CHANGES_TOPIC
from tests.integration.harness import INSIGHTS, SECRET, UNLIMITED, token
from tests.integration.workers import PausedFlush, WorkerGroup, settings_for

pytestmark = pytest.mark.integration

ARTIST, TRACK = 9901, 990101
READ = {"Authorization": f"Bearer {token('insights:read', artists=(ARTIST,))}"}
WRITE = {"Authorization": f"Bearer {token('events:write')}"}


async def until(check: Callable[[], Awaitable[Any]], seconds: float = 60.0) -> Any:
    async with asyncio.timeout(seconds):
        while True:  # polled: nothing tells when the worker is done
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.2)


def instant(text: str | None) -> float:
    assert text is not None
    return datetime.fromisoformat(text).timestamp()


def play(n: int) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(minutes=1)
    return {
        "event_id": f"ct-{n}",
        "type": "play",
        "track_id": TRACK,
        "listener_id": f"fan-{n}",
        "occurred_at": at.isoformat(),
    }


def test_complete_through_covers_exactly_what_is_counted(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path
) -> None:
    clean_store.insert("artists", [(ARTIST, "Ola Reed", 1)], ("artist_id", "name", "version"))
    clean_store.insert(
        "tracks",
        [(TRACK, "Salt", None, [ARTIST], 1)],
        ("track_id", "title", "album_id", "artist_ids", "version"),
    )

    async def scenario() -> None:
        group = WorkerGroup(settings_for(tmp_path), clean_store, kafka.bootstrap)
        worker = await group.start()
        publisher = Publisher(kafka.bootstrap)
        await publisher.start()
        changes = TrackChanges()
        feed = ChangeFeed(kafka.bootstrap, CHANGES_TOPIC, changes)
        await feed.start()
        watermark = Watermark()
        rounds = WatermarkFeed(clean_store, kafka.bootstrap, watermark)
        await rounds.start()
        app = create_app(
            clean_store, publisher, SECRET, ApiOptions(limits=UNLIMITED), changes, watermark=watermark
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://insights")

        async def post(n: int) -> float:
            answer = await client.post("/api/v1/events", json={"events": [play(n)]}, headers=WRITE)
            assert answer.status_code == 202, answer.text
            return time.time()  # the 202 is in hand: accepted before this instant

        async def read(path: str = f"/tracks/{TRACK}", **params: str) -> tuple[float | None, int]:
            answer = await client.get(INSIGHTS + path, params=params, headers=READ)
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            plays = data["plays"]["total"] if "plays" in data else sum(p["plays"] for p in data["series"])
            through = data["complete_through"]
            return (None if through is None else instant(through)), plays

        async def counted_once_claimed(accepted: float, plays: int) -> bool:
            """Whenever an answer claims an instant after the 202, the event is counted in it."""
            through, counted = await read()
            if through is not None and through > accepted:
                assert counted == plays, f"complete through {through}, after {accepted}, counts {counted}"
                return True
            assert counted <= plays
            return False

        try:
            await feed.until_current()
            first = await post(1)
            await until(lambda: counted_once_claimed(first, 1))

            with PausedFlush(worker.sink) as paused:
                second = await post(2)
                await until(lambda: asyncio.sleep(0, paused.paused.is_set()))

                async def sampled_past_the_second() -> bool:  # Kafka was asked at least twice since
                    return bool(watermark._samples) and watermark._samples[-1][0] > second + 1.0

                await until(sampled_past_the_second, 30)
                for _ in range(3):
                    through, counted = await read()
                    assert through is not None and first < through < second and counted == 1
            await until(lambda: counted_once_claimed(second, 2))

            async def idle_and_current() -> bool:
                through, _ = await read()
                return through is not None and time.time() - through < 3.0

            await until(idle_and_current, 20)
            assert COMPLETE_THROUGH_LAG._value.get() < 3.0  # what operators see (docs/operations.md)
            computed = KEPT_ANSWERS.labels(served="computed")._value.get()
            through, _ = await read(timeframe="1y", path=f"/tracks/{TRACK}/charts")  # kept 30 s

            async def renewed() -> bool:
                later, counted = await read(timeframe="1y", path=f"/tracks/{TRACK}/charts")
                assert counted == 2
                return later is not None and through is not None and later > through + 1.0

            await until(renewed, 20)
            await until(idle_and_current, 20)
            assert KEPT_ANSWERS.labels(served="computed")._value.get() <= computed + 1  # the chart, once
        finally:
            await client.aclose()
            await rounds.stop()
            await feed.stop()
            await group.stop_all()
            await publisher.stop()

    asyncio.run(scenario())


def test_a_starting_process_answers_with_the_stored_claim_before_kafka_answers(clean_store: Store) -> None:
    """A feed stores its claim when it stops; the next process (here with no Kafka at all) answers with it
    at once instead of `null`, and the answer it gives is that claim, to the millisecond."""
    nowhere = "127.0.0.1:9"  # no broker: only the stored claim can give an answer

    async def scenario() -> tuple[float | None, float | None]:
        measured = Watermark()
        measured.observe({0: 4}, 1_700_000_000.1234, {0: 4})  # what the rounds of a process measured
        first = WatermarkFeed(clean_store, nowhere, measured)
        await first.start()
        await first.stop()
        recalled = Watermark()
        second = WatermarkFeed(clean_store, nowhere, recalled)
        await second.start()
        try:
            await until(lambda: asyncio.sleep(0, recalled.through is not None), 20)
        finally:
            await second.stop()
        return measured.through, recalled.through

    measured, recalled = asyncio.run(scenario())
    assert measured == 1_700_000_000.1234 and recalled == 1_700_000_000.123  # rounded down, as answered
    ((claims,),) = clean_store.query_rows("SELECT count() FROM complete_through_claims")
    assert claims == 1, "a claim is stored only when newer than the one last stored"
