-- The listeners of chart buckets, kept for every API process and across restarts (docs/read-path.md,
-- "Kept bucket counts"). A chart's first ask in a process counts the listeners of each closed UTC day
-- or week bucket, or takes its block's estimate past the mark (`estimate` = 1); each is kept here
-- with the plays and fingerprint (as in listener_blocks: the sum over the plays of cityHash64 of the
-- track played, modulo 2^64) of the entity's track rows it was counted from. A later ask, in any
-- process, takes it while both still equal those of the entity's tracks of now: no late play in the
-- bucket, no track moved. One whose sums moved is counted again (exactly: its block is not read
-- while the bucket has a row here) and kept anew; parts merging keep the newest.
-- kind: 1 track, 2 album, 3 artist; grain: 1 UTC day, 2 ISO week. A row leaves 400 days after it
-- was kept (past any chart's buckets; one still asked for is counted and kept again).
CREATE TABLE IF NOT EXISTS bucket_counts
(
    kind        UInt8,
    entity_id   UInt64,
    grain       UInt8,
    start       Date,
    plays       UInt64,
    fingerprint UInt64,
    listeners   UInt64,
    estimate    UInt8,
    counted_at  DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(counted_at)
ORDER BY (kind, entity_id, grain, start)
TTL counted_at + INTERVAL 400 DAY;
