-- A passkey ceremony is written twice, made then consumed, and found by
-- its challenge's hash alone: stored in that key's order without a rowid
-- (and without a unique index on id, which nothing looks up), each write
-- changes two pages of the log (the row's, the expiry index's) instead of
-- four. PostgreSQL keeps its table: its log records rows, not pages.
CREATE TABLE passkey_ceremonies_by_challenge (
    challenge_hash     BLOB PRIMARY KEY,
    id                 TEXT NOT NULL,
    kind               TEXT NOT NULL,
    user_id            TEXT NOT NULL DEFAULT '',
    session_id         TEXT NOT NULL DEFAULT '',
    login_challenge_id TEXT NOT NULL DEFAULT '',
    data               BLOB NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO passkey_ceremonies_by_challenge (challenge_hash, id, kind, user_id, session_id, login_challenge_id, data, created_at, expires_at)
    SELECT challenge_hash, id, kind, user_id, session_id, login_challenge_id, data, created_at, expires_at FROM passkey_ceremonies;
DROP TABLE passkey_ceremonies;
ALTER TABLE passkey_ceremonies_by_challenge RENAME TO passkey_ceremonies;
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);
