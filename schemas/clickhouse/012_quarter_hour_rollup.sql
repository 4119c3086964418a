-- Per track and UTC quarter-hour, for every history (no expiry): what a local day, hour, week or month
-- of any time zone needs. Every zone's offset has been a whole number of quarter-hours since 2000
-- (+5:30 Kolkata, +5:45 Kathmandu, -3:30 St John's, DST days of 23 and 25 hours), so every local
-- bucket and range is a union of quarters. Reads take whole UTC days from track_daily and only the
-- ragged ends from here (docs/pipeline.md, "Local days in any time zone").
-- Built like the others, with its own progress markers. This migration builds it at once from the
-- events still stored (the last 8 days of arrivals) so that none of them is missed, and records in
-- quarter_hours_from the first instant from which every event is in it: `events` keeps what arrived in
-- the last 8 days, and an event occurs at most 5 minutes after it arrives, so every event of a quarter
-- starting 20 minutes past that is still there; earlier ones may be gone (their days are in
-- track_daily, their quarters are not). A store with no history is complete from the start. Run
-- with workers stopped (`insights up` migrates before its worker starts). Rerunning is safe: the
-- table is emptied and built again, and readers take the latest instant recorded.
-- needs: stopped workers
CREATE TABLE IF NOT EXISTS track_quarter
(
    track_id        UInt64,
    quarter         DateTime('UTC'),
    kafka_partition UInt16,
    plays           SimpleAggregateFunction(sum, UInt64),
    likes           SimpleAggregateFunction(sum, UInt64),
    reposts         SimpleAggregateFunction(sum, UInt64),
    listeners       AggregateFunction(uniqExact, String),
    max_offset      SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (track_id, quarter, kafka_partition)
SETTINGS index_granularity_bytes = 65536;

CREATE TABLE IF NOT EXISTS quarter_hours_from
(
    since DateTime('UTC')
)
ENGINE = MergeTree
ORDER BY tuple();

TRUNCATE TABLE track_quarter;

INSERT INTO track_quarter (track_id, quarter, kafka_partition, plays, likes, reposts, listeners, max_offset)
SELECT track_id, toStartOfFifteenMinutes(occurred_at) AS quarter, kafka_partition,
    countIf(type = 'play') AS plays,
    countIf(type = 'like') AS likes,
    countIf(type = 'repost') AS reposts,
    uniqExactStateIf(listener_id, type = 'play') AS listeners,
    max(kafka_offset) AS max_offset
FROM events
WHERE type != 'heartbeat'
GROUP BY track_id, quarter, kafka_partition;

INSERT INTO quarter_hours_from
SELECT if((SELECT count() FROM track_daily) = 0, toDateTime(0, 'UTC'),
          toStartOfFifteenMinutes(now() - INTERVAL 8 DAY + INTERVAL 20 MINUTE))
