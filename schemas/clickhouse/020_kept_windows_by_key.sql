-- The kept windows are found by their key rather than by a scan. In a `Memory` table each window was a
-- block of its own (that table drops whole blocks to keep its newest rows), and a read that filtered
-- it paid the filter once per block, whatever it found, twice an answer (the sums and the merge;
-- docs/read-path.md, "Windows"). A `Join` table holds its rows in
-- one hash table by key, and keeps the last row written for a key, so a rebuilt window replaces the
-- one before it (the replaced row stays held, and read, until a mutation rewrites the table: the
-- reads that build windows rewrite it to its newest windows after a build that replaced one, or took
-- it past its bound; api/read/listener_blocks.py, `_trim`). It is a cache: kept in memory only
-- (`persistent = 0`), empty when the engine starts.
DROP TABLE IF EXISTS kept_windows_feed;

DROP TABLE IF EXISTS kept_windows;

CREATE TABLE IF NOT EXISTS kept_windows
(
    kind        UInt8,
    entity_id   UInt64,
    first       Date,
    last        Date,
    exact       UInt8,
    plays       UInt64,
    fingerprint UInt64,
    sketch      AggregateFunction(uniqCombined64(17), String),
    state       AggregateFunction(uniqExact, String),
    listeners   UInt64 DEFAULT 0,
    built_at    DateTime64(6) DEFAULT now64(6)
)
ENGINE = Join(ANY, LEFT, kind, entity_id, first, last, exact)
SETTINGS join_any_take_last_row = 1, persistent = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS kept_windows_feed TO kept_windows AS
SELECT kind, entity_id, first, last, exact, plays, fingerprint, sketch, state, listeners
FROM listener_windows;
