-- Applications (../shared/API.md, "Applications"): OpenID Connect clients
-- and forward-auth hosts. company_id '' is the operator's app, for every
-- company's users. The client secret is stored as its SHA-256 (NULL for a
-- public app). URI lists are space-separated: a valid URI holds no space.
CREATE TABLE applications (
    id                        TEXT PRIMARY KEY,
    client_id                 TEXT NOT NULL UNIQUE,
    company_id                TEXT NOT NULL DEFAULT '',
    name                      TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '',
    public                    INTEGER NOT NULL DEFAULT 0,
    first_party               INTEGER NOT NULL DEFAULT 0,
    require_role              TEXT NOT NULL DEFAULT '',
    require_mfa               INTEGER NOT NULL DEFAULT 0,
    secret_hash               BLOB,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX applications_company ON applications (company_id, id);

-- Forward-auth hosts: each belongs to at most one application (the primary
-- key says so on every node), and the check of every proxied request looks
-- its host up here.
CREATE TABLE application_hosts (
    host           TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE
);
CREATE INDEX application_hosts_application ON application_hosts (application_id);
