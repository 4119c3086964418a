"""Events written straight through the worker's own sink (pipeline/sink.py), rollups included."""

from __future__ import annotations

from collections.abc import Sequence

from insights.store import Store
from pipeline.sink import SourcedEvent, sole_writer
from pipeline.worker import FLUSH_MAX_EVENTS
from schemas.events import Event


def write_through_sink(store: Store, events: Sequence[Event], first_offset: int = 0) -> None:
    """`events` as partition 0's messages from `first_offset` on, flushed in the worker's batches."""
    sink = sole_writer(store)
    for start in range(0, len(events), FLUSH_MAX_EVENTS):
        batch = events[start : start + FLUSH_MAX_EVENTS]
        sink.flush([SourcedEvent(e, 0, first_offset + start + i) for i, e in enumerate(batch)])
    sink.close()
