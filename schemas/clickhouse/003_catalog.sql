-- The catalog (POST /api/v1/catalog), written by the worker from the compacted topic insights.catalog.
-- `version` is the Kafka offset of the write: an entity's writes share a key, hence a partition, so the
-- newest write has the highest version and wins (read with FINAL). Re-inserting a write is harmless.
CREATE TABLE IF NOT EXISTS artists
(
    artist_id UInt64,
    name      String,
    version   UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY artist_id;

CREATE TABLE IF NOT EXISTS albums
(
    album_id  UInt64,
    title     String,
    artist_id UInt64,
    version   UInt64,
    INDEX artist_idx artist_id TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY album_id;

CREATE TABLE IF NOT EXISTS tracks
(
    track_id   UInt64,
    title      String,
    album_id   Nullable(UInt64),
    artist_ids Array(UInt64),
    version    UInt64,
    INDEX album_idx album_id TYPE bloom_filter GRANULARITY 1,
    INDEX artists_idx artist_ids TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY track_id;
