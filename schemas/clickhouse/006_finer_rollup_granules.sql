-- The counter rollups again, with granules of at most 64 KiB instead of 10 MiB. A read decodes
-- every listener state of each granule it touches, so with large granules a look-up of one track
-- also decoded hundreds of its neighbours' states (BENCHMARKS.md, read latency). The setting cannot
-- be changed on a table, so each table is copied whole, rows and progress markers as they are,
-- into a new one that then takes its name. Rerunning after a crash is safe: the copy starts empty.
-- Run it with workers stopped (`insights up` migrates before its worker starts): a rollup written
-- during the copy would be lost with its progress marker while the worker still trusts it.
-- needs: stopped workers
CREATE TABLE IF NOT EXISTS track_totals_rebuilt AS track_totals
ENGINE = AggregatingMergeTree
ORDER BY (track_id, kafka_partition)
SETTINGS index_granularity_bytes = 65536;
TRUNCATE TABLE track_totals_rebuilt;
INSERT INTO track_totals_rebuilt SELECT * FROM track_totals;
EXCHANGE TABLES track_totals AND track_totals_rebuilt;
DROP TABLE track_totals_rebuilt;

CREATE TABLE IF NOT EXISTS track_daily_rebuilt AS track_daily
ENGINE = AggregatingMergeTree
ORDER BY (track_id, day, kafka_partition)
SETTINGS index_granularity_bytes = 65536;
TRUNCATE TABLE track_daily_rebuilt;
INSERT INTO track_daily_rebuilt SELECT * FROM track_daily;
EXCHANGE TABLES track_daily AND track_daily_rebuilt;
DROP TABLE track_daily_rebuilt;

CREATE TABLE IF NOT EXISTS track_hourly_rebuilt AS track_hourly
ENGINE = AggregatingMergeTree
ORDER BY (track_id, hour, kafka_partition)
TTL hour + INTERVAL 9 DAY
SETTINGS index_granularity_bytes = 65536;
TRUNCATE TABLE track_hourly_rebuilt;
INSERT INTO track_hourly_rebuilt SELECT * FROM track_hourly;
EXCHANGE TABLES track_hourly AND track_hourly_rebuilt;
DROP TABLE track_hourly_rebuilt
