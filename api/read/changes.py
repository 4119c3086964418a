"""Answers that hold until one of their tracks changes, told by the workers' change notices.

After each flush is durable, a worker writes on `insights.changes` the tracks it touched
(schemas/changes.py). Every API process follows that topic from its end and numbers the notices; it
remembers, per track, the last one that named it. An analytics or chart answer is kept with its
tracks' version (the largest of their numbers; every version moves on when a notice names no track in
particular or the feed was interrupted); while it is unchanged, its rollup rows are unchanged too, and
the answer is served without a statement.

Staleness is bounded by the feed, not by a timer: a notice is written after the rows it announces
are visible, and the pending fetch returns with it as soon as it is written. While the feed is not
known to be current (not started, the broker silent for over SILENT_AFTER seconds, or notices fetched
and not yet counted), nothing is served from the memo and every answer is computed, as without it.
An answer is also never kept longer than MAX_AGE_SECONDS, whatever the feed says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, NamedTuple, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from api.http.recent import Recent
from insights.metrics import KEPT_ANSWERS
from schemas.changes import ChangeNotice, decode_notice

log = logging.getLogger(__name__)

T = TypeVar("T")

FETCH_WAIT_MS = 400  # the broker answers an idle fetch after this long: the feed's heartbeat
SILENT_AFTER = 1.0  # seconds without a fetch answer after which the feed is not trusted
RETRY_FIRST_DELAY, RETRY_MAX_DELAY = 0.5, 10.0
# What the memo holds, in rows: an answer weighs 1 plus its chart points or ranked tracks (each a few
# hundred bytes) plus one per 8 track ids its key names, so the memo stays under about 60 MB per
# process whatever is asked.
MAX_ROWS = 200_000
MAX_AGE_SECONDS = 300.0


# Tracks whose last change is remembered one by one, in each API process; older changes are summed up
# in one number (see TrackChanges). An entry costs about 210 bytes (measured): at most about 21 MB for
# every change, and as much for the changes to past days.
MAX_TRACKS = 100_000

Version = int  # the number of the last notice that named one of the tracks (or a bound above it)


class _LastNotices:
    """For each track, the number of the last notice of a kind that named it; bounded: beyond
    `max_tracks` the track named longest ago is forgotten, and `floor` (the number of its last notice)
    stands for every forgotten track, so a forgotten track's number may rise without a change, never
    stay while it changes."""

    def __init__(self, max_tracks: int) -> None:
        self._max_tracks = max_tracks
        self._last: OrderedDict[int, int] = OrderedDict()  # track -> its last notice, oldest first
        self._floor = 0  # no forgotten track was named after this notice

    def name(self, tracks: Iterable[int], notice: int) -> None:
        last = self._last
        for track in tracks:
            last.pop(track, None)
            last[track] = notice
        while len(last) > self._max_tracks:
            self._floor = last.popitem(last=False)[1]

    def forget_all(self, notice: int) -> None:
        self._floor = notice
        self._last.clear()

    def version(self, tracks: Iterable[int]) -> Version:
        last, floor = self._last, self._floor
        return max((last.get(t, floor) for t in tracks), default=floor)

    def __len__(self) -> int:
        return len(self._last)


def utc_day_now() -> int:
    """Today's UTC day, in days since 1970-01-01."""
    return int(time.time() // 86_400)


class TrackChanges:
    """For each track, the number of the last notice that named it, and whether they are known to
    be current. Notices are numbered in the order they are applied, so the version of a set of
    tracks (the largest of their numbers) moves past any earlier version of the set as soon as one
    of them changes.

    Beside it, the past version: the same, counting only the notices that named a track with an
    event on a UTC day before the day they were applied (`today`). While it stays, the tracks' rows
    of the days before the day it was read are unchanged, whatever today's rows do."""

    def __init__(self, max_tracks: int = MAX_TRACKS, today: Callable[[], int] = utc_day_now) -> None:
        self._all = _LastNotices(max_tracks)
        self._past = _LastNotices(max_tracks)
        self._today = today
        self._notices = 0
        self._current: Callable[[], bool] = lambda: False
        # The offset after the last notice applied (-1: none known): every notice below it is counted.
        self.applied = -1

    def apply(self, notice: ChangeNotice) -> None:
        if notice.everything:
            self.forget_all()
        self._notices += 1
        self._all.name(notice.tracks, self._notices)
        self._past.name(notice.before(self._today()), self._notices)

    def forget_all(self) -> None:
        """No kept answer holds any more: every version moves past every earlier one."""
        self._notices += 1
        self._all.forget_all(self._notices)
        self._past.forget_all(self._notices)

    def follow_while(self, current: Callable[[], bool]) -> None:
        """`current()` says whether every notice written so far has been applied."""
        self._current = current

    def version(self, tracks: Iterable[int]) -> Version | None:
        """The tracks' version now, or None when the numbers may be behind the rollups."""
        return self._all.version(tracks) if self._current() else None

    def past_version(self, tracks: Iterable[int]) -> tuple[int, Version] | None:
        """Today (the UTC day number) and the tracks' past version now: their rows of the days before
        today are unchanged while it is; None when the numbers may be behind the rollups."""
        if not self._current():
            return None
        return self._today(), self._past.version(tracks)

    def __len__(self) -> int:
        return len(self._all)


class ChangeFeed:
    """Follows `topic` (one partition) from its end into `changes`, reconnecting after failures."""

    def __init__(self, bootstrap: str, topic: str, changes: TrackChanges) -> None:
        self._bootstrap = bootstrap
        self._partition = TopicPartition(topic, 0)
        self.changes = changes
        self._consumer: AIOKafkaConsumer | None = None
        self._next_offset = -1
        self._task: asyncio.Task[None] | None = None

    def current(self) -> bool:
        consumer = self._consumer
        if consumer is None:
            return False
        heard = consumer.last_poll_timestamp(self._partition)
        if heard is None or time.time() * 1000 - heard > SILENT_AFTER * 1000:
            return False
        return consumer.highwater(self._partition) == self._next_offset

    async def start(self) -> None:
        self.changes.follow_while(self.current)
        self._task = asyncio.create_task(self._follow())

    async def until_current(self, seconds: float = 60.0) -> None:
        """Wait until the feed is current (raises TimeoutError after `seconds`)."""
        async with asyncio.timeout(seconds):
            while not self.current():  # noqa: ASYNC110 (a fetch answer sets it, with no event to wait on)
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        delay = RETRY_FIRST_DELAY
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=None,
                enable_auto_commit=False,
                # A position that no longer exists (the topic recreated) raises, and the feed starts
                # again from the end, forgetting every kept answer, rather than skip notices unseen.
                auto_offset_reset="none",
                fetch_max_wait_ms=FETCH_WAIT_MS,
                request_timeout_ms=10_000,
            )
            try:
                await consumer.start()
                consumer.assign([self._partition])
                await consumer.seek_to_end(self._partition)
                self._next_offset = await consumer.position(self._partition)
                # Whatever happened before this point is in the rollups every later answer reads.
                self.changes.forget_all()
                self.changes.applied = self._next_offset
                self._consumer = consumer
                delay = RETRY_FIRST_DELAY
                await self._apply_forever(consumer)
            except Exception as error:  # any: the task must outlive a failure, and answers are then computed
                log.warning(
                    "following %s failed (%s); retrying in %.1f s", self._partition.topic, error, delay
                )
            finally:
                self._consumer = None
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_DELAY)

    async def _apply_forever(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            fetched = await consumer.getmany(self._partition, timeout_ms=500)
            for record in fetched.get(self._partition, ()):
                try:
                    notice = decode_notice(record.value or b"")
                except ValueError:
                    log.warning(
                        "unreadable change notice at offset %d; forgetting every kept answer", record.offset
                    )
                    notice = ChangeNotice(everything=True)
                self.changes.apply(notice)
                self._next_offset = self.changes.applied = record.offset + 1


_KEPT, _COMPUTED, _UNFOLLOWED = (KEPT_ANSWERS.labels(served=s) for s in ("kept", "computed", "unfollowed"))


class Kept(NamedTuple):
    version: Version
    created: float
    value: Any
    rows: int


class Held(NamedTuple):
    """An answer and how it was had: computed now or not, and the memo's entry for it (None when it
    was not kept: the feed was not current)."""

    value: Any
    computed: bool
    kept: Kept | None


class AnswerMemo:
    """Answers by key, each kept with its tracks' version; the least recently used dropped first."""

    def __init__(
        self,
        changes: TrackChanges | None,
        max_rows: int = MAX_ROWS,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._changes = changes
        self._max_age = max_age
        self._clock = clock
        self._kept: Recent[Hashable, Kept] = Recent(max_rows, lambda key, kept: kept.rows)

    @property
    def changes(self) -> TrackChanges | None:
        return self._changes

    @property
    def applied(self) -> int:
        """The offset after the last change notice applied (-1 without a feed)."""
        return self._changes.applied if self._changes is not None else -1

    def unchanged(self, tracks: Iterable[int]) -> Callable[[], bool] | None:
        """A test of whether none of `tracks` has changed since this call: for an answer read after
        it. None while the feed is not current (nothing is known to hold)."""
        changes = self._changes
        tracks = tuple(tracks)
        version = changes.version(tracks) if changes is not None else None
        if changes is None or version is None:
            return None
        return lambda: changes.version(tracks) == version

    def holds(self, key: Hashable, tracks: Iterable[int], kept: Kept) -> bool:
        """Whether `kept` is still the answer of `key`: none of `tracks` changed since."""
        version = self._changes.version(tracks) if self._changes is not None else None
        return (
            version == kept.version
            and self._kept.peek(key) is kept
            and self._clock() - kept.created < self._max_age
        )

    async def answer(
        self,
        key: Hashable,
        tracks: Iterable[int],
        compute: Callable[[], Awaitable[T]],
        rows: Callable[[T], int] = lambda value: 0,
    ) -> T:
        """The kept answer for `key` if none of `tracks` changed since it was computed, else
        `compute()`'s (kept when the feed was current before it began). `rows`: how many rows the
        answer holds beyond its figures, for the memo's bound."""
        value: T = (await self.held(key, tracks, compute, rows)).value
        return value

    async def held(
        self,
        key: Hashable,
        tracks: Iterable[int],
        compute: Callable[[], Awaitable[T]],
        rows: Callable[[T], int] = lambda value: 0,
    ) -> Held:
        """As `answer`, saying whether it was computed now and which entry keeps it."""
        tracks = tuple(tracks)
        version = self._changes.version(tracks) if self._changes is not None else None
        if version is None:
            _UNFOLLOWED.inc()
            return Held(await compute(), True, None)
        now = self._clock()
        kept = self._kept.get(key)
        if kept is not None and kept.version == version and now - kept.created < self._max_age:
            _KEPT.inc()
            return Held(kept.value, False, kept)
        _COMPUTED.inc()
        # The version is the one read before computing: a change announced meanwhile makes the next
        # ask compute again, rather than keep an answer that may predate it under a newer version.
        value = await compute()
        # A key names its tracks: about 8 of their ids weigh as much as one row.
        kept = Kept(version, now, value, 1 + rows(value) + len(tracks) // 8)
        self._kept.put(key, kept)
        return Held(value, True, kept)
