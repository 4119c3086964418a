-- The dedupe index: each event_id the worker has let through, with the Kafka partition and offset of
-- the message that carried it. A key-value table (RocksDB, inside ClickHouse): looking up a batch of
-- ids costs about log(stored) per id, where looking them up in `events` read every stored event_id
-- (a bloom filter cannot skip a granule for a batch of thousands of ids), so the worker slowed down
-- as history grew. The worker writes an id here before its event goes to `events`; the partition
-- and offset tell a redelivery of that same message (count it if `events` does not hold its offset
-- yet) from another message with the same id (a duplicate). Entries expire 8 days after they were
-- written (RocksDB TTL, in seconds): longer than the 7-day dedupe window of the contract.
CREATE TABLE IF NOT EXISTS event_ids
(
    event_id        String,
    kafka_partition UInt16,
    kafka_offset    UInt64
)
ENGINE = EmbeddedRocksDB(691200)
PRIMARY KEY event_id;

-- The ids already stored before this table existed.
INSERT INTO event_ids SELECT event_id, kafka_partition, kafka_offset FROM events
