-- The OpenID Connect provider's state (docs/OIDC.md): every piece of it in
-- the database, so that any node can serve any step of a flow.

-- Signing keys. The private key is sealed (package seal); the public key is
-- what the JWKS publishes. At most one key signs (retired_at = 0); a retired
-- key stays published until what it signed has expired.
CREATE TABLE oidc_signing_keys (
    id          TEXT PRIMARY KEY, -- the kid
    algorithm   TEXT NOT NULL,
    private_key BLOB NOT NULL,   -- PKCS #8, sealed
    public_key  BLOB NOT NULL,   -- PKIX
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX oidc_signing_keys_current ON oidc_signing_keys (retired_at) WHERE retired_at = 0;

-- Authorization requests, from /authorize until their code is exchanged.
-- The code is stored as its SHA-256 and used up in the statement that
-- checks it.
CREATE TABLE oidc_auth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT '',
    nonce          TEXT NOT NULL DEFAULT '',
    code_challenge TEXT NOT NULL,
    prompt         TEXT NOT NULL DEFAULT '',
    max_age        INTEGER NOT NULL DEFAULT -1, -- seconds; -1: none given
    login_hint     TEXT NOT NULL DEFAULT '',
    ui_locales     TEXT NOT NULL DEFAULT '',
    user_id        TEXT NOT NULL DEFAULT '',
    company_id     TEXT NOT NULL DEFAULT '',
    auth_time      INTEGER NOT NULL DEFAULT 0,
    amr            TEXT NOT NULL DEFAULT '',
    done_at        INTEGER NOT NULL DEFAULT 0,
    code_hash      BLOB UNIQUE,
    code_used_at   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- Access tokens: the token itself is an encrypted reference to this row,
-- so that revoking a token, a family or a user's tokens ends it at once.
CREATE TABLE oidc_access_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL DEFAULT '', -- the refresh token family it came with
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    company_id TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    amr        TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_access_tokens_user ON oidc_access_tokens (user_id, client_id);
CREATE INDEX oidc_access_tokens_family ON oidc_access_tokens (family_id) WHERE family_id <> '';
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

-- Refresh tokens, stored as their SHA-256. Each use rotates the token: the
-- row records its successor, and for the grace after the rotation keeps the
-- successor sealed, so that a racing second use gets the same successor.
-- A use after the grace revokes the whole family.
CREATE TABLE oidc_refresh_tokens (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    family_id    TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    company_id   TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    auth_time    INTEGER NOT NULL,
    amr          TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    rotated_at   INTEGER NOT NULL DEFAULT 0,
    successor_id TEXT NOT NULL DEFAULT '',
    successor    BLOB,                    -- the successor token, sealed, for the grace
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family_id);
CREATE INDEX oidc_refresh_tokens_user ON oidc_refresh_tokens (user_id, client_id);
CREATE INDEX oidc_refresh_tokens_expires ON oidc_refresh_tokens (expires_at);

-- Consents to third-party applications, per user, application and scopes.
CREATE TABLE oidc_consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    company_id TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- The address a user proved by using a link mailed to it: email_verified
-- is true while it is still the user's address.
ALTER TABLE users ADD COLUMN verified_email TEXT NOT NULL DEFAULT '';
