"""`insights status`: asks a running API (its /readyz and /metrics) how the system is doing and prints
it as a table: store and Kafka health, consumer lag per partition, freshness, the event loop's lag,
ingest and worker counts.

It asks over HTTP because in `insights up` the running process holds the embedded store. Exit codes:
0 healthy, 1 unhealthy (a dependency is down), 2 nothing answers at the URL.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

DEFAULT_URL = "http://127.0.0.1:8000"
HEALTHY, UNHEALTHY, UNREACHABLE = 0, 1, 2

# The counters worth a glance, by (metric, label value) -> the words printed for them.
INGEST_OUTCOMES = (("accepted", "accepted"), ("rejected", "rejected"), ("unavailable", "unavailable (503)"))


@dataclass
class LoopLag:
    """The event loop's lag as /metrics tells it: the worst of the last seconds, and the share of all
    checks since the process started that were late by at most `bound` seconds."""

    worst: float
    bound: float
    share_within: float


def loop_lag(buckets: dict[float, float], worst: float | None) -> LoopLag | None:
    """From the lag histogram's cumulative buckets (upper bound -> count) and the worst-lag gauge:
    the smallest bucket bound that holds at least 99 % of the checks."""
    if worst is None or not buckets or buckets.get(math.inf, 0) <= 0:
        return None
    total = buckets[math.inf]
    bound, within = next((b, c) for b, c in sorted(buckets.items()) if c >= 0.99 * total)
    return LoopLag(worst=worst, bound=bound, share_within=within / total)


@dataclass
class Status:
    url: str
    checks: dict[str, str]
    lag: dict[int, int] = field(default_factory=dict)
    freshness: float | None = None  # None: not measured yet; NaN: no recent event
    counts: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    loop_lag: LoopLag | None = None  # the loop serving requests; None: the process does not measure it
    worker_loop_lag: LoopLag | None = None  # the worker's, when it runs in the same process

    @property
    def healthy(self) -> bool:
        return bool(self.checks) and all(state == "ok" for state in self.checks.values())


def parse_status(url: str, readiness: dict[str, object], metrics_text: str) -> Status:
    """A Status from the body of /readyz and the Prometheus text of /metrics."""
    raw_checks = readiness.get("checks")
    checks = {str(k): str(v) for k, v in raw_checks.items()} if isinstance(raw_checks, dict) else {}
    raw_warnings = readiness.get("warnings")
    warnings = [str(w) for w in raw_warnings] if isinstance(raw_warnings, list) else []
    status = Status(url=url, checks={"api": "ok", **checks}, warnings=warnings)
    lag_buckets: dict[str, dict[float, float]] = {}  # by loop
    lag_worst: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "insights_consumer_lag_messages":
                status.lag[int(sample.labels["partition"])] = int(sample.value)
            elif sample.name == "insights_rollups_freshness_seconds":
                status.freshness = sample.value
            elif sample.name == "insights_event_loop_lag_seconds_bucket":
                loop = sample.labels.get("loop", "api")
                lag_buckets.setdefault(loop, {})[float(sample.labels["le"])] = sample.value
            elif sample.name == "insights_event_loop_lag_worst_seconds":
                lag_worst[sample.labels.get("loop", "api")] = sample.value
            elif sample.name == "insights_ingest_events_total":
                status.counts[f"ingest_{sample.labels['outcome']}"] = sample.value
            elif sample.name == "insights_worker_dead_letters_total":
                status.counts["dead_letters"] = status.counts.get("dead_letters", 0) + sample.value
            elif sample.name in (
                "insights_worker_events_written_total",
                "insights_worker_duplicates_total",
                "insights_worker_write_retries_total",
            ):
                status.counts[sample.name.removeprefix("insights_worker_").removesuffix("_total")] = (
                    sample.value
                )
    status.loop_lag = loop_lag(lag_buckets.get("api", {}), lag_worst.get("api"))
    status.worker_loop_lag = loop_lag(lag_buckets.get("worker", {}), lag_worst.get("worker"))
    return status


def describe_freshness(freshness: float | None) -> str:
    if freshness is None:
        return "not measured yet"
    if math.isnan(freshness):
        return "no event counted in the last 2 hours"
    return f"{freshness:,.1f} s behind now (newest counted event)"


def describe_loop_lag(lag: LoopLag | None) -> str:
    if lag is None:
        return "not measured by this process"
    bound = "over 2.5 s" if math.isinf(lag.bound) else f"within {lag.bound * 1000:,g} ms"
    return (
        f"worst {lag.worst * 1000:,.1f} ms in the last 10 s; "
        f"{lag.share_within:.1%} of checks since start {bound}"
    )


def render(status: Status) -> str:
    lines = [f"Insights at {status.url}: {'healthy' if status.healthy else 'UNHEALTHY'}", ""]
    lines += [f"  {'component':<12} state"]
    lines += [f"  {name:<12} {state}" for name, state in status.checks.items()]
    lines += [f"  warning: {warning}" for warning in status.warnings]
    lines += ["", f"  {'partition':<12} lag (messages not yet committed by the workers)"]
    if status.lag:
        lines += [f"  {p:<12} {lag:,}" for p, lag in sorted(status.lag.items())]
        lines += [f"  {'total':<12} {sum(status.lag.values()):,}"]
    else:
        lines += [f"  {'-':<12} not measured yet"]
    counts = status.counts
    ingest = ", ".join(f"{counts.get('ingest_' + key, 0):,.0f} {words}" for key, words in INGEST_OUTCOMES)
    worker = ", ".join(
        f"{counts.get(key, 0):,.0f} {key.replace('_', ' ')}"
        for key in ("events_written", "duplicates", "dead_letters", "write_retries")
    )
    lines += [
        "",
        f"  {'freshness':<12} {describe_freshness(status.freshness)}",
        f"  {'event loop':<12} lag {describe_loop_lag(status.loop_lag)}  (this process)",
        *(
            [f"  {'worker loop':<12} lag {describe_loop_lag(status.worker_loop_lag)}  (the worker's process)"]
            if status.worker_loop_lag is not None
            else []
        ),
        f"  {'ingest':<12} {ingest}  (this API process, since it started)",
        f"  {'worker':<12} {worker}  (this process's worker, since it started)",
    ]
    return "\n".join(lines)


def fetch_status(url: str, timeout: float = 5.0) -> Status:
    """Raises httpx.HTTPError when nothing answers at `url`."""
    with httpx.Client(base_url=url, timeout=timeout) as client:
        ready = client.get("/readyz")
        metrics = client.get("/metrics")
    readiness = ready.json() if ready.headers.get("content-type", "").startswith("application/json") else {}
    status = parse_status(url, readiness, metrics.text if metrics.status_code == 200 else "")
    if ready.status_code != 200 and not status.checks.keys() - {"api"}:
        status.checks["api"] = f"not ready (HTTP {ready.status_code})"
    return status


def as_json(status: Status) -> str:
    freshness = None if status.freshness is None or math.isnan(status.freshness) else status.freshness
    return json.dumps(
        {
            "url": status.url,
            "healthy": status.healthy,
            "checks": status.checks,
            "lag": {str(partition): lag for partition, lag in sorted(status.lag.items())},
            "freshness_seconds": freshness,
            "event_loop_lag": loop_lag_json(status.loop_lag),
            "worker_loop_lag": loop_lag_json(status.worker_loop_lag),
            "counts": status.counts,
        }
    )


def loop_lag_json(lag: LoopLag | None) -> dict[str, float | None] | None:
    if lag is None:  # the loop is not measured by the process asked
        return None
    bound = None if math.isinf(lag.bound) else lag.bound  # beyond the histogram's last bucket
    return {"worst_seconds": lag.worst, "within_seconds": bound, "share_within": lag.share_within}


def run_status(url: str, as_json_output: bool = False) -> int:
    try:
        status = fetch_status(url.rstrip("/"))
    except httpx.HTTPError as error:
        print(
            f"insights status: nothing answers at {url} ({type(error).__name__}).\n"
            "Is `insights up` (or `insights api`) running? Point --url at its address.",
            file=sys.stderr,
        )
        return UNREACHABLE
    print(as_json(status) if as_json_output else render(status))
    return HEALTHY if status.healthy else UNHEALTHY
