"""Rows of the days before today, kept while none of their tracks' past days changes.

A popular entity's answer is computed again at every change to its tracks, and while players send,
its tracks change with every flush: but nearly always only today's rows. The change notices say, for
each track they name, the first UTC day of its events in the flush (schemas/changes.py), so an API
process knows which tracks' past days changed (TrackChanges.past_version). The readers of figures and
listener sums split such an answer's statement in two: the rows of the days before today, read once and
kept here, and today's rows (and the all-time totals, which today's plays move), read at every ask.
The previous period's listeners are kept here too, and the chart memo keeps the same version with its
buckets (api/read/analytics_queries.py).

What is kept is exactly what was read: its rows stay what a new read would give while no notice names
one of its tracks with an event on one of its days, as the answer memo's do for whole answers. So an
answer is the same either way. Nothing is kept or served while the feed is not current (not started,
silent, behind), for a range ending after today, or for longer than MAX_AGE_SECONDS.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sized
from datetime import date, timedelta
from typing import Any, NamedTuple, TypeVar

from api.http.recent import Recent
from api.read.changes import MAX_AGE_SECONDS, TrackChanges, Version
from insights.metrics import PAST_ROWS

Rows = list[tuple[Any, ...]]
# What a read gives and is kept as: rows, or what they were parsed into, weighed by its len().
Read = TypeVar("Read", bound=Sized)
# Bound of the rows kept: each about 200 bytes, so at most about 20 MB per process.
MAX_ROWS = 100_000
_EPOCH = date(1970, 1, 1)
KEPT_ROWS, READ_ROWS = (PAST_ROWS.labels(served=s) for s in ("kept", "read"))


class _Kept(NamedTuple):
    version: Version
    created: float
    rows: Any  # a Read


class PastRows:
    """Rows of statements over days before a range's last, by key, kept with their tracks' past
    version; the least recently used dropped first."""

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
        self._kept: Recent[Hashable, _Kept] = Recent(max_rows, lambda key, kept: 1 + len(kept.rows))

    def version(self, tracks: Iterable[int], last: date) -> Version | None:
        """The tracks' past version, if the days before `last` (a range's last day) are known unchanged
        while it stays: `last` is not after today and the feed is current. None otherwise: read the
        range whole."""
        if self._changes is None:
            return None
        known = self._changes.past_version(tracks)
        if known is None or last > _EPOCH + timedelta(days=known[0]):
            return None
        return known[1]

    async def rows(
        self,
        key: Hashable,
        version: Version,
        read: Callable[[], Awaitable[Read]],
        keep: Callable[[Read], bool] = lambda rows: True,
    ) -> Read:
        """The rows kept for `key` at `version`, else `read()`'s, kept if `keep` says so. `version` is
        read before: a change announced while reading makes the next ask read again. `read` may give
        the rows parsed (anything with a len(), its weight): they are kept, and given back, so."""
        kept: Read | None = self.kept(key, version)
        if kept is not None:
            return kept
        rows = await read()
        if keep(rows):
            self.keep(key, version, rows)
        return rows

    def kept(self, key: Hashable, version: Version) -> Any:
        """The rows kept for `key` at `version`, or None (then counted as read: the caller reads them)."""
        kept = self._kept.get(key)
        if kept is not None and kept.version == version and self._clock() - kept.created < self._max_age:
            KEPT_ROWS.inc()
            return kept.rows
        READ_ROWS.inc()
        return None

    def keep(self, key: Hashable, version: Version, rows: Sized) -> None:
        """Keep `rows` for `key`, read after `version` was."""
        self._kept.put(key, _Kept(version, self._clock(), rows))
