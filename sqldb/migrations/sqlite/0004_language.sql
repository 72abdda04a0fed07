-- The language a user chose for pages and mail ('' = follow the browser),
-- and the language of the page a forgot-password request came from, so
-- that the reset mail of a user without a choice speaks the requester's
-- language.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE reset_requests ADD COLUMN lang TEXT NOT NULL DEFAULT '';
