-- Tokens of the workflow API (provisio api-token create | list | revoke).
-- Only a SHA-256 hash of each token is kept; the token is shown once.
CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    tasks      TEXT,                  -- JSON array of task ids it may call; NULL: every task
    created_at TEXT NOT NULL,
    last_used  TEXT
);
