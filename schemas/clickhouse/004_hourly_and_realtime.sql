-- Two short-lived rollups, built like the others (see docs/pipeline.md):
--   track_hourly   per track and UTC hour, for 7-day charts; built from events of the last 8 days,
--                  kept 9 days.
--   track_realtime per track and second, for the real-time endpoint: plays, and the listeners with a
--                  play or heartbeat; built from events of the last 2 hours, kept 3 hours.
-- Each is built only from events younger than its window and kept longer than that window (plus the
-- 5 minutes an event may be early), so the row that records a partition's progress outlives every
-- event that could still be built into it: expiry never makes the worker build an event twice.
CREATE TABLE IF NOT EXISTS track_hourly
(
    track_id        UInt64,
    hour            DateTime('UTC'),
    kafka_partition UInt16,
    plays           SimpleAggregateFunction(sum, UInt64),
    likes           SimpleAggregateFunction(sum, UInt64),
    reposts         SimpleAggregateFunction(sum, UInt64),
    listeners       AggregateFunction(uniqExact, String),
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, hour, kafka_partition)
TTL hour + INTERVAL 9 DAY;

CREATE TABLE IF NOT EXISTS track_realtime
(
    track_id        UInt64,
    second          DateTime('UTC'),
    kafka_partition UInt16,
    plays           SimpleAggregateFunction(sum, UInt64),
    active          AggregateFunction(uniqExact, String),
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, second, kafka_partition)
TTL second + INTERVAL 3 HOUR;
