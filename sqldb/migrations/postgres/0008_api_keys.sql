-- API keys (../shared/API.md, "API keys and provisioning"). A key belongs
-- to a company, or to the operator (company_id ''). Only the SHA-256 of
-- the key is stored; it is found by its ID, which the key carries, and
-- compared in constant time.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    company_id   TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    key_hash     BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '', -- a user's or key's ID; '' for the operator
    expires_at   BIGINT NOT NULL DEFAULT 0,   -- 0: never
    last_used_at BIGINT NOT NULL DEFAULT 0    -- written at most once a minute
);
CREATE INDEX api_keys_company ON api_keys (company_id, id);

-- What an audit event's actor_id names: '' a user, 'api_key' an API key.
ALTER TABLE audit_events ADD COLUMN actor_type TEXT NOT NULL DEFAULT '';
