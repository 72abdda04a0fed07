-- Passkeys (WebAuthn credentials, issue 18). The public key is public: it
-- is stored as the authenticator gave it (COSE). credential_id is unique
-- across every company: a discoverable sign-in finds the passkey by it.
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    company_id         TEXT NOT NULL,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      BYTEA NOT NULL UNIQUE,
    user_handle        BYTEA NOT NULL,
    public_key         BYTEA NOT NULL,
    sign_count         BIGINT NOT NULL DEFAULT 0,
    backup_eligible    BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state       BOOLEAN NOT NULL DEFAULT FALSE,
    transports         TEXT NOT NULL DEFAULT '', -- space-separated
    aaguid             BYTEA,
    attestation_format TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (company_id, user_id);
-- The count of a user's passkeys is read with every user (the second
-- factor): by user_id alone.
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- Ceremonies in progress: single-use, a few minutes long, found by the
-- SHA-256 of the challenge the browser signs.
CREATE TABLE passkey_ceremonies (
    id                 TEXT PRIMARY KEY,
    challenge_hash     BYTEA NOT NULL UNIQUE,
    kind               TEXT NOT NULL,
    user_id            TEXT NOT NULL DEFAULT '',
    session_id         TEXT NOT NULL DEFAULT '',
    login_challenge_id TEXT NOT NULL DEFAULT '',
    data               BYTEA NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);

-- How each session's login proved who it was (RFC 8176 amr values,
-- space-separated).
ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT '';
