-- Webhooks (docs/WEBHOOKS.md). Endpoints belong to a company, or to the
-- operator (company_id '' : every company's events). Their signing secrets
-- are sealed, not hashed: signing needs the secret itself.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    company_id      TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL,
    events          TEXT NOT NULL DEFAULT '', -- space-separated types; '' = every type
    secret          BYTEA NOT NULL,
    previous_secret BYTEA,                     -- signs beside secret until previous_until
    previous_until  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    failing_since   BIGINT NOT NULL DEFAULT 0, -- first failure no success has followed
    last_error      TEXT NOT NULL DEFAULT '',
    disabled_at     BIGINT NOT NULL DEFAULT 0,
    disabled_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_endpoints_company ON webhook_endpoints (company_id, id);

-- The webhook outbox: one row per event and endpoint, written in the
-- transaction of the change it reports, claimed with a lease like mail.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL, -- webhook-id: one per event, kept across retries
    company_id      TEXT NOT NULL,
    type            TEXT NOT NULL,
    body            BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    retry_from      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_status     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    failed_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at = 0 AND failed_at = 0;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (created_at) WHERE delivered_at <> 0 OR failed_at <> 0;
