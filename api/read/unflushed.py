"""The plays and heartbeats this process accepted that the worker may not have stored yet, so that a
track's realtime counts an event as soon as its 202 is sent, not one or two flushes later
(docs/read-path.md, "Realtime before the flush").

Each accepted play or heartbeat that can still count in realtime (its second in the last hour, or
the 5 minutes an event may be early) is kept with the Kafka partition and offset of its message.
Nothing here decides what is counted: the realtime statement (api/read/analytics_queries.py) takes a
kept event only when the track's realtime rows of its partition stop below its offset (the worker
stores each partition in offset order, so a stored event always lies at or below those rows' highest
offset, and an unstored one always above it), and when no event of its id is stored at another offset
(a repeat the worker will drop). Both are read in the one statement that reads the rows, so an event
is counted once, from here or from the rows, whatever the worker does meanwhile.

What is kept here only bounds the memory: events leave as the stored progress passes them (`stored`)
or as they age out of the hour, and past `max_events` new ones are not kept (they show at their
flush, as without this). A repeat of an id kept already is not kept again: the first copy is the one
the worker counts.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from insights.metrics import REALTIME_UNFLUSHED
from schemas.events import Event

# Realtime's reach: the last hour, and the 5 minutes an event may be early (schemas/events.py).
HOUR_SECONDS = 3600
EARLY_SECONDS = 300
MAX_EVENTS = 200_000


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
        self._tracks: dict[int, list[Kept]] = {}
        # (offset, track) in the order they were kept, per partition: what `stored` passes over.
        self._partitions: dict[int, deque[tuple[int, int]]] = {}
        self._ids: dict[str, int] = {}  # id -> the offset of its kept copy
        self._queued = 0  # entries in the partitions' queues
        # Per track, the sequence number of the latest event kept (never reused: a version seen before
        # an event was kept never equals one after).
        self._versions: dict[int, int] = {}
        self._sequence = itertools.count(1)
        self._count = 0
        self._restarts = 0

    def __len__(self) -> int:
        return self._count

    def accepted(self, events: Iterable[Event], placed: tuple[int, int], now: float) -> None:
        """`events`, acknowledged by Kafka in one message at `placed` (partition, offset)."""
        if not self._max_events:  # realtime counts stored events only (INSIGHTS_REALTIME_UNFLUSHED=off)
            return
        partition, offset = placed
        oldest, latest = int(now) - HOUR_SECONDS, int(now) + EARLY_SECONDS
        kept = full = 0
        for event in events:
            if event.type not in ("play", "heartbeat") or event.event_id in self._ids:
                continue
            second = int(event.occurred_at.timestamp() // 1)
            if not oldest < second <= latest:
                continue
            if self._count >= self._max_events:
                full += 1
                continue
            entry = Kept(partition, offset, event.event_id, event.listener_id, second, event.type == "play")
            self._tracks.setdefault(event.track_id, []).append(entry)
            self._partitions.setdefault(partition, deque()).append((offset, event.track_id))
            self._queued += 1
            self._ids[event.event_id] = offset
            self._versions[event.track_id] = next(self._sequence)
            self._count += 1
            kept += 1
        if self._queued > 2 * self._max_events:
            self._compact()
        if kept:
            REALTIME_UNFLUSHED.labels(outcome="kept").inc(kept)
        if full:
            REALTIME_UNFLUSHED.labels(outcome="full").inc(full)

    def of_track(self, track_id: int, now: float) -> list[Kept]:
        """The track's kept events that may still count in realtime at `now`."""
        oldest = int(now) - HOUR_SECONDS
        kept = self._tracks.get(track_id, [])
        if any(k.second <= oldest for k in kept):
            self._drop(track_id, lambda k: k.second <= oldest)
        return list(self._tracks.get(track_id, []))

    def version(self, track_id: int) -> int:
        """Changes with every event kept for the track (a realtime answer read before may be short)."""
        return self._versions.get(track_id, 0)

    def stored(self, progress: Mapping[int, int], restarts: int = 0) -> None:
        """The worker has stored every message below `progress[partition]`: those events leave. When
        Kafka's offsets have started again since (`restarts`), nothing kept can be placed: all leave."""
        if restarts != self._restarts:
            self.forget_all()
            self._restarts = restarts
        touched: set[int] = set()
        for partition, below in progress.items():
            queue = self._partitions.get(partition)
            while queue and queue[0][0] < below:
                touched.add(queue.popleft()[1])
                self._queued -= 1
        for track_id in touched:
            self._drop(track_id, lambda k: k.offset < progress.get(k.partition, 0))

    def forget_all(self) -> None:
        """Kafka's offsets start again (an accepted reset): nothing kept can be placed any more."""
        for track_id in list(self._tracks):
            self._drop(track_id, lambda k: True)
        self._partitions, self._queued = {}, 0

    def _drop(self, track_id: int, gone: Callable[[Kept], bool]) -> None:
        kept = self._tracks.pop(track_id, [])
        staying = []
        for k in kept:
            if not gone(k):
                staying.append(k)
            elif self._ids.get(k.event_id) == k.offset:
                del self._ids[k.event_id]
        self._count -= len(kept) - len(staying)
        if staying:
            self._tracks[track_id] = staying

    def _compact(self) -> None:
        """The partitions' queues again from what is kept (events that aged out left them behind)."""
        entries = sorted((k.partition, k.offset, track) for track, kept in self._tracks.items() for k in kept)
        self._partitions = {}
        for partition, offset, track_id in entries:
            self._partitions.setdefault(partition, deque()).append((offset, track_id))
        self._queued = len(entries)
