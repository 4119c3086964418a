"""Read queries for tracks, from the rollups only (never the raw events), one round trip each."""

from __future__ import annotations

from dataclasses import dataclass

from insights.store import Store
from schemas.periods import PeriodBounds

TRACK_ANALYTICS_SQL = """
SELECT t.known, t.plays_total, t.listeners_total,
       d.period_plays, d.period_listeners, d.period_likes, d.period_reposts,
       d.previous_plays, d.previous_listeners
FROM
(
    SELECT count() > 0 AS known,
           sum(plays) AS plays_total,
           uniqExactMerge(listeners) AS listeners_total
    FROM track_totals
    WHERE track_id = {track_id:UInt64}
) AS t
CROSS JOIN
(
    SELECT
        sumIf(plays, day >= {start:Date}) AS period_plays,
        uniqExactMergeIf(listeners, day >= {start:Date}) AS period_listeners,
        sumIf(likes, day >= {start:Date}) AS period_likes,
        sumIf(reposts, day >= {start:Date}) AS period_reposts,
        sumIf(plays, day < {start:Date}) AS previous_plays,
        uniqExactMergeIf(listeners, day < {start:Date}) AS previous_listeners
    FROM track_daily
    WHERE track_id = {track_id:UInt64} AND day >= {previous_start:Date} AND day <= {today:Date}
) AS d
"""


@dataclass(frozen=True)
class TrackFigures:
    known: bool
    plays_total: int
    listeners_total: int
    plays: int
    listeners: int
    likes: int
    reposts: int
    previous_plays: int
    previous_listeners: int


async def track_figures(store: Store, track_id: int, bounds: PeriodBounds) -> TrackFigures:
    rows = await store.aquery_rows(
        TRACK_ANALYTICS_SQL,
        {
            "track_id": track_id,
            "start": bounds.start,
            "previous_start": bounds.previous_start,
            "today": bounds.today,
        },
    )
    known, *counts = rows[0]
    return TrackFigures(bool(known), *(int(c) for c in counts))
