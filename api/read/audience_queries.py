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

_EDGES = " OR ".join(_EDGE.format(i=i) for i in range(EDGES))

# Rows by entity, dimension and value, ranked by plays then value, the unknown ('') apart; `kind` 0 = a
# row within the limit, 1 = past it (`other`: plays summed, listeners merged across them), 2 = unknown.
# The listener sets are merged per value first, so a listener counts once per row, and once across
# `other`. One statement serves one set of tracks (the breakdown endpoints: entity 0, no join) and many
# entities at once (the exports: `members` maps each entity to its tracks, whose listeners merge).
_SLICES_SQL = f"""{{members}}
SELECT entity_id, dimension, kind, groupArrayIf((value, plays, finalizeAggregation(listeners)), kind = 0),
    sum(plays), uniqExactMerge(listeners)
FROM
(
    SELECT entity_id, dimension, value, plays, listeners,
        multiIf(value = '', 2, row_number() OVER (
            PARTITION BY entity_id, dimension, value = '' ORDER BY plays DESC, value
        ) <= {{{{limit:UInt32}}}}, 0, 1) AS kind
    FROM
    (
        SELECT {{entity}} AS entity_id, dimension, value, sum(plays) AS plays,
            uniqExactMergeState(listeners) AS listeners
        FROM
        (
            SELECT track_id, dimension, value, plays, listeners
            FROM track_audience_daily
            WHERE track_id IN {{tracks}} AND dimension IN {{{{dimensions:Array(String)}}}}
              AND day >= {{{{days_from:Date}}}} AND day <= {{{{days_to:Date}}}}
            UNION ALL
            SELECT track_id, dimension, value, plays, listeners
            FROM track_audience_quarter
            WHERE track_id IN {{tracks}} AND dimension IN {{{{dimensions:Array(String)}}}}
              AND ({_EDGES.replace("{", "{{").replace("}", "}}")})
        ) AS x{{join}}
        GROUP BY entity_id, dimension, value
    )
)
GROUP BY entity_id, dimension, kind"""

# One set of tracks, `track_ids`, as entity 0.
BREAKDOWN_SQL = _SLICES_SQL.format(members="", entity="0", tracks="{track_ids:Array(UInt64)}", join="")


def entities_breakdown_sql(members: str) -> str:
    """The statement for many entities: `members` selects (entity_id, track_id) pairs."""
    return _SLICES_SQL.format(
        members=f"WITH members AS ({members})",
        entity="m.entity_id",
        tracks="(SELECT track_id FROM members)",
        join=" INNER JOIN members AS m ON x.track_id = m.track_id",
    )


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


NO_SLICE = Slice("", 0, 0)
NO_BREAKDOWN = Breakdown([], NO_SLICE, NO_SLICE)
Breakdowns = dict[tuple[int, str], Breakdown]  # (entity id, dimension) -> its breakdown


def breakdowns_of(rows: Sequence[tuple[Any, ...]]) -> Breakdowns:
    """The statement's rows (entity, dimension, kind, ranked rows, plays, listeners) by entity and
    dimension; an entity or dimension without a play in the range has none."""
    parts: dict[tuple[int, str], dict[int, tuple[Any, int, int]]] = {}
    for entity_id, dimension, kind, ranked, plays, listeners in rows:
        kinds = parts.setdefault((int(entity_id), str(dimension)), {})
        kinds[int(kind)] = (ranked, int(plays), int(listeners))
    found: Breakdowns = {}
    for key, kinds in parts.items():
        ranked = sorted(
            (Slice(str(v), int(p), int(u)) for v, p, u in kinds.get(0, ([], 0, 0))[0]),
            key=lambda s: (-s.plays, s.value),
        )
        other, unknown = (Slice("", *kinds.get(kind, ([], 0, 0))[1:]) for kind in (1, 2))
        found[key] = Breakdown(ranked, other, unknown)
    return found


async def breakdown(
    store: Store, track_ids: Sequence[int], dimension: str, chosen: LocalRange, limit: int
) -> Breakdown:
    """One set of tracks by one dimension (the breakdown endpoints)."""
    return (await group_breakdowns(store, track_ids, [dimension], chosen, limit))[dimension]


async def group_breakdowns(
    store: Store, track_ids: Sequence[int], dimensions: Sequence[str], chosen: LocalRange, limit: int
) -> dict[str, Breakdown]:
    """One set of tracks together by each of `dimensions`, in one statement."""
    parameters = breakdown_parameters(chosen) | {
        "track_ids": list(track_ids),
        "dimensions": list(dimensions),
        "limit": limit,
    }
    found = breakdowns_of(await store.aquery_rows(BREAKDOWN_SQL, parameters))
    return {dimension: found.get((0, dimension), NO_BREAKDOWN) for dimension in dimensions}


async def entity_breakdowns(
    store: Store,
    statement: str,
    parameters: dict[str, Any],
    dimensions: Sequence[str],
    chosen: LocalRange,
    limit: int,
) -> Breakdowns:
    """Many entities by several dimensions in one statement (entities_breakdown_sql), each entity's
    breakdowns as the endpoint answers them for its tracks."""
    parameters = parameters | breakdown_parameters(chosen) | {"dimensions": list(dimensions), "limit": limit}
    return breakdowns_of(await store.aquery_rows(statement, parameters))


def share(plays: int, all_plays: int) -> float:
    """plays / all_plays x 100, half away from zero to 1 decimal (0.0 when nothing was played)."""
    if all_plays == 0:
        return 0.0
    exact = Decimal(plays) * 100 / Decimal(all_plays)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def average_ms(total_ms: int, timed_plays: int) -> int | None:
    """total_ms / timed_plays rounded half up to an integer; None when no play said how long."""
    if timed_plays == 0:
        return None
    return (2 * total_ms + timed_plays) // (2 * timed_plays)


def before(spans: Sequence[Span], since: datetime) -> bool:
    return any(lo < since for lo, hi in spans if lo < hi)
