-- A window also keeps its listeners counted (the estimate of its sketch, or the size of its exact set)
-- as it is built. A range that is over (a previous period: no day of it is today) is kept whole as one
-- window, and a read takes its listeners from that count while the window stays sound, merging
-- nothing (docs/read-path.md, "Windows"). Windows built before this migration have 0 there and are
-- merged as before until built again (a window lives 3 days at most).
ALTER TABLE listener_windows ADD COLUMN IF NOT EXISTS listeners UInt64 DEFAULT 0 AFTER state;

ALTER TABLE kept_windows ADD COLUMN IF NOT EXISTS listeners UInt64 DEFAULT 0 AFTER state;

DROP TABLE IF EXISTS kept_windows_feed;

CREATE MATERIALIZED VIEW IF NOT EXISTS kept_windows_feed TO kept_windows AS
SELECT kind, entity_id, first, last, exact, plays, fingerprint, sketch, state, listeners
FROM listener_windows;
