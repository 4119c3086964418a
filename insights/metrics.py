"""The process's Prometheus metrics, defined once here so the edge and the worker share one registry.

`GET /metrics` (api/metrics_route.py) renders them; in `insights up` both halves report there.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry(auto_describe=True)

INGESTED = Counter(
    "insights_ingest_events_total",
    "Events answered by POST /api/v1/events, by outcome (accepted, rejected, unavailable).",
    ["outcome"],
    registry=REGISTRY,
)
FLUSHED = Counter(
    "insights_worker_events_written_total",
    "Events the worker counted into the rollups (first occurrences only).",
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "insights_worker_duplicates_total",
    "Events the worker recognised as already counted (client repeats, redelivery, replay).",
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "insights_worker_dead_letters_total",
    "Messages sent to the dead-letter topic insights.events.dlq, by source topic.",
    ["topic"],
    registry=REGISTRY,
)
WRITE_RETRIES = Counter(
    "insights_worker_write_retries_total",
    "ClickHouse writes of the worker that failed and were retried.",
    registry=REGISTRY,
)
