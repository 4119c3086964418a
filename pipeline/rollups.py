"""The rollups the worker builds from the `events` table, one INSERT ... SELECT each.

`{ranges}` is filled with offset-range conditions made only of query-parameter placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_COUNTERS = """
    countIf(type = 'play') AS plays,
    countIf(type = 'like') AS likes,
    countIf(type = 'repost') AS reposts,
    uniqExactStateIf(listener_id, type = 'play') AS listeners,
    max(kafka_offset) AS max_offset"""


# The SELECT already groups by the table's sorting key, so merging equal keys again on insert only
# costs time (measured: a fifth of the statement); the worker builds the rollups side by side, one
# thread each (pipeline/sink.py).
# Every build is squashed into one block, hence one part, so its counts and its progress marker land
# together or not at all, on a server as in the embedded engine.
ONE_PART = "max_insert_threads = 1, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0"
INSERT_SETTINGS = "\nSETTINGS optimize_on_insert = 0, max_threads = 1, " + ONE_PART


@dataclass(frozen=True)
class Rollup:
    table: str
    columns: tuple[str, ...]
    select: str
    # How far it got per partition, if its rows do not keep kafka_partition and max_offset.
    marker: str | None = None

    def catch_up_sql(self, partitions: int, fenced_by: str = "") -> str:
        """The build over `partitions` offset ranges; `fenced_by`, a condition on kafka_partition,
        keeps it from writing any partition the condition refuses.

        `ingested_since` (a parameter) is a time no event of the ranges was stored before: the engine
        then skips the parts written earlier by their time range alone, where the offset ranges alone
        made it look into every part of the table (a few granules each; many parts wait to be merged
        while reads keep the machine busy, and each rollup of every flush paid for them all)."""
        ranges = " OR ".join(
            f"(kafka_partition = {{p{i}:UInt16}} AND kafka_offset > {{lo{i}:Int64}}"
            f" AND kafka_offset <= {{hi{i}:UInt64}})"
            for i in range(partitions)
        )
        ranges = f"ingested_at >= toDateTime({{ingested_since:UInt32}}, 'UTC') AND ({ranges})"
        if fenced_by:
            ranges = f"({ranges}) AND {fenced_by}"
        columns = ", ".join(self.columns)
        statement = f"INSERT INTO {self.table} ({columns})" + self.select.replace("{ranges}", ranges)
        return statement + INSERT_SETTINGS

    @property
    def marker_sql(self) -> str:
        if self.marker is not None:
            return self.marker
        return (
            f"SELECT kafka_partition, max(max_offset) FROM {self.table}"
            " WHERE kafka_partition IN {partitions:Array(UInt16)} GROUP BY kafka_partition"
        )


def range_parameters(ranges: Mapping[int, tuple[int, int]], ingested_since: int = 0) -> dict[str, Any]:
    """{partition: (after_offset, up_to_offset)} -> the p0/lo0/hi0... parameters of catch_up_sql, and
    the time (Unix seconds) no event of those ranges was stored before, if one is known."""
    parameters: dict[str, Any] = {"ingested_since": ingested_since}
    for i, (partition, (after, up_to)) in enumerate(sorted(ranges.items())):
        parameters |= {f"p{i}": partition, f"lo{i}": after, f"hi{i}": up_to}
    return parameters


_COUNTER_COLUMNS = ("plays", "likes", "reposts", "listeners", "max_offset")

# How long plays were listened to (schemas/clickhouse/013_audience.sql): plays of 30 s or more (the
# industry's rule for a counted stream), the milliseconds listened, and the plays that said how long.
_LISTENING = """,
    countIf(type = 'play' AND listened_ms >= 30000) AS qualified_plays,
    sumIf(ifNull(listened_ms, 0), type = 'play') AS listened_total_ms,
    countIf(type = 'play' AND listened_ms IS NOT NULL) AS timed_plays"""
_LISTENING_COLUMNS = ("qualified_plays", "listened_total_ms", "timed_plays")


# The listeners again as a fixed-size sketch (schemas/clickhouse/008_all_time_sketches.sql for the
# all-time totals, 009_daily_sketches.sql for the days).
_SKETCH = """,
    uniqCombined64StateIf(17)(listener_id, type = 'play') AS listeners_sketch"""


def counter_rollup(
    table: str,
    bucket: tuple[str, str] | None = None,
    window: str | None = None,
    sketch: bool = False,
    listening: bool = False,
) -> Rollup:
    """A rollup of the play/like/repost counters and listener states per track, per `bucket`
    (column name, expression) if given, built only from events younger than `window` if given, with
    a sketch of the listeners too if `sketch`, and the listening sums if `listening`."""
    keys = ("track_id", *(bucket[:1] if bucket else ()), "kafka_partition")
    selected = ", ".join(
        f"{bucket[1]} AS {bucket[0]}" if bucket and key == bucket[0] else key for key in keys
    )
    younger = f" AND occurred_at >= now() - INTERVAL {window}" if window else ""
    return Rollup(
        table=table,
        columns=(
            *keys,
            *_COUNTER_COLUMNS,
            *(("listeners_sketch",) if sketch else ()),
            *(_LISTENING_COLUMNS if listening else ()),
        ),
        select=f"""
SELECT {selected},{_COUNTERS}{_SKETCH if sketch else ""}{_LISTENING if listening else ""}
FROM events
WHERE type != 'heartbeat'{younger} AND ({{ranges}})
GROUP BY {", ".join(keys)}""",
    )


TRACK_DAILY = counter_rollup("track_daily", ("day", "toDate(occurred_at)"), sketch=True, listening=True)
TRACK_TOTALS = counter_rollup("track_totals", sketch=True)
# Short-lived rollups read only events younger than their window; being excluded is permanent (an
# event only gets older), which keeps their progress markers exact (see 004_hourly_and_realtime.sql).
TRACK_HOURLY = counter_rollup("track_hourly", ("hour", "toStartOfHour(occurred_at)"), window="8 DAY")
# Every local day, hour, week and month of any time zone is a union of UTC quarter-hours
# (schemas/clickhouse/012_quarter_hour_rollup.sql).
TRACK_QUARTER = counter_rollup(
    "track_quarter", ("quarter", "toStartOfFifteenMinutes(occurred_at)"), listening=True
)


# The dimensions already as the column's Enum8: grouping by a one-byte value rather than a name, and no
# conversion on insert (measured: a tenth of the build).
_DIMENSIONS = "CAST([1, 2, 3], 'Array(Enum8(\\'country\\' = 1, \\'source\\' = 2, \\'platform\\' = 3))')"


def audience_rollup(table: str, bucket: tuple[str, str]) -> Rollup:
    """Plays and listener states per track, dimension (country, source, platform), `bucket` and value
    ('' when the play did not say): each play is counted once under each dimension."""
    name, expression = bucket
    keys = ("track_id", "dimension", name, "value", "kafka_partition")
    return Rollup(
        table=table,
        columns=(*keys, "plays", "listeners", "max_offset"),
        select=f"""
SELECT track_id, dimension, {expression} AS {name}, value, kafka_partition,
    count() AS plays,
    uniqExactState(listener_id) AS listeners,
    max(kafka_offset) AS max_offset
FROM events
ARRAY JOIN {_DIMENSIONS} AS dimension, [country, source, platform] AS value
WHERE type = 'play' AND ({{ranges}})
GROUP BY {", ".join(keys)}""",
    )


# Breakdowns of local days like the figures: whole UTC days, and quarter-hours for the ragged ends.
TRACK_AUDIENCE_DAILY = audience_rollup("track_audience_daily", ("day", "toDate(occurred_at)"))
TRACK_AUDIENCE_QUARTER = audience_rollup(
    "track_audience_quarter", ("quarter", "toStartOfFifteenMinutes(occurred_at)")
)

TRACK_REALTIME = Rollup(
    table="track_realtime",
    columns=("track_id", "second", "kafka_partition", "plays", "active", "max_offset"),
    select="""
SELECT track_id, toStartOfSecond(occurred_at) AS second, kafka_partition,
    countIf(type = 'play') AS plays,
    uniqExactState(listener_id) AS active,
    max(kafka_offset) AS max_offset
FROM events
WHERE type IN ('play', 'heartbeat') AND occurred_at >= now() - INTERVAL 2 HOUR AND ({ranges})
GROUP BY track_id, second, kafka_partition""",
)

# Listener sketches per entity and calendar block (schemas/clickhouse/016_listener_blocks.sql): each
# play of a track counts towards the track's week and month, and its album's and artists' day, week,
# month and all time, under the catalog of the moment it is built. Rows do not keep the partition, so
# that a block is one sketch whichever partitions its tracks' events came through: how far the rollup
# got is a progress row per partition (kind 0), written in the same statement, hence the same part.
_ENTITY_GRAINS = """if(entity.1 = 1, [(toUInt8(2), toMonday(day)), (toUInt8(3), toStartOfMonth(day))],
           [(toUInt8(1), day), (toUInt8(2), toMonday(day)), (toUInt8(3), toStartOfMonth(day)),
            (toUInt8(4), toDate(0))])"""
_ENTITIES = """arrayConcat(
        [(toUInt8(1), track_id)],
        if(isNull(placed.1), [], [(toUInt8(2), assumeNotNull(placed.1))]),
        arrayMap(artist -> (toUInt8(3), artist), arrayDistinct(placed.2)))"""
LISTENER_BLOCKS = Rollup(
    table="listener_blocks",
    columns=("kind", "entity_id", "grain", "start", "plays", "fingerprint", "listeners", "max_offset"),
    select=f"""
SELECT block.1, block.2, block.3, block.4, count(), sum(cityHash64(track_id)),
    uniqCombined64State(17)(listener_id), toUInt64(0)
FROM
(
    SELECT track_id, listener_id, toDate(occurred_at) AS day
    FROM events
    WHERE type = 'play' AND ({{ranges}})
) AS played
LEFT JOIN
(
    SELECT track_id, argMax((album_id, artist_ids), version) AS placed
    FROM tracks
    WHERE track_id IN (SELECT track_id FROM events WHERE type = 'play' AND ({{ranges}}))
    GROUP BY track_id
) AS catalog USING (track_id)
ARRAY JOIN arrayFlatten(arrayMap(
    entity -> arrayMap(grain -> (entity.1, entity.2, grain.1, grain.2), {_ENTITY_GRAINS}),
    {_ENTITIES})) AS block
GROUP BY block.1, block.2, block.3, block.4
UNION ALL
SELECT 0, kafka_partition, 0, toDate(0), 0, 0, uniqCombined64StateIf(17)('', 0), max(kafka_offset)
FROM events
WHERE ({{ranges}})
GROUP BY kafka_partition""",
    marker="SELECT entity_id, max(max_offset) FROM listener_blocks"
    " WHERE kind = 0 AND entity_id IN {partitions:Array(UInt16)} GROUP BY entity_id",
)

ROLLUPS: tuple[Rollup, ...] = (
    TRACK_REALTIME,
    TRACK_HOURLY,
    TRACK_DAILY,
    TRACK_TOTALS,
    TRACK_QUARTER,
    TRACK_AUDIENCE_DAILY,
    TRACK_AUDIENCE_QUARTER,
    LISTENER_BLOCKS,
)
