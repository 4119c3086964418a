-- The newest `complete_through` an API process has measured (api/read/watermark.py, docs/api.md "Complete
-- through"): every event accepted before it is counted, and stays counted, so the claim stays true. A
-- process that starts answers with it until its own first measurement, instead of `null`. Each API
-- process adds a row at most every few seconds and when it stops; readers take the greatest, and
-- merges keep only that one.
CREATE TABLE IF NOT EXISTS complete_through_claims
(
    through DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(through)
ORDER BY tuple()
