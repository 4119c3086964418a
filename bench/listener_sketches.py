"""What merging listener states costs: the exact states the rollups keep beside fixed-size sketches.

Reads of large entities at 10 million events are bound by merging listener sets (BENCHMARKS.md, read
latency). The API allows an approximation within 1 % above 100,000 distinct listeners, so this
measures the design choice before it is made: the same history as bench/read_latency.py (its loader),
then the same listener states per track and day three more ways (`uniqCombined64` at precisions 17
and 20, `uniqHLL12`), each in its own AggregatingMergeTree table with the rollups' layout. For the hot
track, its album and its artist over 30 and 365 days, and a mid track, it times one merge of each kind
(median of --repeat, in-process) and reports each sketch's error against the exact count.

Last, the coarse design those per-track, per-day sketches point to: one `uniqCombined64(17)` state per
entity (the track, album or artist itself) and aligned block of 2^k days (k = 0..9), so that any range
of days is the union of a few blocks (at most two per size), whatever the entity's number of tracks.
Beside it, the same blocks per track (an album or artist then unions its tracks' blocks), and what
the per-entity blocks would cost to write: one statement building them for every entity of every play
from all of `events`, timed against the rollups the loader builds from the same events.

Rerun: `.venv/bin/python bench/listener_sketches.py [--events 10000000] [--repeat 30]`; prints a table,
the JSON lands in bench/results/listener-sketches-<time>.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

from read_latency import load
from reporting import publish

from insights.migrate import migrate
from insights.store import Store

# The exact states the rollups keep, then each sketch by its aggregate function (the names are the
# functions: uniqCombined64(17) is stored as uniqCombined64State(17), read with uniqCombined64Merge(17)).
EXACT = "exact (the rollups' uniqExact)"
SKETCHES = ("uniqCombined64(17)", "uniqCombined64(20)", "uniqHLL12")
# The loader's catalog: tracks 1-10 are album 1, tracks 1-30 artist 1 (plus its collaborations,
# left out here: the same merge over a few more states); track 1 is the most played.
ENTITIES = {
    "hot track": [1],
    "its album": list(range(1, 11)),
    "its artist": list(range(1, 31)),
    "mid track": [5000],
}


def with_suffix(function: str, suffix: str) -> str:
    """uniqCombined64(17) + State -> uniqCombined64State(17)."""
    name, _, parameters = function.partition("(")
    return f"{name}{suffix}" + (f"({parameters}" if parameters else "")


def sketch_table(store: Store, function: str) -> str:
    table = "sketch_" + "".join(c if c.isalnum() else "_" for c in function).strip("_").lower()
    store.command(
        f"CREATE TABLE {table} (track_id UInt64, day Date, kafka_partition UInt16,"
        f" listeners AggregateFunction({function}, String))"
        " ENGINE = AggregatingMergeTree ORDER BY (track_id, day, kafka_partition)"
        " SETTINGS index_granularity_bytes = 65536"
    )
    store.command(
        f"INSERT INTO {table} SELECT track_id, toDate(occurred_at), kafka_partition,"
        f" {with_suffix(function, 'State')}(listener_id)"
        " FROM events WHERE type = 'play' GROUP BY track_id, toDate(occurred_at), kafka_partition"
    )
    return table


BLOCK_FUNCTION = "uniqCombined64(17)"
BLOCK_LEVELS = 10  # blocks of 1, 2, 4, ... 512 days
BLOCKS = f"{BLOCK_FUNCTION}, per entity, 2^k-day blocks"
TRACK_BLOCKS = f"{BLOCK_FUNCTION}, per track, 2^k-day blocks"


def block_table(store: Store) -> str:
    """One sketch per entity and aligned block of 2^level days (day numbers since 1970)."""
    store.command(
        "CREATE TABLE entity_blocks (entity String, level UInt8, block UInt32,"
        f" listeners AggregateFunction({BLOCK_FUNCTION}, String))"
        " ENGINE = AggregatingMergeTree ORDER BY (entity, level, block)"
        " SETTINGS index_granularity_bytes = 65536"
    )
    for entity, ids in ENTITIES.items():
        for level in range(BLOCK_LEVELS):
            store.command(
                "INSERT INTO entity_blocks SELECT {entity:String}, {level:UInt8},"
                " intDiv(toUInt32(toDate(occurred_at)), {size:UInt32}) AS block,"
                f" {with_suffix(BLOCK_FUNCTION, 'State')}(listener_id)"
                " FROM events WHERE type = 'play' AND track_id IN {ids:Array(UInt64)} GROUP BY block",
                {"entity": entity, "level": level, "size": 2**level, "ids": ids},
            )
    return "entity_blocks"


def track_block_table(store: Store) -> tuple[str, float]:
    """One sketch per track and aligned block of 2^level days, all levels built by one statement
    (as a worker would); returns the table and the seconds the build took."""
    store.command(
        "CREATE TABLE track_blocks (track_id UInt64, level UInt8, block UInt32,"
        f" listeners AggregateFunction({BLOCK_FUNCTION}, String))"
        " ENGINE = AggregatingMergeTree ORDER BY (track_id, level, block)"
        " SETTINGS index_granularity_bytes = 65536"
    )
    began = time.perf_counter()
    store.command(
        "INSERT INTO track_blocks SELECT track_id, level,"
        " intDiv(toUInt32(toDate(occurred_at)), bitShiftLeft(toUInt32(1), level)) AS block,"
        f" {with_suffix(BLOCK_FUNCTION, 'State')}(listener_id)"
        f" FROM events ARRAY JOIN range({BLOCK_LEVELS}) AS level WHERE type = 'play'"
        " GROUP BY track_id, level, block"
    )
    return "track_blocks", time.perf_counter() - began


def entity_block_build_seconds(store: Store) -> float:
    """What the per-entity blocks would cost to write: every entity of every play (its track, album
    and artists, from the catalog) at every level, from all of `events`, as one statement."""
    store.command(
        "CREATE TABLE all_entity_blocks (kind UInt8, entity_id UInt64, level UInt8, block UInt32,"
        f" listeners AggregateFunction({BLOCK_FUNCTION}, String))"
        " ENGINE = AggregatingMergeTree ORDER BY (kind, entity_id, level, block)"
        " SETTINGS index_granularity_bytes = 65536"
    )
    began = time.perf_counter()
    store.command(
        "INSERT INTO all_entity_blocks SELECT entity.1 AS kind, entity.2 AS entity_id, level,"
        " intDiv(toUInt32(toDate(occurred_at)), bitShiftLeft(toUInt32(1), level)) AS block,"
        f" {with_suffix(BLOCK_FUNCTION, 'State')}(listener_id)"
        " FROM events AS e INNER JOIN (SELECT track_id, album_id, artist_ids FROM tracks FINAL) AS t"
        " ON e.track_id = t.track_id"
        " ARRAY JOIN arrayConcat([(0, t.track_id), (1, assumeNotNull(t.album_id))],"
        " arrayMap(a -> (2, a), t.artist_ids)) AS entity"
        f" ARRAY JOIN range({BLOCK_LEVELS}) AS level WHERE type = 'play'"
        " GROUP BY kind, entity_id, level, block"
    )
    return time.perf_counter() - began


def dyadic_cover(first: int, last: int) -> list[tuple[int, int]]:
    """The aligned blocks (level, block number) that tile days [first, last], largest first."""
    cover = []
    while first <= last:
        level = 0
        while (
            level + 1 < BLOCK_LEVELS
            and first % 2 ** (level + 1) == 0
            and first + 2 ** (level + 1) - 1 <= last
        ):
            level += 1
        cover.append((level, first // 2**level))
        first += 2**level
    return cover


def timed(store: Store, sql: str, parameters: dict[str, Any], repeat: int) -> tuple[float, int]:
    value = int(store.query_rows(sql, parameters)[0][0])  # warm-up
    spent = []
    for _ in range(repeat):
        began = time.perf_counter()
        store.query_rows(sql, parameters)
        spent.append((time.perf_counter() - began) * 1000)
    return statistics.median(spent), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sketches-") as tmp:
        store = Store(f"chdb://{tmp}/clickhouse")
        try:
            migrate(store)
            print("loaded:", load(store, args.events, 10_000))
            merges = {EXACT: ("track_daily", "uniqExactMerge(listeners)")} | {
                function: (sketch_table(store, function), f"{with_suffix(function, 'Merge')}(listeners)")
                for function in SKETCHES
            }
            blocks = block_table(store)
            track_blocks, build_s = track_block_table(store)
            print(f"per-track blocks built in {build_s:.1f} s")
            print(f"per-entity blocks, every entity, built in {entity_block_build_seconds(store):.1f} s")
            today = int(store.query_rows("SELECT toUInt32(today())")[0][0])
            for entity, ids in ENTITIES.items():
                for days in (30, 365):
                    exact = None
                    queries = {
                        name: (
                            f"SELECT {merge} FROM {table} WHERE track_id IN {{ids:Array(UInt64)}}"
                            " AND day > today() - {days:UInt16}",
                            {"ids": ids, "days": days},
                        )
                        for name, (table, merge) in merges.items()
                    }
                    queries[BLOCKS] = (
                        f"SELECT {with_suffix(BLOCK_FUNCTION, 'Merge')}(listeners) FROM {blocks}"
                        " WHERE entity = {entity:String}"
                        " AND (level, block) IN {cover:Array(Tuple(UInt8, UInt32))}",
                        {"entity": entity, "cover": dyadic_cover(today - days + 1, today)},
                    )
                    queries[TRACK_BLOCKS] = (
                        f"SELECT {with_suffix(BLOCK_FUNCTION, 'Merge')}(listeners) FROM {track_blocks}"
                        " WHERE track_id IN {ids:Array(UInt64)}"
                        " AND (level, block) IN {cover:Array(Tuple(UInt8, UInt32))}",
                        {"ids": ids, "cover": dyadic_cover(today - days + 1, today)},
                    )
                    for name, (sql, parameters) in queries.items():
                        ms, value = timed(store, sql, parameters, args.repeat)
                        exact = value if exact is None else exact
                        error = 100 * (value - exact) / exact if exact else 0.0
                        rows.append(
                            {
                                "entity": entity,
                                "days": days,
                                "kind": name,
                                "median_ms": round(ms, 2),
                                "listeners": value,
                                "error_pct": round(error, 3),
                            }
                        )
                        print(
                            f"{entity:>10} {days:>3} d  {name:<32} {ms:8.2f} ms  {value:>9,}  {error:+.3f} %"
                        )
        finally:
            store.close()
    publish("listener-sketches", {"events": args.events, "rows": rows})


if __name__ == "__main__":
    main()
