"""The figures statement: the one statement every reader of figures runs, whether it counts one set of
tracks (a track, an album, an artist: the analytics endpoints) or many entities at once (the exports).

Its rows are told apart by `part`: the previous range's (0) and the range's (1) counters, the all-time
totals (2), and, for a group whose range listeners come from sketches, its tracks' range figures (3).
The parts are a UNION ALL, which the engine runs side by side on two cores where a join of them ran
one after the other: large albums and artists answer about a third sooner, for the same CPU.

Many entities at once: each part also groups by `entity_id`, joining the rows' tracks to the CTE
`members (entity_id, track_id)` the caller puts in front, so each entity counts its listeners once
however many of its tracks they played, exactly as the single-set statement does for that entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from string import Template
from typing import Any, NamedTuple

PREVIOUS, PERIOD, ALL_TIME, TRACKS = 0, 1, 2, 3


@dataclass(frozen=True)
class Figures:
    """An entity's figures over a range: range values, all-time totals, and the previous range's for
    growth."""

    plays_total: int = 0
    listeners_total: int = 0
    plays: int = 0
    listeners: int = 0
    likes: int = 0
    reposts: int = 0
    previous_plays: int = 0
    previous_listeners: int = 0
    # How long the range's plays were listened to (docs/api.md, "Listening").
    qualified_plays: int = 0
    listened_ms: int = 0
    timed_plays: int = 0


# Listeners merged exactly, or as the union of the rows' sketches (past 100,000 listeners).
EXACT_LISTENERS = "uniqExactMerge(listeners)"
SKETCHED_LISTENERS = "uniqCombined64Merge(17)(listeners_sketch)"


class Source(NamedTuple):
    """Where a range part reads its rows: a FROM clause (`$join`: where the members join, `$tracks`:
    the tracks read) and the condition of a row in the range (part 1) rather than the previous (0)."""

    rows: str
    in_range: str

    def reading(self, shape: Shape) -> str:
        """The FROM clause for `shape`'s tracks."""
        return Template(self.rows).substitute(shape._asdict())


def utc_days(kind: str) -> Source:
    """The UTC days of `track_daily` from {kind_from} to {kind_to} (query parameters)."""
    return Source(
        f"""FROM track_daily$join
    WHERE track_id IN $tracks
      AND day >= {{{kind}_from:Date}} AND day <= {{{kind}_to:Date}}""",
        "day >= {start:Date}",
    )


EDGES = 4  # quarter-hour ranges a local range reads at most: three ends and one spare

# The rows of a local range in any zone: whole UTC days, and the quarters of the days that are not
# whole (docs/pipeline.md, "Local days in any time zone").
_LOCAL_ROWS = """
    SELECT track_id, toDateTime(day, 'UTC') AS at, plays, listeners, likes, reposts,
        qualified_plays, listened_total_ms, timed_plays
    FROM track_daily
    WHERE track_id IN $tracks
      AND ((day >= {days_from0:Date} AND day <= {days_to0:Date})
        OR (day >= {days_from1:Date} AND day <= {days_to1:Date}))
    UNION ALL
    SELECT track_id, quarter AS at, plays, listeners, likes, reposts,
        qualified_plays, listened_total_ms, timed_plays
    FROM track_quarter
    WHERE track_id IN $tracks AND (EDGES)"""
_EDGE = (
    "(quarter >= toDateTime({{q_from{i}:Int64}}, 'UTC') AND quarter < toDateTime({{q_to{i}:Int64}}, 'UTC'))"
)
LOCAL_ROWS = _LOCAL_ROWS.replace("EDGES", " OR ".join(_EDGE.format(i=i) for i in range(EDGES)))
LOCAL_DAYS = Source(f"FROM ({LOCAL_ROWS}) AS x$join", "at >= toDateTime({start:Int64}, 'UTC')")


class Part(NamedTuple):
    """A range part: its rows, how its listeners merge, and whether it also lists each track's range
    plays and listeners (a group's, counted exactly)."""

    source: Source
    listeners: str = EXACT_LISTENERS
    per_track: bool = False


class Shape(NamedTuple):
    """Whose figures a statement counts: one set of tracks, or each entity of `members`."""

    tracks: str
    join: str
    entity: str
    by_entity: str


ONE_SET = Shape("{track_ids:Array(UInt64)}", "", "", "")
ENTITIES = Shape(
    "(SELECT track_id FROM members)",
    " INNER JOIN members USING (track_id)",
    "entity_id, ",
    "\nGROUP BY entity_id",
)

_TOTALS = """
SELECT ${entity}2 AS part, sum(plays) AS plays, $listeners AS listeners, 0 AS likes, 0 AS reposts,
    0, 0, 0$empty
FROM track_totals$join
WHERE track_id IN $tracks$by_entity"""

_RANGE = """
UNION ALL
SELECT ${entity}$in_range AS part, sum(plays), $listeners, sum(likes), sum(reposts),
    sum(qualified_plays), sum(listened_total_ms), sum(timed_plays)$empty
$rows
GROUP BY ${entity}part
"""

# Listener sets are merged per track and part first, then the tracks' sets into the group's, so a
# listener of several tracks still counts once.
_RANGE_PER_TRACK = """
UNION ALL
SELECT ${entity}part, sum(plays), uniqExactMerge(listeners), sum(likes), sum(reposts),
    sum(qualified_plays), sum(listened_total_ms), sum(timed_plays),
    groupArrayIf((track_id, plays, finalizeAggregation(listeners)), part = 1)
FROM
(
    SELECT ${entity}track_id, $in_range AS part, sum(plays) AS plays,
        uniqExactMergeState(listeners) AS listeners, sum(likes) AS likes, sum(reposts) AS reposts,
        sum(qualified_plays) AS qualified_plays, sum(listened_total_ms) AS listened_total_ms,
        sum(timed_plays) AS timed_plays
    $rows
    GROUP BY ${entity}track_id, part
)
GROUP BY ${entity}part
"""


def figures_statement(
    parts: Sequence[Part], *, all_time: str = EXACT_LISTENERS, group: bool = False, shape: Shape = ONE_SET
) -> str:
    """The all-time totals and `parts`; with `group`, every row ends with a list of tracks' figures
    (empty but in the parts that list them)."""
    names = shape._asdict()
    sql = Template(_TOTALS).substitute(names, listeners=all_time, empty=", [] AS per_track" if group else "")
    for part in parts:
        template = _RANGE_PER_TRACK if part.per_track else _RANGE
        rows = part.source.reading(shape)
        empty = ", []" if group and not part.per_track else ""
        sql += Template(template).substitute(
            names, rows=rows, in_range=part.source.in_range, listeners=part.listeners, empty=empty
        )
    return sql


def figures_of_parts(rows: Sequence[Sequence[Any]]) -> Figures:
    """The parts' rows (part, plays, listeners, likes, reposts, qualified plays, listened ms, timed
    plays, ...) -> Figures; a part with no row in range counts zero."""
    parts = {int(part): [int(v) for v in values[:7]] for part, *values in rows}
    empty = [0] * 7
    total, period, previous = (parts.get(p, empty) for p in (ALL_TIME, PERIOD, PREVIOUS))
    plays, listeners, likes, reposts, qualified, listened, timed = period
    return Figures(
        total[0],
        total[1],
        plays,
        listeners,
        likes,
        reposts,
        previous[0],
        previous[1],
        qualified,
        listened,
        timed,
    )


def figures_by_entity(rows: Sequence[Sequence[Any]]) -> dict[int, Figures]:
    """An ENTITIES statement's rows (entity_id, part, ...) -> each entity's figures."""
    parts: dict[int, list[Sequence[Any]]] = {}
    for entity_id, *row in rows:
        parts.setdefault(int(entity_id), []).append(row)
    return {entity_id: figures_of_parts(found) for entity_id, found in parts.items()}
