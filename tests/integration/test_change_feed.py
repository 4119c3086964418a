"""Answers kept until their tracks change, end to end on a real broker and engine: the Faust worker
announces each durable flush on insights.changes, the API follows the topic, serves a kept answer with
no statement while its tracks are unchanged, and computes it again once a notice names one of them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from api.app import ApiOptions, create_app
from api.ingest.publisher import Publisher, ensure_topic
from api.read.analytics_routes import ANALYTICS_MAX_AGE, ANALYTICS_REFRESH_AFTER
from api.read.changes import ChangeFeed, TrackChanges
from insights.dev.kafka_local import LocalKafka
from insights.runner import ensure_topics
from insights.settings import Settings
from insights.store import Store
from pipeline.worker import Worker
from schemas.changes import ChangeNotice, decode_notice, encode_notice
from schemas.events import Event, encode_batch
from schemas.topics import CHANGES_TOPIC, EVENTS_TOPIC
from tests.integration.harness import INSIGHTS, SECRET, UNLIMITED, token
from tests.integration.statements import Statements

pytestmark = pytest.mark.integration

ARTIST, KEPT, OTHER = 8801, 880101, 880102

ANOTHER_TRACK = "a change to another track keeps the answer"


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 60.0) -> None:
    async with asyncio.timeout(seconds):
        for _ in itertools.count():  # polled: the worker and the feed say nothing when they are done
            if await check():
                return
            await asyncio.sleep(0.2)


def plays(track: int, count: int, first: int) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(f"feed-{track}-{first + n}", "play", track, f"listener-{n % 7}", now - timedelta(minutes=n))
        for n in range(count)
    ]


async def written_notices(bootstrap: str) -> list[ChangeNotice]:
    consumer = AIOKafkaConsumer(
        CHANGES_TOPIC, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        fetched = await consumer.getmany(timeout_ms=5000)
        return [decode_notice(r.value or b"") for records in fetched.values() for r in records]
    finally:
        await consumer.stop()


async def notices(bootstrap: str) -> list[tuple[set[int], bool]]:
    return [(set(n.tracks), n.everything) for n in await written_notices(bootstrap)]


def utc_day(event: Event) -> int:
    return (event.occurred_at.astimezone(UTC).date() - date(1970, 1, 1)).days


@dataclass
class Running:
    """A worker announcing its flushes, and an app following the notices, on one broker and store."""

    publisher: Publisher
    changes: TrackChanges
    feed: ChangeFeed
    client: httpx.AsyncClient

    async def post(self, events: list[Event]) -> None:
        await self.publisher.publish(EVENTS_TOPIC, [(events[0].event_id.encode(), encode_batch(events))])

    async def post_announced(self, track: int, events: list[Event]) -> None:
        """Post `events` (of `track`) and wait until the feed has applied the notice naming it."""
        version = self.changes.version([track])
        await self.post(events)

        async def announced() -> bool:
            return self.changes.version([track]) != version

        await until(announced)

    async def figure(self, path: str, *keys: str) -> int:
        """A figure of a 200 answer: `data`, then `keys` in turn."""
        answer = await self.client.get(f"{INSIGHTS}{path}", headers=HEADERS)
        assert answer.status_code == 200, answer.text
        value = answer.json()["data"]
        for key in keys:
            value = value[key]
        return int(value)


@contextlib.asynccontextmanager
async def running(
    kafka: LocalKafka, store: Store, tmp_path: Path, options: ApiOptions
) -> AsyncIterator[Running]:
    store.insert("artists", [(ARTIST, "Ida Moss", 1)], ("artist_id", "name", "version"))
    store.insert(
        "tracks",
        [(KEPT, "Low Tide", None, [ARTIST], 1), (OTHER, "High Tide", None, [ARTIST], 1)],
        ("track_id", "title", "album_id", "artist_ids", "version"),
    )
    settings = Settings.from_env(env={"INSIGHTS_TOPIC_PARTITIONS": "3"}, data_dir=tmp_path)
    await ensure_topics(settings, kafka.bootstrap)
    publisher = Publisher(kafka.bootstrap)
    await publisher.start()
    changes = TrackChanges()
    feed = ChangeFeed(kafka.bootstrap, CHANGES_TOPIC, changes)
    await feed.start()
    worker = Worker(settings, store, kafka.bootstrap)
    await worker.start()
    app = create_app(store, publisher, SECRET, options, changes)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://insights")
    try:
        await feed.until_current()
        yield Running(publisher, changes, feed, client)
    finally:
        await client.aclose()
        await worker.stop()
        await feed.stop()
        await publisher.stop()


HEADERS = {"Authorization": f"Bearer {token('insights:read', artists=(ARTIST,))}"}


def test_an_answer_is_kept_until_the_worker_announces_a_change_to_its_tracks(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(kafka, clean_store, tmp_path, ApiOptions(limits=UNLIMITED)) as up:

            async def plays_of(track: int) -> int:
                # Past the response cache's max-age, so the handler answers (from the memo or the store).
                await asyncio.sleep(ANALYTICS_MAX_AGE + 0.1)
                return await up.figure(f"/tracks/{track}", "plays", "total")

            statements = Statements(clean_store, monkeypatch)
            # Announced before it is asked: a notice applied after the answer is kept drops it again.
            first = plays(KEPT, 5, 0)
            await up.post_announced(KEPT, first)

            async def five_counted() -> bool:
                return await plays_of(KEPT) == 5

            await until(five_counted)
            unchanged = "an unchanged track's answer is served without a statement"
            assert await statements.kept(plays_of(KEPT), unchanged) == 5

            await up.post_announced(OTHER, plays(OTHER, 3, 0))
            assert await statements.kept(plays_of(KEPT), ANOTHER_TRACK) == 5

            await up.post(plays(KEPT, 4, 5))

            async def nine_counted() -> bool:
                return await plays_of(KEPT) == 9

            await until(nine_counted, seconds=30)

            await up.feed.stop()
            value, ran = await statements.answering_during(plays_of(KEPT))
            assert value == 9
            assert ran > 0, "without the feed, answers are computed"
            announced = await notices(kafka.bootstrap)
            assert set().union(*(tracks for tracks, _ in announced)) == {KEPT, OTHER}
            assert all(tracks for tracks, _ in announced)
            # Each track named with the first UTC day of its events in the flush.
            first_notice = (await written_notices(kafka.bootstrap))[0]
            assert first_notice.tracks == (KEPT,) and first_notice.days == (min(map(utc_day, first)),)

    asyncio.run(scenario())


def test_a_kept_realtime_answer_gives_way_as_soon_as_its_track_is_announced(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The response cache's clock stands still: no kept answer ever grows old, so only a change notice
    # can make the realtime answer be read again.
    options = ApiOptions(limits=UNLIMITED, clock=lambda: 0.0)

    async def scenario() -> None:
        async with running(kafka, clean_store, tmp_path, options) as up:

            async def realtime_plays(track: int) -> int:
                return await up.figure(f"/tracks/{track}/realtime", "plays_last_60m")

            statements = Statements(clean_store, monkeypatch)
            assert await realtime_plays(KEPT) == 0
            assert await statements.kept(realtime_plays(KEPT)) == 0

            await up.post_announced(OTHER, plays(OTHER, 2, 0))
            assert await statements.kept(realtime_plays(KEPT), ANOTHER_TRACK) == 0

            await up.post(plays(KEPT, 1, 0))

            async def counted() -> bool:
                return await realtime_plays(KEPT) == 1

            await until(counted, seconds=30)

    asyncio.run(scenario())


def test_the_feed_is_not_trusted_while_the_broker_is_down_and_follows_again_after(
    local_kafka: LocalKafka,
) -> None:
    async def scenario() -> None:
        await ensure_topic(local_kafka.bootstrap, CHANGES_TOPIC, 1)
        changes = TrackChanges()
        feed = ChangeFeed(local_kafka.bootstrap, CHANGES_TOPIC, changes)
        await feed.start()
        producer = AIOKafkaProducer(bootstrap_servers=local_kafka.bootstrap)
        try:
            await feed.until_current()
            await producer.start()
            before = changes.version([KEPT])
            await producer.send_and_wait(CHANGES_TOPIC, encode_notice([KEPT]))

            async def counted() -> bool:
                now = changes.version([KEPT])
                return before is not None and now is not None and now > before

            await until(counted, seconds=10)

            await asyncio.to_thread(local_kafka.stop)

            async def distrusted() -> bool:
                return changes.version([KEPT]) is None

            await until(distrusted, seconds=10)

            await asyncio.to_thread(local_kafka.start)
            await feed.until_current(seconds=90)
            resumed = changes.version([KEPT])
            await producer.send_and_wait(CHANGES_TOPIC, encode_notice([KEPT, OTHER]))

            async def counted_again() -> bool:
                version = changes.version([KEPT])
                moved = version is not None and (resumed is None or version > resumed)
                return moved and changes.version([OTHER]) is not None

            await until(counted_again, seconds=30)
            # Whatever the feed missed or restarted from, a notice after the outage moves the version.
            before = changes.version([OTHER])
            await producer.send_and_wait(CHANGES_TOPIC, encode_notice([OTHER]))

            async def moved() -> bool:
                return changes.version([OTHER]) not in (None, before)

            await until(moved, seconds=10)
        finally:
            await producer.stop()
            await feed.stop()

    asyncio.run(scenario())


def test_a_kept_analytics_answer_whose_track_changed_is_refreshed_once_a_second_old(
    kafka: LocalKafka, clean_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The response cache's clock is moved by hand, and stays short of the refresh ahead of expiry
    # (1.5 s): only the change makes the answer be computed again.
    now = [0.0]
    options = ApiOptions(limits=UNLIMITED, clock=lambda: now[0])

    async def scenario() -> None:
        async with running(kafka, clean_store, tmp_path, options) as up:

            async def total_plays() -> int:
                return await up.figure(f"/tracks/{KEPT}", "plays", "total")

            statements = Statements(clean_store, monkeypatch)
            assert await total_plays() == 0
            await up.post_announced(KEPT, plays(KEPT, 3, 0))
            value = await statements.kept(total_plays())
            assert value == 0, "younger than a second, the kept answer is served as it is"

            now[0] = ANALYTICS_REFRESH_AFTER + 0.1

            async def counted() -> bool:
                return await total_plays() == 3

            await until(counted, seconds=30)

    asyncio.run(scenario())
