-- Per-track rollups: one row per track and UTC day, and one all-time row per track.
-- Counters are plain sums; listeners are uniqExact states so days, periods, albums and artists merge
-- exactly. kafka_partition/max_offset record how far into each partition's events a rollup is built:
-- they are written in the same part as the counts, so the worker can tell exactly what is missing.
-- kafka_partition is part of the key so that merges never mix two partitions' progress.
CREATE TABLE IF NOT EXISTS track_daily
(
    track_id        UInt64,
    day             Date,
    plays           SimpleAggregateFunction(sum, UInt64),
    likes           SimpleAggregateFunction(sum, UInt64),
    reposts         SimpleAggregateFunction(sum, UInt64),
    listeners       AggregateFunction(uniqExact, String),
    kafka_partition UInt16,
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, day, kafka_partition);

CREATE TABLE IF NOT EXISTS track_totals
(
    track_id        UInt64,
    plays           SimpleAggregateFunction(sum, UInt64),
    likes           SimpleAggregateFunction(sum, UInt64),
    reposts         SimpleAggregateFunction(sum, UInt64),
    listeners       AggregateFunction(uniqExact, String),
    kafka_partition UInt16,
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, kafka_partition);
