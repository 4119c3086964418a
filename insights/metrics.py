"""The process's Prometheus metrics, defined once here so the edge and the worker share one registry.

`GET /metrics` (api/http/metrics.py) renders them; in `insights up` both halves report there (the
worker's process through the API's: insights/worker_process.py), and a
worker alone serves them on INSIGHTS_METRICS_PORT (insights/metrics_server.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

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

# Latency of every HTTP request, labelled by the route's template (`/tracks/{track_id}`), never the
# raw path, so ids cannot multiply the series.
REQUEST_SECONDS = Histogram(
    "insights_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
BATCH_EVENTS = Histogram(
    "insights_worker_batch_events",
    "Events in each flush of the worker (before dedupe).",
    buckets=(1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000),
    registry=REGISTRY,
)
FLUSH_SECONDS = Histogram(
    "insights_worker_flush_duration_seconds",
    "Time to make one batch durable in ClickHouse (dedupe, events insert, rollups), retries included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "insights_consumer_lag_messages",
    "Messages of insights.events not yet committed by the worker group, by partition.",
    ["partition"],
    registry=REGISTRY,
)
FRESHNESS = Gauge(
    "insights_rollups_freshness_seconds",
    "Now minus the newest event time in the rollups (NaN while they are empty).",
    registry=REGISTRY,
)
PAST_ROWS = Counter(
    "insights_api_past_rows_total",
    "Rows of the days before today a computed answer needed, by how they were had: kept (no statement,"
    " none of their tracks' earlier days changed) or read.",
    ["served"],
    registry=REGISTRY,
)
FORESEEN = Counter(
    "insights_api_listener_merges_total",
    "Merges of popular entities' listeners, by when they ran: ahead (beside the sums that judged"
    " them, as the read's last merges), again (run ahead, then again as the sums judged otherwise) or"
    " after (nothing known to run ahead).",
    ["merged"],
    registry=REGISTRY,
)
CHART_COUNTS = Counter(
    "insights_api_chart_counts_total",
    "Day and week charts whose buckets were judged, by when the buckets left to count were read:"
    " beside (guessed and started beside the judging, and used), again (guessed, of no use, read after"
    " it) or after (nothing guessed).",
    ["read"],
    registry=REGISTRY,
)
KEPT_ANSWERS = Counter(
    "insights_api_answers_total",
    "Analytics, chart and collaboration figures asked of the read side, by how they were served:"
    " kept (unchanged since computed), computed, or computed while the change feed was not current.",
    ["served"],
    registry=REGISTRY,
)
COMPLETE_THROUGH_LAG = Gauge(
    "insights_api_complete_through_lag_seconds",
    "Now minus the complete_through this API process answers (NaN while it is not known yet).",
    registry=REGISTRY,
)
# How much later than due the event loop ran a periodic check (insights/loop_lag.py): the time any
# request or flush on this process's loop may have waited behind synchronous work.
# `loop`: "api", the loop serving requests; "worker", the worker's (in `insights up`, the worker's process
# reports it through the API's process: insights/worker_process.py).
LOOP_LAG = Histogram(
    "insights_event_loop_lag_seconds",
    "How much later than due an event loop of the process woke a check that runs every 50 ms.",
    ["loop"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
LOOP_LAG_WORST = Gauge(
    "insights_event_loop_lag_worst_seconds",
    "The largest event loop lag measured in the last 10 seconds.",
    ["loop"],
    registry=REGISTRY,
)
LOOP_CORE_RESERVED = Gauge(
    "insights_loop_core_reserved",
    "1 while the event loop serving HTTP has a CPU to itself (insights up), 0 while every thread shares "
    "every CPU because the writes fell behind.",
    registry=REGISTRY,
)
LOOP_NICENESS = Gauge(
    "insights_loop_niceness",
    "The OS niceness of the thread serving HTTP (insights up): INSIGHTS_LOOP_NICENESS while the writes keep "
    "up, the process's own while they trail or when the process may not raise it.",
    registry=REGISTRY,
)
REALTIME_UNFLUSHED = Counter(
    "insights_api_realtime_unflushed_events_total",
    "Accepted plays and heartbeats realtime may count before their flush: kept, or not kept because "
    "the API already kept as many as it may (full; they show at their flush).",
    ["outcome"],
    registry=REGISTRY,
)
WORKER_RESTARTS = Counter(
    "insights_worker_process_restarts_total",
    "Times `insights up` started its worker process again after it exited by itself.",
    registry=REGISTRY,
)
DEPENDENCY_UP = Gauge(
    "insights_dependency_up",
    "1 when the process reached the dependency at its last check, else 0 (kafka, clickhouse).",
    ["dependency"],
    registry=REGISTRY,
)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:  # noqa: S104  (scraped from the network)
    """Serve GET /metrics of this process's registry from a background thread, for its whole life."""
    start_http_server(port, addr=host, registry=REGISTRY)
