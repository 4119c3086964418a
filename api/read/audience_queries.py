"""Where and how they listen: plays and listeners of a set of tracks by country, source or platform,
over local days of any zone, from the audience rollups only (schemas/clickhouse/013_audience.sql).

Like the figures (api/read/local_day_queries.py), a range is its whole UTC days from
`track_audience_daily` and its ragged ends by quarter-hour from `track_audience_quarter`; every value is
a query parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from api.read.local_day_queries import NO_DAYS, Span, split
from insights.store import Store
from schemas.local_ranges import LocalRange

AUDIENCE_FROM_SQL = "SELECT max(since) FROM audience_from"
EDGES = 2  # a range has at most two ragged ends

_EDGE = (
    "(quarter >= toDateTime({{q_from{i}:Int64}}, 'UTC') AND quarter < toDateTime({{q_to{i}:Int64}}, 'UTC'))"
)

# Rows by value, ranked by plays then value, the unknown ('') apart; `kind` 0 = a row within the limit,
# 1 = past it (`other`: plays summed, listeners merged across them), 2 = unknown. The listener sets
# are merged per value first, so a listener counts once per row, and once across `other`.
BREAKDOWN_SQL = f"""
SELECT kind, groupArrayIf((value, plays, finalizeAggregation(listeners)), kind = 0),
    sum(plays), uniqExactMerge(listeners)
FROM
(
    SELECT value, plays, listeners,
        multiIf(value = '', 2, row_number() OVER (PARTITION BY value = '' ORDER BY plays DESC, value)
            <= {{limit:UInt32}}, 0, 1) AS kind
    FROM
    (
        SELECT value, sum(plays) AS plays, uniqExactMergeState(listeners) AS listeners
        FROM
        (
            SELECT value, plays, listeners
            FROM track_audience_daily
            WHERE track_id IN {{track_ids:Array(UInt64)}} AND dimension = {{dimension:String}}
              AND day >= {{days_from:Date}} AND day <= {{days_to:Date}}
            UNION ALL
            SELECT value, plays, listeners
            FROM track_audience_quarter
            WHERE track_id IN {{track_ids:Array(UInt64)}} AND dimension = {{dimension:String}}
              AND ({" OR ".join(_EDGE.format(i=i) for i in range(EDGES))})
        )
        GROUP BY value
    )
)
GROUP BY kind"""


@dataclass(frozen=True)
class Slice:
    value: str
    plays: int
    listeners: int


@dataclass(frozen=True)
class Breakdown:
    rows: list[Slice]  # ranked: most plays first, then value
    other: Slice  # the values past the limit together (value "")
    unknown: Slice  # plays that did not say (value "")

    @property
    def plays(self) -> int:
        return sum(r.plays for r in self.rows) + self.other.plays + self.unknown.plays


def breakdown_parameters(chosen: LocalRange) -> dict[str, Any]:
    days, ends = split(chosen.start, chosen.end)
    parameters: dict[str, Any] = {}
    parameters["days_from"], parameters["days_to"] = days or NO_DAYS
    spans: list[Span] = ends + [(chosen.start, chosen.start)] * (EDGES - len(ends))
    for i, (lo, hi) in enumerate(spans):
        parameters[f"q_from{i}"], parameters[f"q_to{i}"] = int(lo.timestamp()), int(hi.timestamp())
    return parameters


def quarter_spans(chosen: LocalRange) -> list[Span]:
    """The quarter-hour spans a breakdown of `chosen` reads."""
    return split(chosen.start, chosen.end)[1]


async def breakdown(
    store: Store, track_ids: Sequence[int], dimension: str, chosen: LocalRange, limit: int
) -> Breakdown:
    parameters = breakdown_parameters(chosen) | {
        "track_ids": list(track_ids),
        "dimension": dimension,
        "limit": limit,
    }
    rows = await store.aquery_rows(BREAKDOWN_SQL, parameters)
    kinds = {int(kind): (ranked, int(plays), int(listeners)) for kind, ranked, plays, listeners in rows}
    ranked = sorted(
        (Slice(str(v), int(p), int(u)) for v, p, u in kinds.get(0, ([], 0, 0))[0]),
        key=lambda s: (-s.plays, s.value),
    )
    other, unknown = (Slice("", *kinds.get(kind, ([], 0, 0))[1:]) for kind in (1, 2))
    return Breakdown(ranked, other, unknown)


def share(plays: int, all_plays: int) -> float:
    """plays / all_plays x 100, half away from zero to 1 decimal (0.0 when nothing was played)."""
    if all_plays == 0:
        return 0.0
    exact = Decimal(plays) * 100 / Decimal(all_plays)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def breakdown_json(found: Breakdown) -> dict[str, Any]:
    total = found.plays
    return {
        "rows": [
            {"value": r.value, "plays": r.plays, "listeners": r.listeners, "share": share(r.plays, total)}
            for r in found.rows
        ],
        "other": {"plays": found.other.plays, "listeners": found.other.listeners},
        "unknown": {"plays": found.unknown.plays, "listeners": found.unknown.listeners},
    }


def average_ms(total_ms: int, timed_plays: int) -> int | None:
    """total_ms / timed_plays rounded half up to an integer; None when no play said how long."""
    if timed_plays == 0:
        return None
    return (2 * total_ms + timed_plays) // (2 * timed_plays)


def listening_json(qualified_plays: int, total_ms: int, timed_plays: int) -> dict[str, Any]:
    return {
        "qualified_plays": qualified_plays,
        "total_ms": total_ms,
        "avg_ms": average_ms(total_ms, timed_plays),
    }


def before(spans: Sequence[Span], since: datetime) -> bool:
    return any(lo < since for lo, hi in spans if lo < hi)
