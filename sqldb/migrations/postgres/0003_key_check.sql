-- One value sealed under the installation's --secret-key-file key, written
-- by the first node to start. A node given another key finds it does not
-- open and refuses to start, instead of failing TOTP logins and queued mail.
CREATE TABLE key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BYTEA NOT NULL
);
