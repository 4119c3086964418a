-- Every accepted event counted once, as the worker wrote it: the dedupe log (by event_id) and the
-- source the rollups are built from (by kafka_partition, kafka_offset). Reads never touch it.
-- One worker flush writes one part (one ingested_at), so a batch is either wholly here or not at all.
-- Kept 8 days after arrival: longer than the 7-day dedupe window and the topic's 7-day retention.
CREATE TABLE IF NOT EXISTS events
(
    event_id        String,
    type            LowCardinality(String),
    track_id        UInt64,
    listener_id     String,
    occurred_at     DateTime64(3, 'UTC'),
    listened_ms     Nullable(UInt64),
    kafka_partition UInt16,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC'),
    INDEX event_id_bloom event_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ingested_at)
ORDER BY (kafka_partition, kafka_offset)
TTL ingested_at + INTERVAL 8 DAY
SETTINGS ttl_only_drop_parts = 1;
