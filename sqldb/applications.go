package sqldb

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// applicationColumns selects an application with its forward-auth hosts
// in one row (the check of every proxied request reads it): the hosts are
// aggregated, space-separated, by the dialect's function.
func (tx *Tx) applicationColumns() string {
	agg := `string_agg(h.host, ' ')`
	if tx.db.dialect == SQLite {
		agg = `group_concat(h.host, ' ')`
	}
	return applicationFields + `, (SELECT ` + agg + ` FROM application_hosts h WHERE h.application_id = a.id)`
}

// applicationFields are the columns of applications, which scanApplication
// reads before the forward-auth hosts.
const applicationFields = `a.id, a.client_id, a.company_id, a.name, a.redirect_uris, a.post_logout_redirect_uris, a.public,
	a.first_party, a.require_role, a.require_mfa, a.secret_hash, a.created_at, a.updated_at`

// scanApplication reads an application's columns, then extra.
func scanApplication(s scanner, extra ...any) (*gatehouse.Application, error) {
	var a gatehouse.Application
	var redirects, postLogout, role string
	var hosts sql.NullString
	var created, updated int64
	if err := s.Scan(append([]any{&a.ID, &a.ClientID, &a.CompanyID, &a.Name, &redirects, &postLogout, &a.Public, &a.FirstParty,
		&role, &a.RequireMFA, &a.SecretHash, &created, &updated, &hosts}, extra...)...); err != nil {
		return nil, err
	}
	a.RedirectURIs, a.PostLogoutRedirectURIs = fields(redirects), fields(postLogout)
	a.ForwardAuthHosts = fields(hosts.String)
	slices.Sort(a.ForwardAuthHosts)
	a.RequireRole = gatehouse.Role(role)
	if len(a.SecretHash) == 0 {
		a.SecretHash = nil
	}
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	return &a, nil
}

// CreateApplication inserts a and its forward-auth hosts.
func (tx *Tx) CreateApplication(a *gatehouse.Application) error {
	_, err := tx.exec(`INSERT INTO applications (id, client_id, company_id, name, redirect_uris, post_logout_redirect_uris,
		public, first_party, require_role, require_mfa, secret_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		a.ID, a.ClientID, a.CompanyID, a.Name, strings.Join(a.RedirectURIs, " "), strings.Join(a.PostLogoutRedirectURIs, " "),
		a.Public, a.FirstParty, string(a.RequireRole), a.RequireMFA, a.SecretHash, ms(a.CreatedAt), ms(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert application: %w", err)
	}
	return tx.insertHosts(a)
}

func (tx *Tx) insertHosts(a *gatehouse.Application) error {
	for _, h := range a.ForwardAuthHosts {
		_, err := tx.exec(`INSERT INTO application_hosts (host, application_id) VALUES ($1, $2)`, h, a.ID)
		if isUniqueViolation(err) {
			return gatehouse.Errorf(gatehouse.EForwardAuthHostTaken, "Another application already uses the host %s.", h)
		}
		if err != nil {
			return fmt.Errorf("insert application host: %w", err)
		}
	}
	return nil
}

// UpdateApplication saves a's fields and replaces its hosts.
func (tx *Tx) UpdateApplication(a *gatehouse.Application) error {
	n, err := tx.exec(`UPDATE applications SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4, public = $5,
		first_party = $6, require_role = $7, require_mfa = $8, secret_hash = $9, updated_at = $10 WHERE id = $1`,
		a.ID, a.Name, strings.Join(a.RedirectURIs, " "), strings.Join(a.PostLogoutRedirectURIs, " "), a.Public,
		a.FirstParty, string(a.RequireRole), a.RequireMFA, a.SecretHash, ms(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update application: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Application not found.")
	}
	if _, err := tx.exec(`DELETE FROM application_hosts WHERE application_id = $1`, a.ID); err != nil {
		return fmt.Errorf("delete application hosts: %w", err)
	}
	return tx.insertHosts(a)
}

// ApplicationByClientID returns the app with the client ID.
func (tx *Tx) ApplicationByClientID(clientID string) (*gatehouse.Application, error) {
	a, err := scanApplication(tx.lookupRow(`SELECT `+tx.applicationColumns()+` FROM applications a WHERE a.client_id = $1`,
		clientID))
	return a, notFound(err, "Application")
}

// OIDCClient returns the app with the client ID without its forward-auth
// hosts, which an OpenID Connect client does not use: the lookup of every
// token request and introspection.
func (tx *Tx) OIDCClient(clientID string) (*gatehouse.Application, error) {
	a, err := scanApplication(tx.lookupRow(`SELECT `+applicationFields+`, NULL FROM applications a WHERE a.client_id = $1`,
		clientID))
	return a, notFound(err, "Application")
}

// CompanyApplication returns the company's app with the client ID.
func (tx *Tx) CompanyApplication(companyID, clientID string) (*gatehouse.Application, error) {
	a, err := scanApplication(tx.queryRow(`SELECT `+tx.applicationColumns()+` FROM applications a
		WHERE a.client_id = $1 AND a.company_id = $2`, clientID, companyID))
	return a, notFound(err, "Application")
}

// ApplicationByHost returns the app that registered the forward-auth host.
func (tx *Tx) ApplicationByHost(host string) (*gatehouse.Application, error) {
	a, err := scanApplication(tx.lookupRow(`SELECT `+tx.applicationColumns()+` FROM application_hosts ah
		JOIN applications a ON a.id = ah.application_id WHERE ah.host = $1`, host))
	return a, notFound(err, "Application")
}

// ForwardAuthCheck reads the app of the forward-auth host and the session
// of the token hash in one statement, two lookups on unique indexes, with
// only the fields the check reads: the app's company and requirements;
// the session's ID, times and methods (not its company); the user's ID,
// company, email, name, role, authenticator, passkeys and disabled time;
// the company's 2FA requirement. On SQLite that is one read instead of
// two, and every column counts there: the driver reads each column's name
// and declared type for every query, then converts its value (the four
// columns of the app's and the session's other fields cost some 2 µs and
// 18 allocations a check). Each column is named by one letter, a to r in
// the order of Scan's arguments, because the driver copies every column's
// name into a new Go string on every query, and Go keeps one-byte strings
// without allocating: 18 allocations fewer a check (docs/BENCHMARKS.md,
// "Forward auth").
func (tx *Tx) ForwardAuthCheck(host string, hash []byte) (*gatehouse.Application, *gatehouse.Session, *gatehouse.User, *gatehouse.Company, error) {
	var r struct { // one allocation for what the check returns
		a                     gatehouse.Application
		s                     gatehouse.Session
		u                     gatehouse.User
		c                     gatehouse.Company
		t                     sessionTimes
		appRole, userRole     string
		totpEnabled, disabled int64
	}
	err := tx.lookupRow(`SELECT a.company_id AS a, a.require_role AS b, a.require_mfa AS c,
		s.id AS d, s.created_at AS e, s.last_seen_at AS f, s.expires_at AS g, s.methods AS h,
		u.id AS i, u.company_id AS j, u.email AS k, u.name AS l, u.role AS m, u.totp_secret AS n,
		u.totp_enabled_at AS o, u.disabled_at AS p,
		(SELECT count(*) FROM passkeys pk WHERE pk.user_id = u.id) AS q, c.require_totp AS r
		FROM application_hosts ah JOIN applications a ON a.id = ah.application_id,
		sessions s JOIN users u ON u.id = s.user_id JOIN companies c ON c.id = u.company_id
		WHERE ah.host = $1 AND s.token_hash = $2`, host, hash).Scan(
		&r.a.CompanyID, &r.appRole, &r.a.RequireMFA,
		&r.s.ID, &r.t.created, &r.t.lastSeen, &r.t.expires, &r.t.methods,
		&r.u.ID, &r.u.CompanyID, &r.u.Email, &r.u.Name, &r.userRole, &r.u.TOTPSecret, &r.totpEnabled, &r.disabled, &r.u.Passkeys,
		&r.c.RequireTOTP)
	if err != nil {
		return nil, nil, nil, nil, notFound(err, "Application or session")
	}
	r.s.UserID, r.c.ID = r.u.ID, r.u.CompanyID // the joins' conditions
	r.a.RequireRole, r.u.Role = gatehouse.Role(r.appRole), gatehouse.Role(r.userRole)
	r.t.fill(&r.s)
	r.u.TOTPEnabledAt, r.u.DisabledAt = fromMS(r.totpEnabled), fromMS(r.disabled)
	return &r.a, &r.s, &r.u, &r.c, nil
}

// Applications lists the company's apps, oldest first.
func (tx *Tx) Applications(companyID string) ([]*gatehouse.Application, error) {
	return tx.applications(`SELECT `+tx.applicationColumns()+` FROM applications a WHERE a.company_id = $1 ORDER BY a.id`,
		companyID)
}

// AllApplications lists every app, oldest first.
func (tx *Tx) AllApplications() ([]*gatehouse.Application, error) {
	return tx.applications(`SELECT ` + tx.applicationColumns() + ` FROM applications a ORDER BY a.id`)
}

func (tx *Tx) applications(query string, args ...any) ([]*gatehouse.Application, error) {
	rows, err := tx.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.Application
	for rows.Next() {
		a, err := scanApplication(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	return list, rows.Err()
}

// DeleteApplication deletes the company's app and its hosts.
func (tx *Tx) DeleteApplication(companyID, id string) (bool, error) {
	if _, err := tx.exec(`DELETE FROM application_hosts WHERE application_id IN
		(SELECT id FROM applications WHERE id = $1 AND company_id = $2)`, id, companyID); err != nil {
		return false, fmt.Errorf("delete application hosts: %w", err)
	}
	n, err := tx.exec(`DELETE FROM applications WHERE id = $1 AND company_id = $2`, id, companyID)
	if err != nil {
		return false, fmt.Errorf("delete application: %w", err)
	}
	return n > 0, nil
}

// fields splits a space-separated list; nil when it is empty.
func fields(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}
