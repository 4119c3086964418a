-- Listener windows are read from memory: a window is a reader's cache (a range's closed days as one
-- sketch or one exact state, with the sums of the rows it was built from; docs/read-path.md,
-- "Windows"), built again by the next read whenever one is missing or no longer sound. Read from
-- `listener_windows` (016, a MergeTree table), each read paid the table's index analysis, decompression
-- and the deserialisation of every state (an exact window of 90,000 listeners is a set of 90,000
-- hashes rebuilt at every read); `kept_windows` keeps the states as they were built (BENCHMARKS.md,
-- "Scale"). A window is still built into `listener_windows`, which outlives the engine, and the view
-- below hands each row built there to this table as well; a process that starts copies those built in
-- the last day, so its first reads find them.
-- A rebuilt window is a new row: readers take the newest of a key (`built_at`). The table keeps its
-- newest rows only (`max_rows_to_keep`: the oldest go as new ones come), so its memory is bounded: a
-- window is at most an exact set of 102,000 hashes (about 4 MB in memory) or a sketch (about 100 kB).
-- It drops whole blocks (an insert's), so windows are written one row an insert. On a cluster each
-- node has its own.
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
    built_at    DateTime64(6) DEFAULT now64(6)
)
ENGINE = Memory
SETTINGS max_rows_to_keep = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS kept_windows_feed TO kept_windows AS
SELECT kind, entity_id, first, last, exact, plays, fingerprint, sketch, state
FROM listener_windows;
