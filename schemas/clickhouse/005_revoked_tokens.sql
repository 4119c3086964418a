-- Revoked API tokens, by token id (the `jti` claim). Tokens are signed, not stored, so this short list is
-- the only token state: every API process reloads it every second and refuses what it holds.
CREATE TABLE IF NOT EXISTS revoked_tokens
(
    token_id   String,
    revoked_at DateTime64(3, 'UTC'),
    reason     String
)
ENGINE = ReplacingMergeTree(revoked_at)
ORDER BY token_id;
