-- A sketch of each track's all-time listeners beside the exact state, so that the all-time listeners
-- of an album or artist past 100,000 (an approximation within 1 % is allowed there, docs/api.md) are
-- a union of one fixed-size sketch per track instead of a merge of every listener of every track
-- (BENCHMARKS.md: artist 110 -> 20 ms at 10M events). uniqCombined64(17): about 0.3 % standard error.
-- Rows written before this column existed have an empty sketch, so the tracks that have any are
-- listed in unsketched_tracks: a set of tracks that holds one of them is always counted exactly.
-- Run with workers stopped (`insights up` migrates before its worker starts). Rerunning is safe: the
-- list can only grow, which only keeps more sets exact.
-- needs: stopped workers
CREATE TABLE IF NOT EXISTS unsketched_tracks
(
    track_id UInt64
)
ENGINE = ReplacingMergeTree
ORDER BY track_id;

INSERT INTO unsketched_tracks SELECT DISTINCT track_id FROM track_totals;

ALTER TABLE track_totals ADD COLUMN IF NOT EXISTS listeners_sketch AggregateFunction(uniqCombined64(17), String)
