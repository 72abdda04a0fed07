-- SQLite's 0011 rebuilds passkey_ceremonies keyed by the challenge's hash
-- without a rowid, so that each write of a ceremony changes fewer pages of
-- its log. PostgreSQL's log records rows, not pages: nothing to change
-- here; the number keeps both databases' schema versions the same.
SELECT 1;
