-- What the outbox keeps about each message besides its sealed body, so
-- that mail that cannot reach its recipient is visible where it matters:
-- whom it was for (company_id, user_id) and which message it was
-- (template); link_expires_at, when the message carries a link, is when
-- that link stops working (a message delayed past it is recorded, never
-- sent); failure ('rejected', 'gave_up', 'expired', 'unreadable') and the
-- server's answer say why a message was given up.
ALTER TABLE outbox ADD COLUMN company_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN template TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN link_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN failure TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN answer TEXT NOT NULL DEFAULT '';
-- Waiting messages whose link expires, in order of expiry.
CREATE INDEX outbox_link_expiry ON outbox (link_expires_at) WHERE sent_at = 0 AND failed_at = 0 AND link_expires_at <> 0;
-- A user's messages with links, newest last: the admins' view.
CREATE INDEX outbox_user_links ON outbox (user_id, created_at) WHERE link_expires_at <> 0;
