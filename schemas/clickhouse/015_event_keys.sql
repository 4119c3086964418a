-- The dedupe index again, as a sorted MergeTree table instead of the RocksDB key-value table of
-- 007_event_ids.sql: for each event_id the worker has let through, a 128-bit hash of it (SipHash) and
-- the Kafka partition and offset of the message that carried it. A flush looks its batch's ids up
-- with the primary index (a granule is read only if a looked-up key falls in its range), and a scan
-- of 16-byte sorted keys is far cheaper than a RocksDB read per id: measured at 0.5M-3M stored ids, a
-- look-up of 100,000 ids took 23-70 ms here against 240-610 ms, and recording them 15-19 ms against
-- 55 (BENCHMARKS.md). Two distinct ids share a key with a probability of about n^2 / 2^129: 1 in 10^16
-- for 10^11 ids. Entries leave with their day, 8 days after they were recorded (longer than the
-- 7-day dedupe window of the contract); a look-up takes the newest entry of a key.
-- Filled from `events`: every counted event's id with the place that carried it. An id recorded in
-- event_ids whose event a crash kept out of `events` is left out on purpose: its message is
-- redelivered and counts then. Run with workers stopped: a worker of the revision before would keep
-- writing to event_ids. Rerunning is safe (a key recorded twice is the same entry).
-- needs: stopped workers
CREATE TABLE IF NOT EXISTS event_keys
(
    key             FixedString(16),
    kafka_partition UInt16,
    kafka_offset    UInt64,
    recorded_at     DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(recorded_at)
ORDER BY key
TTL recorded_at + INTERVAL 8 DAY
SETTINGS ttl_only_drop_parts = 1, index_granularity = 1024;

INSERT INTO event_keys
SELECT sipHash128(event_id), kafka_partition, kafka_offset, ingested_at FROM events;

DROP TABLE IF EXISTS event_ids
