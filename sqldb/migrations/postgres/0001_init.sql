-- Times are integer milliseconds since the epoch; 0 means never.

CREATE TABLE companies (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    require_totp BOOLEAN NOT NULL DEFAULT FALSE,
    version      BIGINT NOT NULL DEFAULT 0, -- bumped to lock the row (LockCompany)
    created_at   BIGINT NOT NULL
);

CREATE TABLE users (
    id                       TEXT PRIMARY KEY,
    company_id               TEXT NOT NULL REFERENCES companies (id),
    email                    TEXT NOT NULL UNIQUE,
    name                     TEXT NOT NULL,
    role                     TEXT NOT NULL,
    password_hash            TEXT NOT NULL DEFAULT '',
    password_changed_at      BIGINT NOT NULL DEFAULT 0,
    must_change_password     BOOLEAN NOT NULL DEFAULT FALSE,
    temp_password_expires_at BIGINT NOT NULL DEFAULT 0,
    totp_secret              BYTEA,
    totp_enabled_at          BIGINT NOT NULL DEFAULT 0,
    totp_last_step           BIGINT NOT NULL DEFAULT 0,
    totp_pending_secret      BYTEA,
    totp_pending_at          BIGINT NOT NULL DEFAULT 0,
    disabled_at              BIGINT NOT NULL DEFAULT 0,
    last_login_at            BIGINT NOT NULL DEFAULT 0,
    created_at               BIGINT NOT NULL
);
CREATE INDEX users_company_email ON users (company_id, email);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BYTEA NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    company_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE challenges (
    id                  TEXT PRIMARY KEY,
    token_hash          BYTEA NOT NULL UNIQUE,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    passed              BIGINT NOT NULL,
    failures            BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    ip                  TEXT NOT NULL DEFAULT '',
    user_agent          TEXT NOT NULL DEFAULT '',
    totp_pending_secret BYTEA
);
CREATE INDEX challenges_user ON challenges (user_id);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    purpose    TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);
CREATE INDEX throttles_last ON throttles (last_at);

CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    company_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    type       TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    target_id  TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_company ON audit_events (company_id, id);
CREATE INDEX audit_company_type ON audit_events (company_id, type, id);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    recipient       TEXT NOT NULL,
    body            BYTEA,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT NOT NULL DEFAULT 0,
    failed_at       BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at = 0 AND failed_at = 0;

CREATE TABLE reset_requests (
    id         TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
