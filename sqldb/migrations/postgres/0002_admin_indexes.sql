-- The audit log filtered by user (as actor or as target) stays an index
-- range scan however long the log grows.
CREATE INDEX audit_company_actor ON audit_events (company_id, actor_id, id);
CREATE INDEX audit_company_target ON audit_events (company_id, target_id, id);

-- A company's admins (the last-admin rule, break-glass notices) are found
-- without reading its members.
CREATE INDEX users_company_role ON users (company_id, role, email);
