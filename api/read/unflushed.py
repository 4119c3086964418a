"""The plays and heartbeats this process accepted that the worker may not have stored yet, so that a
track's realtime counts an event as soon as its 202 is sent, not one or two flushes later
(docs/read-path.md, "Realtime before the flush").

Each accepted play or heartbeat of a track whose realtime is asked (ASKED_SECONDS) that can still count
in realtime (its second in the last hour, or the 5 minutes an event may be early) is kept with the Kafka
partition and offset of its message.
Nothing here decides what is counted: the realtime statement (api/read/analytics_queries.py) takes a
kept event only when the track's realtime rows of its partition stop below its offset (the worker
stores each partition in offset order, so a stored event always lies at or below those rows' highest
offset, and an unstored one always above it), and when no event of its id is stored at another offset
(a repeat the worker will drop). Both are read in the one statement that reads the rows, so an event
is counted once, from here or from the rows, whatever the worker does meanwhile.

What is kept here only bounds the memory: events leave as the stored progress passes them (`stored`),
and past `max_events` new ones are not kept (they show at their flush, as without this); those out of
the hour are no longer read. A repeat of an id kept already is not kept again: the first copy is the
one the worker counts. It runs on the event loop, at every ingest request: about 1.5 µs an event kept
and a look-up for the others, and `stored` does a bounded amount per call (STEPS_PER_CALL).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from insights.metrics import REALTIME_UNFLUSHED
from schemas.events import Event

# Realtime's reach: the last hour, and the 5 minutes an event may be early (schemas/events.py).
HOUR_SECONDS = 3600
EARLY_SECONDS = 300
MAX_EVENTS = 200_000
# A track's events are kept while its realtime is asked of the process: for this long after the last
# request (a dashboard polls every few seconds). Other tracks' events cost a look-up at ingest.
ASKED_SECONDS = 60.0
# Tracks asked at most, before those no longer asked are forgotten.
MAX_ASKED = 100_000
# What `stored` does per call at most, counting each track it visits and each event it lets go: it runs
# at every ingest request, which keeps at most 500 events (so brings at most 1,000 of these to do
# later). About a millisecond of the loop, whatever a flush stored at once.
STEPS_PER_CALL = 2000


class Kept(NamedTuple):
    partition: int
    offset: int
    event_id: str
    listener_id: str
    second: int  # occurred_at, Unix seconds rounded down (the realtime rollup's bucket)
    play: bool  # else a heartbeat


class Unflushed:
    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._max_events = max_events
        # Per track, its events in the order they were kept (plain tuples, as Kept: built once each).
        self._tracks: dict[int, deque[tuple[int, int, str, str, int, bool]]] = {}
        # Per partition, (offset, tracks) of each message with events kept, in the order kept.
        self._messages: dict[int, deque[tuple[int, tuple[int, ...]]]] = {}
        self._ids: dict[str, int] = {}  # id -> the offset of its kept copy
        # Per track, the sequence number of the latest message it had events kept from (never reused: a
        # version seen before an event was kept never equals one after).
        self._versions: dict[int, int] = {}
        self._sequence = itertools.count(1)
        self._count = 0
        self._restarts = 0
        self._asked: dict[int, float] = {}  # track -> until when its events are kept

    def __len__(self) -> int:
        return self._count

    def asked(self, track_id: int, now: float) -> None:
        """The track's realtime was asked at `now` (Unix seconds): keep its events for ASKED_SECONDS."""
        if len(self._asked) >= MAX_ASKED and track_id not in self._asked:
            self._asked = {track: until for track, until in self._asked.items() if until >= now}
        self._asked[track_id] = now + ASKED_SECONDS

    def accepted(self, events: Iterable[Event], placed: tuple[int, int], now: float) -> None:
        """`events`, acknowledged by Kafka in one message at `placed` (partition, offset): those of the
        tracks whose realtime is asked (when INSIGHTS_REALTIME_UNFLUSHED is on)."""
        if not self._max_events or not self._asked:
            return
        partition, offset = placed
        oldest, latest = int(now) - HOUR_SECONDS, int(now) + EARLY_SECONDS
        ids, tracks, asked = self._ids, self._tracks, self._asked
        room = before = self._max_events - self._count
        touched: dict[int, None] = {}
        full = 0
        for event in events:
            if asked.get(event.track_id, 0.0) < now:
                continue
            kind, event_id = event.type, event.event_id
            if (kind != "play" and kind != "heartbeat") or event_id in ids:
                continue
            second = int(event.occurred_at.timestamp())
            if second <= oldest or second > latest:
                continue
            if not room:
                full += 1
                continue
            room -= 1
            kept = tracks.get(event.track_id)
            if kept is None:
                kept = tracks[event.track_id] = deque()
            kept.append((partition, offset, event_id, event.listener_id, second, kind == "play"))
            ids[event_id] = offset
            touched[event.track_id] = None
        if touched:
            self._count = self._max_events - room
            self._messages.setdefault(partition, deque()).append((offset, tuple(touched)))
            version = next(self._sequence)
            for track_id in touched:
                self._versions[track_id] = version
            REALTIME_UNFLUSHED.labels(outcome="kept").inc(before - room)
        if full:
            REALTIME_UNFLUSHED.labels(outcome="full").inc(full)

    def of_track(self, track_id: int, now: float) -> list[Kept]:
        """The track's kept events that may still count in realtime at `now`."""
        oldest = int(now) - HOUR_SECONDS
        return [Kept._make(k) for k in self._tracks.get(track_id, ()) if k[4] > oldest]

    def holds(self, track_id: int) -> bool:
        """Whether events of the track are kept (accepted, maybe not stored yet)."""
        return track_id in self._tracks

    def version(self, track_id: int) -> int:
        """Changes with every event kept for the track (a realtime answer read before may be short)."""
        return self._versions.get(track_id, 0)

    def stored(self, progress: Mapping[int, int], restarts: int = 0) -> None:
        """The worker has stored every message below `progress[partition]`: those events leave (up to
        STEPS_PER_CALL a call; the next calls go on). When Kafka's offsets have started again since
        (`restarts`), nothing kept can be placed: all leave."""
        if restarts != self._restarts:
            self.forget_all()
            self._restarts = restarts
        budget = STEPS_PER_CALL
        for partition, below in progress.items():
            messages = self._messages.get(partition)
            while messages and messages[0][0] < below and budget > 0:
                offset, tracks = messages.popleft()
                for done, track_id in enumerate(tracks):
                    budget -= 1 + self._let_go(track_id, progress, budget)
                    if budget <= 0:  # the rest next time, this track again (it may have more)
                        messages.appendleft((offset, tracks[done:]))
                        break

    def _let_go(self, track_id: int, progress: Mapping[int, int], most: int) -> int:
        """Up to `most` of the track's oldest events, as long as they are stored (those behind one that
        is not wait for a later message of its); how many."""
        kept = self._tracks.get(track_id)
        gone = 0
        while kept and gone < most and kept[0][1] < progress.get(kept[0][0], 0):
            _, offset, event_id, *_ = kept.popleft()
            if self._ids.get(event_id) == offset:
                del self._ids[event_id]
            gone += 1
        self._count -= gone
        if not kept:
            self._tracks.pop(track_id, None)
        return gone

    def forget_all(self) -> None:
        """Kafka's offsets start again (an accepted reset): nothing kept can be placed any more."""
        self._tracks, self._messages, self._ids, self._count = {}, {}, {}, 0
        self._versions = dict.fromkeys(self._versions, next(self._sequence))
