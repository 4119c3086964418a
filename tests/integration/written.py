"""Events written straight through the worker's own sink (pipeline/sink.py), rollups included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from api.read.analytics_queries import Figures
from api.read.figure_bodies import figure_fields
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


OPTIONAL = ("listened_ms", "country", "source", "platform")


def as_posted(events: Sequence[Event]) -> list[dict[str, Any]]:
    """`events` as a player would have posted them (for the reference model)."""
    return [
        {
            "event_id": e.event_id,
            "type": e.type,
            "track_id": e.track_id,
            "listener_id": e.listener_id,
            "occurred_at": e.occurred_at.isoformat(),
        }
        | {name: getattr(e, name) for name in OPTIONAL if getattr(e, name) is not None}
        for e in events
    ]


def figures_shown(counted: Figures) -> dict[str, Any]:
    """The figures an answer shows (`plays`, `listeners`, `engagement`, `growth`) as JSON values."""
    shown = msgspec.to_builtins(figure_fields(counted))
    return {name: shown[name] for name in ("plays", "listeners", "engagement", "growth")}
