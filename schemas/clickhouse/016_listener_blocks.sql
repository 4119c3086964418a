-- Listeners of popular entities from a few large sketches (docs/read-path.md, "Listener blocks").
-- One listener sketch per entity and calendar block, kept by the worker beside the per-track rollups:
-- albums and artists per UTC day, ISO week, calendar month and all time; tracks per week and month
-- (their days and all time are track_daily's and track_totals' own sketches). Each block also sums its
-- plays and a fingerprint of them (cityHash64 of the track played, summed over the plays, modulo
-- 2^64), which is how a reader tells a block built under the entity's tracks of now from one built
-- under others: it is sound only if both equal those of the tracks' own day rows.
-- kind: 0 progress, 1 track, 2 album, 3 artist; grain: 1 day, 2 week, 3 month, 4 all time (start
-- 1970-01-01). A progress row (kind 0, entity_id = the Kafka partition) holds how far the rollup got.
-- Granules of 64 kB (a large sketch is about 100 kB): reading an entity's few blocks reads little else.
-- This migration builds the blocks from the day sketches already stored, under the catalog of now,
-- for every day since the day sketches began (daily_sketches_from), and records the day rollup's
-- progress as its own: every event in track_daily is in the blocks, and the worker goes on from there.
-- Days before the day sketches get no block, so their blocks are never sound and are read as before.
-- Run with workers stopped (`insights up` migrates before its worker starts). Rerunning is safe: the
-- table is emptied and built again.
-- needs: stopped workers
CREATE TABLE IF NOT EXISTS listener_blocks
(
    kind        UInt8,
    entity_id   UInt64,
    grain       UInt8,
    start       Date,
    plays       SimpleAggregateFunction(sum, UInt64),
    fingerprint SimpleAggregateFunction(sum, UInt64),
    listeners   AggregateFunction(uniqCombined64(17), String),
    max_offset  SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (kind, entity_id, grain, start)
SETTINGS index_granularity_bytes = 65536;

-- Listener windows: a reader keeps the union of a range's closed days (a period less its last day,
-- today's) as one sketch, or one exact state for a track counted exactly, with the sums of the rows it
-- was built from: the same check as a block's tells it is still sound. A window only serves the day it
-- was built for (a period's days move with the date), so it is dropped after 3 days.
CREATE TABLE IF NOT EXISTS listener_windows
(
    kind        UInt8,
    entity_id   UInt64,
    first       Date,
    last        Date,
    exact       UInt8,
    plays       UInt64,
    fingerprint UInt64,
    sketch      AggregateFunction(uniqCombined64(17), String),
    state       AggregateFunction(uniqExact, String),
    built_at    DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(built_at)
ORDER BY (kind, entity_id, first, last, exact)
TTL built_at + INTERVAL 3 DAY
SETTINGS index_granularity_bytes = 65536;

TRUNCATE TABLE listener_blocks;

INSERT INTO listener_blocks (kind, entity_id, grain, start, plays, fingerprint, listeners, max_offset)
SELECT block.1, block.2, block.3, block.4, sum(plays), sum(cityHash64(track_id) * plays),
    uniqCombined64MergeState(17)(listeners_sketch), toUInt64(0)
FROM
(
    SELECT track_id, day, sum(plays) AS plays, uniqCombined64MergeState(17)(listeners_sketch) AS listeners_sketch
    FROM track_daily
    WHERE day >= (SELECT max(day) FROM daily_sketches_from)
    GROUP BY track_id, day
    HAVING plays > 0
) AS days
LEFT JOIN
(
    SELECT track_id, argMax((album_id, artist_ids), version) AS placed
    FROM tracks
    GROUP BY track_id
) AS catalog USING (track_id)
ARRAY JOIN arrayFlatten(arrayMap(
    entity -> arrayMap(
        grain -> (entity.1, entity.2, grain.1, grain.2),
        if(entity.1 = 1, [(toUInt8(2), toMonday(day)), (toUInt8(3), toStartOfMonth(day))],
           [(toUInt8(1), day), (toUInt8(2), toMonday(day)), (toUInt8(3), toStartOfMonth(day)), (toUInt8(4), toDate(0))])),
    arrayConcat(
        [(toUInt8(1), track_id)],
        if(isNull(placed.1), [], [(toUInt8(2), assumeNotNull(placed.1))]),
        arrayMap(artist -> (toUInt8(3), artist), arrayDistinct(placed.2))))) AS block
GROUP BY block.1, block.2, block.3, block.4;

INSERT INTO listener_blocks (kind, entity_id, grain, start, plays, fingerprint, listeners, max_offset)
SELECT 0, kafka_partition, 0, toDate(0), 0, 0, uniqCombined64StateIf(17)('', 0), max(max_offset)
FROM track_daily
GROUP BY kafka_partition
