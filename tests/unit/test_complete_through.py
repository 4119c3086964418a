"""`complete_through` without Kafka or ClickHouse: the watermark's arithmetic fed by hand (instants are
plain numbers, so no clock is read), a kept answer's claim renewed only while it holds, the response
cache renewing a kept body's claim on an injected clock, and the worker's progress records."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from api.http.access import Readers
from api.read.changes import AnswerMemo, TrackChanges
from api.read.complete_through import Through
from api.read.response_cache import RESTAMP_SECONDS, CacheMiddleware, Keeping, ResponseCache
from api.read.watermark import Watermark, rfc3339_ms
from pipeline.progress import ProgressRecorder
from schemas.changes import ChangeNotice
from schemas.openapi import INSIGHTS
from schemas.tokens import TokenClaims


def test_an_instant_is_complete_once_every_partition_is_stored_up_to_its_sampled_end() -> None:
    mark = Watermark()
    mark.observe({}, 100.0, {0: 5, 1: 3})  # events accepted before 100 lie below offsets 5 and 3
    assert mark.through is None
    mark.observe({0: 5, 1: 2}, 101.0, {0: 6, 1: 3})  # partition 1 is one message short
    assert mark.through is None
    mark.observe({0: 5, 1: 3}, 102.0, {0: 7, 1: 3})
    assert mark.through == 100.0  # not 101: partition 0 then ended at 6, and 5 are stored
    mark.observe({0: 7, 1: 3}, 103.0, {0: 7, 1: 3})
    assert mark.through == 103.0


def test_an_idle_pipeline_is_complete_through_its_latest_sample() -> None:
    mark = Watermark()
    for at in (10.0, 10.5, 11.0, 11.5):
        mark.observe({0: 4, 1: 9}, at, {0: 4, 1: 9})
        assert mark.through == at


def test_a_stopped_worker_holds_the_instant_back_however_long_kafka_grows() -> None:
    mark = Watermark(max_samples=8)
    mark.observe({0: 2}, 50.0, {0: 2})
    for n in range(1, 100):  # 99 more samples, each with a message more, nothing more stored
        mark.observe({0: 2}, 50.0 + n, {0: 2 + n})
        assert mark.through == 50.0
    assert len(mark._samples) <= 8
    mark.observe({0: 60}, 150.0, {0: 101})  # the worker stored up to offset 60 and stops again
    assert mark.through is not None and mark.through <= 50.0 + 58  # the sample ending at 60: at 108
    mark.observe({0: 101}, 151.0, {0: 101})
    assert mark.through == 151.0


def test_a_recalled_claim_stands_until_a_later_one_is_measured() -> None:
    mark = Watermark()
    mark.recall(40.0)  # stored by an earlier process: true before this one has asked Kafka anything
    assert mark.through == 40.0
    mark.observe({0: 2}, 45.0, {0: 5})  # a backlog: nothing newer is known yet
    assert mark.through == 40.0
    mark.observe({0: 5}, 46.0, {0: 6})
    assert mark.through == 45.0
    mark.recall(41.0)  # an older stored claim never moves it back
    assert mark.through == 45.0


def test_progress_read_from_a_lagging_source_never_moves_it_back() -> None:
    mark = Watermark()
    mark.observe({0: 9}, 1.0, {0: 9})
    mark.observe({0: 3}, 2.0, {0: 9})  # an older reading of the progress
    assert mark.through == 2.0


def test_a_kept_answer_may_claim_only_what_the_applied_notices_confirm() -> None:
    mark = Watermark()
    mark.observe({0: 1}, 10.0, {0: 1}, changes_end=4)
    mark.observe({0: 1}, 11.0, {0: 1}, changes_end=7)  # notices 4..6 were written meanwhile
    assert mark.confirmed(applied=3) is None
    assert mark.confirmed(applied=4) == 10.0
    assert mark.confirmed(applied=7) == 11.0


def test_after_an_accepted_kafka_reset_the_new_offsets_are_compared_afresh() -> None:
    mark = Watermark()
    mark.observe({0: 500}, 1.0, {0: 500})
    mark.restart()
    mark.observe({}, 2.0, {0: 3})  # the new Kafka starts at 0: three events not stored yet
    assert mark.through == 1.0
    mark.observe({0: 3}, 3.0, {0: 3})
    assert mark.through == 3.0


def test_the_instant_is_written_to_the_millisecond_rounded_down() -> None:
    moment = datetime(2026, 11, 5, 14, 3, 27, 512_999, UTC).timestamp()
    assert rfc3339_ms(moment) == "2026-11-05T14:03:27.512Z"


def following() -> TrackChanges:
    changes = TrackChanges()
    changes.follow_while(lambda: True)
    return changes


def test_a_kept_answer_renews_its_claim_until_one_of_its_tracks_changes() -> None:
    changes, mark = following(), Watermark()
    memo = AnswerMemo(changes)

    async def compute() -> int:
        return 42

    async def ask() -> Through:
        through = Through(mark, memo)
        held = await memo.held("track 1", (1,), compute)
        through.note(20.0, lambda: memo.holds("track 1", (1,), held.kept))
        return through

    through = asyncio.run(ask())
    changes.applied = 5
    mark.observe({0: 1}, 25.0, {0: 1}, changes_end=5)
    assert through.renewed() == '"1970-01-01T00:00:25.000Z"'
    mark.observe({0: 1}, 26.0, {0: 1}, changes_end=6)  # notice 5 not applied yet: 26 is not confirmed
    assert through.renewed() is None
    changes.apply(ChangeNotice(tracks=(1,)))
    changes.applied = 6
    assert through.renewed() is None  # its track changed: the kept answer no longer holds


CLAIMS = TokenClaims(
    "tests", frozenset({1}), frozenset({"insights:read"}), datetime(2100, 1, 1, tzinfo=UTC), "t"
)


class StampedAnswers:
    """An ASGI endpoint answering figures with a claim, and a renewal the test controls."""

    def __init__(self) -> None:
        self.stamp: str | None = "2026-11-05T14:00:00.000Z"
        self.renewal: str | None = None
        self.figures = 7
        self.computed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.computed += 1
        scope["state"]["readers"] = Readers(frozenset({1}), "track 1")
        stamp = msgspec.json.encode(self.stamp)
        scope["state"]["keeping"] = Keeping(stamp=stamp, restamp=lambda: self.renewal)
        body = msgspec.json.encode(
            {"success": True, "data": {"plays": self.figures, "complete_through": self.stamp}}
        )
        headers = [(b"cache-control", b"private, max-age=10")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def get(
    middleware: CacheMiddleware, if_none_match: str | None = None, method: str = "GET"
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []
    headers = [(b"if-none-match", if_none_match.encode())] if if_none_match else []
    scope = {
        "type": "http",
        "method": method,
        "path": INSIGHTS + "/tracks/1",
        "query_string": b"",
        "headers": headers,
        "state": {"claims": CLAIMS},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


def claim_of(body: bytes) -> str:
    return str(msgspec.json.decode(body)["data"]["complete_through"])


def test_the_cache_renews_a_kept_answers_claim_at_most_every_few_seconds() -> None:
    now = [0.0]
    answers = StampedAnswers()
    middleware = CacheMiddleware(answers, ResponseCache(clock=lambda: now[0]))
    status, headers, body = get(middleware)
    assert status == 200
    etag = headers[b"etag"].decode()
    assert claim_of(body) == "2026-11-05T14:00:00.000Z"

    answers.renewal = '"2026-11-05T14:00:01.500Z"'
    now[0] = RESTAMP_SECONDS / 2
    assert get(middleware, etag)[0] == 304  # a young claim is not renewed: the ETag holds

    now[0] = RESTAMP_SECONDS
    status, headers, body = get(middleware, etag)
    assert status == 200 and claim_of(body) == "2026-11-05T14:00:01.500Z"
    assert headers[b"etag"].decode() != etag and headers[b"content-length"] == str(len(body)).encode()
    assert msgspec.json.decode(body)["data"]["plays"] == 7
    assert answers.computed == 1  # renewed, not computed again

    answers.renewal = None  # no longer holds (or nothing newer): the claim stays as it is
    now[0] = 2 * RESTAMP_SECONDS
    assert get(middleware, headers[b"etag"].decode())[0] == 304


def test_the_same_figures_computed_again_keep_their_bytes_while_the_claim_is_young() -> None:
    now = [0.0]
    answers = StampedAnswers()
    middleware = CacheMiddleware(answers, ResponseCache(clock=lambda: now[0]))
    get(middleware)
    answers.renewal = '"2026-11-05T14:00:09.000Z"'
    now[0] = 9.0
    status, headers, body = get(middleware)  # renewed at 9 s
    etag = headers[b"etag"].decode()
    answers.stamp = "2026-11-05T14:00:09.500Z"
    now[0] = 10.0  # max-age passed: computed again, the same figures, the kept claim 1 s old
    assert get(middleware, etag)[0] == 304
    assert answers.computed == 2
    now[0] = 20.0  # computed again, the kept claim 11 s old: the new one is served
    status, headers, body = get(middleware, etag)
    assert answers.computed == 3 and status == 200
    assert claim_of(body) == "2026-11-05T14:00:09.500Z"


class FakeStore:
    def __init__(self) -> None:
        self.written: list[tuple[str, Mapping[int, int]]] = []

    async def write(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def insert(self, table: str, rows: list[list[Any]], columns: Any) -> None:
        self.written.append((rows[0][1], {row[2]: row[3] for row in rows}))

    def command(self, sql: str, parameters: dict[str, Any]) -> None:
        assert sql.startswith("/* insights-fenced */") and parameters["owner"] == "me@3"
        self.written.append((parameters["topic"], dict(parameters["progress"])))


def test_progress_is_recorded_at_most_every_second_and_the_last_of_it_always() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:  # the injected clock moves; nothing really waits
        now[0] += seconds

    async def scenario() -> list[tuple[str, Mapping[int, int]]]:
        store = FakeStore()
        recorder = ProgressRecorder(store, every=1.0, clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
        recorder.record(0, "insights.events", [(0, 9), (1, 4)], "me@3")
        assert recorder._writer is not None
        await recorder._writer
        recorder.record(0, "insights.events", [(0, 10)], "me@3")
        recorder.record(0, "insights.events", [(0, 12), (1, 6)], "me@3")  # then the pipeline is idle
        await recorder._writer
        assert now[0] == 1.0  # the pending record waited out the second, and was not left behind
        recorder.record(0, "insights.catalog", [(0, 3)])
        await recorder.close()
        return store.written

    assert asyncio.run(scenario()) == [
        ("insights.events", {0: 10, 1: 5}),
        ("insights.events", {0: 13, 1: 7}),
        ("insights.catalog", {0: 4}),
    ]
