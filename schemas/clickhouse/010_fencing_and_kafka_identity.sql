-- Who may write each partition of insights.events (docs/pipeline.md, "Fencing"). A worker that is
-- given a partition by the consumer group records a claim here; every statement that changes a
-- count writes a partition's rows only while that worker's claim is the partition's newest
-- (highest `generation`: the reset epoch, then the consumer group's generation). A worker that lost
-- the partition, whatever its timing, therefore writes nothing.
CREATE TABLE IF NOT EXISTS partition_owners
(
    kafka_partition UInt16,
    generation      UInt64,
    owner           String,
    claimed_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (kafka_partition, generation);

-- The Kafka cluster the stored offsets belong to (docs/pipeline.md, "Kafka identity"). A row per
-- acknowledged identity; the newest (highest epoch) is the current one. Stored offsets and catalog
-- versions carry the epoch in their high bits, so a deliberate reset keeps them ordered.
CREATE TABLE IF NOT EXISTS kafka_identity
(
    epoch       UInt32,
    cluster_id  String,
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3),
    reason      String
)
ENGINE = MergeTree
ORDER BY epoch
;

-- The offset after the last message stored, per topic and partition, recorded by the worker after
-- its writes are durable: Kafka ending below it means the log was reset (insights/kafka_identity.py).
CREATE TABLE IF NOT EXISTS partition_progress
(
    epoch           UInt32,
    topic           LowCardinality(String),
    kafka_partition UInt16,
    next_offset     UInt64,
    recorded_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(next_offset)
ORDER BY (epoch, topic, kafka_partition)
