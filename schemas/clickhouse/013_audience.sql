-- Where and how they listen (docs/pipeline.md, "Audience rollups").
-- Events carry an optional country (an assigned ISO 3166-1 alpha-2 code, upper case), source and
-- platform (closed lists); '' when the event had none. The day and quarter-hour rollups gain the
-- listening sums of plays: plays of 30 s or more, milliseconds listened, plays that said how long.
-- Two new rollups count plays and listeners per track, dimension and value: per UTC day, and per UTC
-- quarter-hour for the ragged ends of local days, exactly as track_daily and track_quarter do.
-- This migration builds the new rollups from the events still stored (the last 8 days of arrivals),
-- adds the listening sums of those same events to the day and quarter rows already built from them,
-- and records in audience_from the first instant from which every event is in all of it (the rule of
-- 012: 20 minutes past the oldest arrival `events` keeps; any instant on a store without history).
-- Run with workers stopped (`insights up` migrates before its worker starts). Rerunning is safe: the
-- new rollups are emptied and built again, the listening sums are added only while none is stored,
-- and readers take the latest instant recorded.
-- needs: stopped workers
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS platform LowCardinality(String) DEFAULT '';

ALTER TABLE track_daily
    ADD COLUMN IF NOT EXISTS qualified_plays SimpleAggregateFunction(sum, UInt64) DEFAULT 0,
    ADD COLUMN IF NOT EXISTS listened_total_ms SimpleAggregateFunction(sum, UInt64) DEFAULT 0,
    ADD COLUMN IF NOT EXISTS timed_plays SimpleAggregateFunction(sum, UInt64) DEFAULT 0;

ALTER TABLE track_quarter
    ADD COLUMN IF NOT EXISTS qualified_plays SimpleAggregateFunction(sum, UInt64) DEFAULT 0,
    ADD COLUMN IF NOT EXISTS listened_total_ms SimpleAggregateFunction(sum, UInt64) DEFAULT 0,
    ADD COLUMN IF NOT EXISTS timed_plays SimpleAggregateFunction(sum, UInt64) DEFAULT 0;

-- At most 3 dimensions x (249 countries, 10 sources, 8 platforms, and '') values per track and day:
-- the events refuse any other value, so the rows per track are bounded by construction.
CREATE TABLE IF NOT EXISTS track_audience_daily
(
    track_id        UInt64,
    dimension       Enum8('country' = 1, 'source' = 2, 'platform' = 3),
    day             Date,
    value           LowCardinality(String),
    kafka_partition UInt16,
    plays           SimpleAggregateFunction(sum, UInt64),
    listeners       AggregateFunction(uniqExact, String),
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, dimension, day, value, kafka_partition)
SETTINGS index_granularity_bytes = 65536;

CREATE TABLE IF NOT EXISTS track_audience_quarter
(
    track_id        UInt64,
    dimension       Enum8('country' = 1, 'source' = 2, 'platform' = 3),
    quarter         DateTime('UTC'),
    value           LowCardinality(String),
    kafka_partition UInt16,
    plays           SimpleAggregateFunction(sum, UInt64),
    listeners       AggregateFunction(uniqExact, String),
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, dimension, quarter, value, kafka_partition)
SETTINGS index_granularity_bytes = 65536;

CREATE TABLE IF NOT EXISTS audience_from
(
    since DateTime('UTC')
)
ENGINE = MergeTree
ORDER BY tuple();

TRUNCATE TABLE track_audience_daily;

TRUNCATE TABLE track_audience_quarter;

INSERT INTO track_audience_daily (track_id, dimension, day, value, kafka_partition, plays, listeners, max_offset)
SELECT track_id, dimension, toDate(occurred_at) AS day, value, kafka_partition,
    count() AS plays, uniqExactState(listener_id) AS listeners, max(kafka_offset) AS max_offset
FROM events
ARRAY JOIN ['country', 'source', 'platform'] AS dimension, [country, source, platform] AS value
WHERE type = 'play'
GROUP BY track_id, dimension, day, value, kafka_partition;

INSERT INTO track_audience_quarter (track_id, dimension, quarter, value, kafka_partition, plays, listeners, max_offset)
SELECT track_id, dimension, toStartOfFifteenMinutes(occurred_at) AS quarter, value, kafka_partition,
    count() AS plays, uniqExactState(listener_id) AS listeners, max(kafka_offset) AS max_offset
FROM events
ARRAY JOIN ['country', 'source', 'platform'] AS dimension, [country, source, platform] AS value
WHERE type = 'play'
GROUP BY track_id, dimension, quarter, value, kafka_partition;

-- The listening sums of the stored events each rollup has already counted (up to its marker): rows
-- with only those sums (no plays, an empty listener state, max_offset 0, which moves no marker).
INSERT INTO track_daily (track_id, day, kafka_partition, qualified_plays, listened_total_ms, timed_plays)
SELECT track_id, toDate(occurred_at) AS day, e.kafka_partition,
    countIf(listened_ms >= 30000), sum(ifNull(listened_ms, 0)), countIf(listened_ms IS NOT NULL)
FROM events AS e
INNER JOIN (SELECT kafka_partition, max(max_offset) AS built FROM track_daily GROUP BY kafka_partition) AS m
    ON e.kafka_partition = m.kafka_partition
WHERE type = 'play' AND kafka_offset <= m.built
  AND (SELECT count() FROM track_daily WHERE timed_plays > 0) = 0
GROUP BY track_id, day, e.kafka_partition;

INSERT INTO track_quarter (track_id, quarter, kafka_partition, qualified_plays, listened_total_ms, timed_plays)
SELECT track_id, toStartOfFifteenMinutes(occurred_at) AS quarter, e.kafka_partition,
    countIf(listened_ms >= 30000), sum(ifNull(listened_ms, 0)), countIf(listened_ms IS NOT NULL)
FROM events AS e
INNER JOIN (SELECT kafka_partition, max(max_offset) AS built FROM track_quarter GROUP BY kafka_partition) AS m
    ON e.kafka_partition = m.kafka_partition
WHERE type = 'play' AND kafka_offset <= m.built
  AND (SELECT count() FROM track_quarter WHERE timed_plays > 0) = 0
GROUP BY track_id, quarter, e.kafka_partition;

INSERT INTO audience_from
SELECT if((SELECT count() FROM track_daily) = 0, toDateTime(0, 'UTC'),
          toStartOfFifteenMinutes(now() - INTERVAL 8 DAY + INTERVAL 20 MINUTE))
