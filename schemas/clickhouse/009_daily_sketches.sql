-- A sketch of each track's listeners per day beside the exact state, so that a period's listeners
-- already counted past 100,000 (an approximation within 1 % is allowed there, docs/api.md) are a union
-- of sketches instead of a merge of every listener of every day (api/read/analytics_queries.py: Audiences;
-- BENCHMARKS.md). uniqCombined64(17), as for the all-time sketch: about 0.3 % standard error.
-- Rows written before this column existed have an empty sketch: daily_sketches_from holds the first
-- day whose rows all have one (the day after this migration if any row existed, else any day), and a
-- period starting before it is always counted exactly. Run with workers stopped (`insights up`
-- migrates before its worker starts). Rerunning is safe: the readers take the latest day.
-- needs: stopped workers
CREATE TABLE IF NOT EXISTS daily_sketches_from
(
    day Date
)
ENGINE = MergeTree
ORDER BY tuple();

INSERT INTO daily_sketches_from
SELECT if((SELECT count() FROM track_daily) = 0, toDate('1970-01-01'), toDate(now(), 'UTC') + 1);

ALTER TABLE track_daily ADD COLUMN IF NOT EXISTS listeners_sketch AggregateFunction(uniqCombined64(17), String)
