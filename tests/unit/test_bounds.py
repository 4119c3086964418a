"""Every structure an API process keeps between requests is bounded, whatever clients send: the
response cache by bytes, the memo and the audiences by what their keys hold too, the limit counters
by keys."""

from __future__ import annotations

import asyncio
from datetime import date

from api.http.access import Readers
from api.http.limits import WindowCounter
from api.http.recent import Recent
from api.read.analytics_queries import Audiences
from api.read.changes import AnswerMemo, TrackChanges
from api.read.response_cache import MAX_BYTES, Entry, ResponseCache


def entry(body: bytes) -> Entry:
    return Entry(body, (), '"e"', 60, 0.0, Readers(frozenset({1}), "track 1"))


def test_the_response_cache_is_bounded_by_bytes_not_only_by_entries() -> None:
    cache = ResponseCache(clock=lambda: 0.0)
    megabyte = b"x" * 1024 * 1024
    for n in range(100):  # 100 MB of answers, far fewer than any bound in entries
        cache.put((f"/tracks/{n}", ()), entry(megabyte))
    assert cache.size <= MAX_BYTES
    assert cache.get(("/tracks/0", ())) is None
    assert cache.get(("/tracks/99", ())) is not None


def test_many_small_answers_are_bounded_too() -> None:
    cache = ResponseCache(max_bytes=1024 * 1024, clock=lambda: 0.0)
    for n in range(10_000):
        cache.put((f"/tracks/{n}", (("period", "7-days"),)), entry(b"{}"))
    assert cache.size <= 1024 * 1024
    assert len(cache._entries) < 1024  # each weighs at least ENTRY_BYTES


def test_kept_answers_weigh_the_track_ids_of_their_keys() -> None:
    changes = TrackChanges()
    changes.follow_while(lambda: True)
    memo = AnswerMemo(changes, max_rows=1_000)

    async def ask(key: int, tracks: tuple[int, ...]) -> int:
        async def compute() -> int:
            return key

        return await memo.answer(("group", tracks), tracks, compute)

    huge_sets = [tuple(range(n * 10_000, (n + 1) * 10_000)) for n in range(5)]
    for n, tracks in enumerate(huge_sets):
        asyncio.run(ask(n, tracks))
    assert memo._kept.weight <= 1_000 and len(memo._kept) < 5


def test_audiences_are_bounded_by_the_track_ids_their_keys_hold() -> None:
    audiences = Audiences(track_ids=50_000)
    for n in range(20):
        tracks = tuple(range(n * 10_000, (n + 1) * 10_000))
        audiences._ranges.put((tracks, date(2026, 1, 1), date(2026, 1, 7)), True)
        audiences._all_time.put(tracks, True)
    assert audiences._ranges.weight <= 50_000 and audiences._all_time.weight <= 50_000


def test_a_flood_of_new_addresses_cannot_grow_a_counter_without_end() -> None:
    counter = WindowCounter(20, clock=lambda: 1_000.0, max_keys=1_000)
    for n in range(10_000):
        counter.hit(f"2001:db8::{n:x}")
    assert len(counter) == 1_000
    assert counter.peek("2001:db8::270f").used == 1  # the newest are still counted


def test_recent_forgets_least_recently_used_by_weight() -> None:
    recent: Recent[str, bytes] = Recent(10, lambda key, value: len(value))
    recent.put("a", b"12345")
    recent.put("b", b"12345")
    recent.get("a")
    recent.put("c", b"1")
    assert recent.peek("b") is None and recent.peek("a") == b"12345" and recent.weight == 6
