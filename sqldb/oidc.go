package sqldb

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The OpenID Connect provider's state: signing keys, authorization
// requests and codes, access and refresh tokens, consents.

const signingKeyColumns = `id, algorithm, private_key, public_key, created_at, retired_at`

// CreateSigningKey inserts a key that signs from now on; the partial unique
// index on retired_at = 0 lets only one key sign, so of two nodes creating
// the first key at once one wins.
func (tx *Tx) CreateSigningKey(k *gatehouse.OIDCSigningKey) error {
	_, err := tx.exec(`INSERT INTO oidc_signing_keys (id, algorithm, private_key, public_key, created_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, 0)`, k.ID, k.Algorithm, k.PrivateKey, k.PublicKey, ms(k.CreatedAt))
	if isUniqueViolation(err) {
		return gatehouse.Errorf(gatehouse.ESigningKeyExists, "Another key signs.")
	}
	if err != nil {
		return fmt.Errorf("insert signing key: %w", err)
	}
	return nil
}

// RetireSigningKey makes the signing key stop signing at at.
func (tx *Tx) RetireSigningKey(at time.Time) (bool, error) {
	n, err := tx.exec(`UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at = 0`, ms(at))
	if err != nil {
		return false, fmt.Errorf("retire signing key: %w", err)
	}
	return n > 0, nil
}

// SigningKey returns the key that signs: a point lookup on the partial
// unique index, made for every token signed.
func (tx *Tx) SigningKey() (*gatehouse.OIDCSigningKey, error) {
	var k gatehouse.OIDCSigningKey
	var created, retired int64
	err := tx.lookupRow(`SELECT `+signingKeyColumns+` FROM oidc_signing_keys WHERE retired_at = 0`).
		Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &created, &retired)
	if err != nil {
		return nil, notFound(err, "Signing key")
	}
	k.CreatedAt, k.RetiredAt = fromMS(created), fromMS(retired)
	return &k, nil
}

// SigningKeys returns the signing key and the keys retired after
// retiredAfter, newest first.
func (tx *Tx) SigningKeys(retiredAfter time.Time) ([]*gatehouse.OIDCSigningKey, error) {
	rows, err := tx.query(`SELECT `+signingKeyColumns+` FROM oidc_signing_keys
		WHERE retired_at = 0 OR retired_at > $1 ORDER BY created_at DESC, id DESC`, ms(retiredAfter))
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var keys []*gatehouse.OIDCSigningKey
	for rows.Next() {
		var k gatehouse.OIDCSigningKey
		var created, retired int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &created, &retired); err != nil {
			return nil, err
		}
		k.CreatedAt, k.RetiredAt = fromMS(created), fromMS(retired)
		keys = append(keys, &k)
	}
	return keys, rows.Err()
}

const authRequestColumns = `id, client_id, redirect_uri, scopes, state, nonce, code_challenge, prompt, max_age,
	login_hint, ui_locales, user_id, company_id, auth_time, amr, done_at, code_hash, code_used_at, created_at, expires_at`

func scanAuthRequest(s scanner) (*gatehouse.OIDCAuthRequest, error) {
	var r gatehouse.OIDCAuthRequest
	var scopes, prompt, amr string
	var maxAge, authTime, done, used, created, expires int64
	if err := s.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.CodeChallenge, &prompt, &maxAge,
		&r.LoginHint, &r.UILocales, &r.UserID, &r.CompanyID, &authTime, &amr, &done, &r.CodeHash, &used, &created, &expires); err != nil {
		return nil, err
	}
	r.Scopes, r.Prompt, r.AMR = strings.Fields(scopes), strings.Fields(prompt), strings.Fields(amr)
	r.MaxAge = int(maxAge)
	r.AuthTime, r.DoneAt, r.CodeUsedAt = fromMS(authTime), fromMS(done), fromMS(used)
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	return &r, nil
}

// CreateAuthRequest inserts r.
func (tx *Tx) CreateAuthRequest(r *gatehouse.OIDCAuthRequest) error {
	_, err := tx.exec(`INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, state, nonce, code_challenge,
		prompt, max_age, login_hint, ui_locales, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.ID, r.ClientID, r.RedirectURI, strings.Join(r.Scopes, " "), r.State, r.Nonce, r.CodeChallenge,
		strings.Join(r.Prompt, " "), r.MaxAge, r.LoginHint, r.UILocales, ms(r.CreatedAt), ms(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert auth request: %w", err)
	}
	return nil
}

// AuthRequest returns an unexpired request.
func (tx *Tx) AuthRequest(id string) (*gatehouse.OIDCAuthRequest, error) {
	r, err := scanAuthRequest(tx.queryRow(`SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE id = $1 AND expires_at > $2`, id, ms(tx.now)))
	if err != nil {
		return nil, notFound(err, "Authorization request")
	}
	return r, nil
}

// CompleteAuthRequest records who signed in, once.
func (tx *Tx) CompleteAuthRequest(r *gatehouse.OIDCAuthRequest) error {
	n, err := tx.exec(`UPDATE oidc_auth_requests SET user_id = $2, company_id = $3, auth_time = $4, amr = $5, done_at = $6
		WHERE id = $1 AND done_at = 0 AND expires_at > $6`,
		r.ID, r.UserID, r.CompanyID, ms(r.AuthTime), strings.Join(r.AMR, " "), ms(r.DoneAt))
	if err != nil {
		return fmt.Errorf("complete auth request: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Authorization request not found.")
	}
	return nil
}

// SetAuthCode records the code's hash on a done request without one.
func (tx *Tx) SetAuthCode(id string, codeHash []byte, expiresAt time.Time) error {
	n, err := tx.exec(`UPDATE oidc_auth_requests SET code_hash = $2, expires_at = $3
		WHERE id = $1 AND done_at <> 0 AND code_hash IS NULL AND expires_at > $4`, id, codeHash, ms(expiresAt), ms(tx.now))
	if err != nil {
		return fmt.Errorf("set auth code: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Authorization request not found.")
	}
	return nil
}

// ConsumeAuthCode uses up an unexpired code: the UPDATE … WHERE
// code_used_at = 0 decides a race, since only one transaction can change
// the row. A code used before answers ECodeUsed with its request.
func (tx *Tx) ConsumeAuthCode(codeHash []byte) (*gatehouse.OIDCAuthRequest, error) {
	r, err := scanAuthRequest(tx.queryRow(`UPDATE oidc_auth_requests SET code_used_at = $2
		WHERE code_hash = $1 AND code_used_at = 0 AND expires_at > $2 RETURNING `+authRequestColumns, codeHash, ms(tx.now)))
	if err == nil {
		return r, nil
	}
	if err = notFound(err, "Code"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		return nil, err
	}
	used, err2 := scanAuthRequest(tx.queryRow(`SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE code_hash = $1 AND code_used_at <> 0`, codeHash))
	if err2 != nil {
		return nil, err
	}
	return used, gatehouse.Errorf(gatehouse.ECodeUsed, "The code was used before.")
}

// DeleteAuthRequest deletes a request.
func (tx *Tx) DeleteAuthRequest(id string) error {
	_, err := tx.exec(`DELETE FROM oidc_auth_requests WHERE id = $1`, id)
	return err
}

const (
	grantColumns      = `client_id, user_id, company_id, scopes, auth_time, amr`
	tokenGrantColumns = `t.client_id, t.user_id, t.company_id, t.scopes, t.auth_time, t.amr`
)

func grantArgs(g *gatehouse.OIDCGrant) []any {
	return []any{g.ClientID, g.UserID, g.CompanyID, strings.Join(g.Scopes, " "), ms(g.AuthTime), strings.Join(g.AMR, " ")}
}

// grantScan holds a grant's columns while a row is scanned.
type grantScan struct {
	scopes, amr string
	authTime    int64
}

func (gs *grantScan) dest(g *gatehouse.OIDCGrant) []any {
	return []any{&g.ClientID, &g.UserID, &g.CompanyID, &gs.scopes, &gs.authTime, &gs.amr}
}

func (gs *grantScan) fill(g *gatehouse.OIDCGrant) {
	g.Scopes, g.AMR, g.AuthTime = strings.Fields(gs.scopes), strings.Fields(gs.amr), fromMS(gs.authTime)
}

// CreateAccessToken inserts t.
func (tx *Tx) CreateAccessToken(t *gatehouse.OIDCAccessToken) error {
	args := append([]any{t.ID, t.FamilyID}, grantArgs(&t.OIDCGrant)...)
	args = append(args, ms(t.CreatedAt), ms(t.ExpiresAt))
	_, err := tx.exec(`INSERT INTO oidc_access_tokens (id, family_id, `+grantColumns+`, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, args...)
	if err != nil {
		return fmt.Errorf("insert access token: %w", err)
	}
	return nil
}

const accessColumns = `t.id, t.family_id, ` + tokenGrantColumns + `, t.created_at, t.expires_at`

// accessScan holds an access token's columns while a row is scanned.
type accessScan struct {
	t                gatehouse.OIDCAccessToken
	gs               grantScan
	created, expires int64
}

func (a *accessScan) dest() []any {
	d := append([]any{&a.t.ID, &a.t.FamilyID}, a.gs.dest(&a.t.OIDCGrant)...)
	return append(d, &a.created, &a.expires)
}

func (a *accessScan) token() *gatehouse.OIDCAccessToken {
	a.gs.fill(&a.t.OIDCGrant)
	a.t.CreatedAt, a.t.ExpiresAt = fromMS(a.created), fromMS(a.expires)
	return &a.t
}

// AccessToken returns an unexpired access token, on the primary key.
func (tx *Tx) AccessToken(id string) (*gatehouse.OIDCAccessToken, error) {
	var a accessScan
	err := tx.lookupRow(`SELECT `+accessColumns+` FROM oidc_access_tokens t WHERE t.id = $1 AND t.expires_at > $2`,
		id, ms(tx.now)).Scan(a.dest()...)
	if err != nil {
		return nil, notFound(err, "Access token")
	}
	return a.token(), nil
}

// AccessTokenSubject returns an unexpired access token with its user,
// company and verified address: the whole check behind introspection,
// one query on primary keys.
func (tx *Tx) AccessTokenSubject(id string) (*gatehouse.OIDCAccessToken, *gatehouse.OIDCSubject, error) {
	var a accessScan
	sub, err := scanSubject(prefixed{tx.lookupRow(`SELECT `+accessColumns+`, `+subjectColumns+`
		FROM oidc_access_tokens t `+subjectJoin+` WHERE t.id = $1 AND t.expires_at > $2`, id, ms(tx.now)), a.dest()})
	if err != nil {
		return nil, nil, notFound(err, "Access token")
	}
	return a.token(), sub, nil
}

// AccessTokenScopes returns the scopes of an unexpired access token with
// its user, company and verified address: the whole check behind
// userinfo, which reads nothing else of the token. Half the columns of
// AccessTokenSubject, since on SQLite each costs the driver its name, its
// declared type and its value's conversion on every query.
func (tx *Tx) AccessTokenScopes(id string) ([]string, *gatehouse.OIDCSubject, error) {
	var scopes string
	sub, err := scanSubject(prefixed{tx.lookupRow(`SELECT t.scopes, `+subjectColumns+`
		FROM oidc_access_tokens t `+subjectJoin+` WHERE t.id = $1 AND t.expires_at > $2`, id, ms(tx.now)), []any{&scopes}})
	if err != nil {
		return nil, nil, notFound(err, "Access token")
	}
	return strings.Fields(scopes), sub, nil
}

// subjectColumns and subjectJoin read the user of a token row t as
// scanSubject wants them: only what the checks and the claims use.
const (
	subjectColumns = `u.id, u.company_id, c.name, u.email, u.name, u.role, u.disabled_at <> 0, u.password_hash <> '', u.verified_email`
	subjectJoin    = `JOIN users u ON u.id = t.user_id JOIN companies c ON c.id = u.company_id`
)

func scanSubject(s scanner) (*gatehouse.OIDCSubject, error) {
	var ss subjectScan
	if err := s.Scan(ss.dest()...); err != nil {
		return nil, err
	}
	return ss.subject(), nil
}

// subjectScan holds the subject's columns while a row is scanned.
type subjectScan struct {
	sub                   gatehouse.OIDCSubject
	role                  string
	disabled, hasPassword bool
}

func (ss *subjectScan) dest() []any {
	return []any{&ss.sub.UserID, &ss.sub.CompanyID, &ss.sub.CompanyName, &ss.sub.Email, &ss.sub.Name, &ss.role, &ss.disabled,
		&ss.hasPassword, &ss.sub.VerifiedEmail}
}

func (ss *subjectScan) subject() *gatehouse.OIDCSubject {
	ss.sub.Role, ss.sub.Status = gatehouse.Role(ss.role), gatehouse.StatusOf(ss.disabled, ss.hasPassword)
	return &ss.sub
}

// AccessTokenClient is AccessTokenSubject with what authenticates the
// application the token was issued to: an introspection's client
// authentication and token check in one query, when a client asks about
// its own token. Of the token it reads only what an introspection
// answers (client, user, scopes, auth_time, created_at, expires_at; not its
// family, company or amr), and the token's ID, its client's and its user's
// are not read again from the joined rows, whose keys equal them: 17
// columns, not 23 (the driver costs by the column, see
// credentialsColumns). Each column is named by one letter, as in
// ForwardAuthCheck: the driver copies every column's name into a new Go
// string on every query, and Go keeps one-byte strings without allocating
// (docs/BENCHMARKS.md, "OpenID Connect").
func (tx *Tx) AccessTokenClient(id string) (*gatehouse.OIDCAccessToken, *gatehouse.OIDCSubject, *gatehouse.Application, error) {
	var r struct { // one allocation for what the lookup returns
		at                         gatehouse.OIDCAccessToken
		cs                         credentialsScan
		ss                         subjectScan
		scopes                     string
		authTime, created, expires int64
	}
	err := tx.lookupRow(`SELECT t.client_id AS a, t.user_id AS b, t.scopes AS c, t.auth_time AS d, t.created_at AS e,
		t.expires_at AS f, a.redirect_uris AS g, a.public AS h, a.secret_hash AS i,
		u.company_id AS j, c.name AS k, u.email AS l, u.name AS m, u.role AS n, u.disabled_at <> 0 AS o,
		u.password_hash <> '' AS p, u.verified_email AS q
		FROM oidc_access_tokens t JOIN applications a ON a.client_id = t.client_id `+subjectJoin+`
		WHERE t.id = $1 AND t.expires_at > $2`, id, ms(tx.now)).Scan(
		&r.at.ClientID, &r.at.UserID, &r.scopes, &r.authTime, &r.created, &r.expires,
		&r.cs.redirects, &r.cs.a.Public, &r.cs.a.SecretHash,
		&r.ss.sub.CompanyID, &r.ss.sub.CompanyName, &r.ss.sub.Email, &r.ss.sub.Name, &r.ss.role, &r.ss.disabled,
		&r.ss.hasPassword, &r.ss.sub.VerifiedEmail)
	if err != nil {
		return nil, nil, nil, notFound(err, "Access token")
	}
	r.at.ID, r.at.Scopes, r.at.AuthTime = id, strings.Fields(r.scopes), fromMS(r.authTime)
	r.at.CreatedAt, r.at.ExpiresAt = fromMS(r.created), fromMS(r.expires)
	r.cs.a.ClientID, r.ss.sub.UserID = r.at.ClientID, r.at.UserID
	return &r.at, r.ss.subject(), r.cs.application(), nil
}

// ClientCredentials returns what authenticates the application with the
// client ID, and the ID of the key that signs ("" if none): what a token
// request reads first, one lookup, not two (at most one key signs: the
// unique index oidc_signing_keys_current).
func (tx *Tx) ClientCredentials(clientID string) (*gatehouse.Application, string, error) {
	var cs credentialsScan
	var keyID string
	err := tx.lookupRow(`SELECT `+credentialsColumns+`, COALESCE((SELECT id FROM oidc_signing_keys WHERE retired_at = 0), '')
		FROM applications a WHERE a.client_id = $1`, clientID).Scan(append(cs.dest(), &keyID)...)
	if err != nil {
		return nil, "", notFound(err, "Application")
	}
	return cs.application(), keyID, nil
}

// TokenRequestRead is ClientCredentials and, when refreshHash is not nil,
// RefreshTokenSubject (the same 20 columns) in one query: a refresh
// request's reads, one statement on the read pool instead of two (each
// on SQLite a read transaction of its own, with its locks, and a page
// cache to drop after every commit). The token is left-joined, so that a
// known client is answered whatever the token: rt and sub are nil when no
// token has the hash, or its user or company is gone.
func (tx *Tx) TokenRequestRead(clientID string, refreshHash []byte) (*gatehouse.Application, string, *gatehouse.OIDCRefreshToken, *gatehouse.OIDCSubject, error) {
	if refreshHash == nil {
		a, keyID, err := tx.ClientCredentials(clientID)
		return a, keyID, nil, nil, err
	}
	var r struct { // one allocation for what the lookup returns
		cs    credentialsScan
		rs    refreshScan
		ss    subjectScan
		found bool
	}
	var keyID string
	t := &r.rs.t
	err := tx.lookupRow(`SELECT a.client_id AS a, a.redirect_uris AS b, a.public AS c, a.secret_hash AS d,
		COALESCE((SELECT id FROM oidc_signing_keys WHERE retired_at = 0), '') AS e,
		c.id IS NOT NULL AS f, COALESCE(t.id, '') AS g, COALESCE(t.family_id, '') AS h, COALESCE(t.client_id, '') AS i,
		COALESCE(t.user_id, '') AS j, COALESCE(t.company_id, '') AS k, COALESCE(t.scopes, '') AS l,
		COALESCE(t.auth_time, 0) AS m, COALESCE(t.amr, '') AS n, COALESCE(t.created_at, 0) AS o,
		COALESCE(t.expires_at, 0) AS p, COALESCE(t.rotated_at, 0) AS q, COALESCE(t.revoked_at, 0) AS r,
		COALESCE(u.company_id, '') AS s, COALESCE(c.name, '') AS t, COALESCE(u.email, '') AS u, COALESCE(u.name, '') AS v,
		COALESCE(u.role, '') AS w, COALESCE(u.disabled_at, 0) <> 0 AS x, COALESCE(u.password_hash, '') <> '' AS y,
		COALESCE(u.verified_email, '') AS z
		FROM applications a LEFT JOIN oidc_refresh_tokens t ON t.token_hash = $2
		LEFT JOIN users u ON u.id = t.user_id LEFT JOIN companies c ON c.id = u.company_id
		WHERE a.client_id = $1`, clientID, refreshHash).Scan(
		&r.cs.a.ClientID, &r.cs.redirects, &r.cs.a.Public, &r.cs.a.SecretHash, &keyID, &r.found,
		&t.ID, &t.FamilyID, &t.ClientID, &t.UserID, &t.CompanyID, &r.rs.gs.scopes, &r.rs.gs.authTime, &r.rs.gs.amr,
		&r.rs.created, &r.rs.expires, &r.rs.rotated, &r.rs.revoked,
		&r.ss.sub.CompanyID, &r.ss.sub.CompanyName, &r.ss.sub.Email, &r.ss.sub.Name, &r.ss.role, &r.ss.disabled,
		&r.ss.hasPassword, &r.ss.sub.VerifiedEmail)
	if err != nil {
		return nil, "", nil, nil, notFound(err, "Application")
	}
	if !r.found {
		return r.cs.application(), keyID, nil, nil, nil
	}
	t.TokenHash, r.ss.sub.UserID = slices.Clone(refreshHash), t.UserID
	return r.cs.application(), keyID, r.rs.token(), r.ss.subject(), nil
}

// credentialsColumns are the four columns of an application a that
// authenticate it, of its thirteen: the driver costs by the column (it
// reads each one's name and type for every query, then converts its
// value).
const credentialsColumns = `a.client_id, a.redirect_uris, a.public, a.secret_hash`

// credentialsScan holds credentialsColumns while a row is scanned.
type credentialsScan struct {
	a         gatehouse.Application
	redirects string
}

func (cs *credentialsScan) dest() []any {
	return []any{&cs.a.ClientID, &cs.redirects, &cs.a.Public, &cs.a.SecretHash}
}

func (cs *credentialsScan) application() *gatehouse.Application {
	cs.a.RedirectURIs = fields(cs.redirects)
	if len(cs.a.SecretHash) == 0 {
		cs.a.SecretHash = nil
	}
	return &cs.a
}

// prefixed is a row whose first columns go to dest, and the rest to what
// Scan is given: a token's columns before its user's.
type prefixed struct {
	s    scanner
	dest []any
}

func (p prefixed) Scan(rest ...any) error { return p.s.Scan(append(p.dest, rest...)...) }

// OIDCSubject returns the user with their company and verified address.
func (tx *Tx) OIDCSubject(userID string) (*gatehouse.OIDCSubject, error) {
	sub, err := scanSubject(tx.lookupRow(`SELECT `+subjectColumns+` FROM users u JOIN companies c ON c.id = u.company_id
		WHERE u.id = $1`, userID))
	if err != nil {
		return nil, notFound(err, "User")
	}
	return sub, nil
}

// DeleteAccessToken deletes an access token.
func (tx *Tx) DeleteAccessToken(id string) (bool, error) {
	n, err := tx.exec(`DELETE FROM oidc_access_tokens WHERE id = $1`, id)
	return n > 0, err
}

const refreshColumns = `t.id, t.token_hash, t.family_id, ` + tokenGrantColumns +
	`, t.created_at, t.expires_at, t.rotated_at, t.successor_id, t.successor, t.revoked_at`

// refreshScan holds a refresh token's columns while a row is scanned.
type refreshScan struct {
	t                                  gatehouse.OIDCRefreshToken
	gs                                 grantScan
	created, expires, rotated, revoked int64
}

func (r *refreshScan) dest() []any {
	d := append([]any{&r.t.ID, &r.t.TokenHash, &r.t.FamilyID}, r.gs.dest(&r.t.OIDCGrant)...)
	return append(d, &r.created, &r.expires, &r.rotated, &r.t.SuccessorID, &r.t.Successor, &r.revoked)
}

func (r *refreshScan) token() *gatehouse.OIDCRefreshToken {
	r.gs.fill(&r.t.OIDCGrant)
	r.t.CreatedAt, r.t.ExpiresAt, r.t.RotatedAt, r.t.RevokedAt = fromMS(r.created), fromMS(r.expires), fromMS(r.rotated), fromMS(r.revoked)
	return &r.t
}

func (tx *Tx) refreshToken(where string, arg any) (*gatehouse.OIDCRefreshToken, error) {
	var r refreshScan
	if err := tx.lookupRow(`SELECT `+refreshColumns+` FROM oidc_refresh_tokens t WHERE `+where, arg).Scan(r.dest()...); err != nil {
		return nil, notFound(err, "Refresh token")
	}
	return r.token(), nil
}

// CreateRefreshToken inserts t.
func (tx *Tx) CreateRefreshToken(t *gatehouse.OIDCRefreshToken) error {
	args := append([]any{t.ID, t.TokenHash, t.FamilyID}, grantArgs(&t.OIDCGrant)...)
	args = append(args, ms(t.CreatedAt), ms(t.ExpiresAt))
	_, err := tx.exec(`INSERT INTO oidc_refresh_tokens (id, token_hash, family_id, `+grantColumns+`, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...)
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// RefreshTokenByHash returns the token with this hash, whatever its state.
func (tx *Tx) RefreshTokenByHash(hash []byte) (*gatehouse.OIDCRefreshToken, error) {
	return tx.refreshToken(`t.token_hash = $1`, hash)
}

// RefreshTokenSubject returns the token with this hash, whatever its
// state, with its user, company and verified address, in one query: every
// refresh's check. It reads 20 columns, not 25: not the token's successor
// (SuccessorID, Successor), which only a rotation reads again (RefreshToken),
// nor its hash and its user's ID, which equal the hash looked up and the
// key the user is joined on. Each column is named by one letter, as in
// AccessTokenClient (docs/BENCHMARKS.md, "OpenID Connect").
func (tx *Tx) RefreshTokenSubject(hash []byte) (*gatehouse.OIDCRefreshToken, *gatehouse.OIDCSubject, error) {
	var r struct { // one allocation for what the lookup returns
		rs refreshScan
		ss subjectScan
	}
	t := &r.rs.t
	err := tx.lookupRow(`SELECT t.id AS a, t.family_id AS b, t.client_id AS c, t.user_id AS d, t.company_id AS e,
		t.scopes AS f, t.auth_time AS g, t.amr AS h, t.created_at AS i, t.expires_at AS j, t.rotated_at AS k,
		t.revoked_at AS l, u.company_id AS m, c.name AS n, u.email AS o, u.name AS p, u.role AS q,
		u.disabled_at <> 0 AS r, u.password_hash <> '' AS s, u.verified_email AS t
		FROM oidc_refresh_tokens t `+subjectJoin+` WHERE t.token_hash = $1`, hash).Scan(
		&t.ID, &t.FamilyID, &t.ClientID, &t.UserID, &t.CompanyID, &r.rs.gs.scopes, &r.rs.gs.authTime, &r.rs.gs.amr,
		&r.rs.created, &r.rs.expires, &r.rs.rotated, &r.rs.revoked,
		&r.ss.sub.CompanyID, &r.ss.sub.CompanyName, &r.ss.sub.Email, &r.ss.sub.Name, &r.ss.role, &r.ss.disabled,
		&r.ss.hasPassword, &r.ss.sub.VerifiedEmail)
	if err != nil {
		return nil, nil, notFound(err, "Refresh token")
	}
	t.TokenHash, r.ss.sub.UserID = slices.Clone(hash), t.UserID
	return r.rs.token(), r.ss.subject(), nil
}

// RefreshToken returns the token with this ID, whatever its state.
func (tx *Tx) RefreshToken(id string) (*gatehouse.OIDCRefreshToken, error) {
	return tx.refreshToken(`t.id = $1`, id)
}

// RotateRefreshToken marks a current token rotated; the WHERE decides a
// race between two uses of the same token: only one can change the row.
func (tx *Tx) RotateRefreshToken(id, successorID string, sealedSuccessor []byte) (bool, error) {
	n, err := tx.exec(`UPDATE oidc_refresh_tokens SET rotated_at = $2, successor_id = $3, successor = $4
		WHERE id = $1 AND rotated_at = 0 AND revoked_at = 0`, id, ms(tx.now), successorID, sealedSuccessor)
	if err != nil {
		return false, fmt.Errorf("rotate refresh token: %w", err)
	}
	return n > 0, nil
}

// RevokeRefreshFamily revokes a family and deletes its access tokens.
func (tx *Tx) RevokeRefreshFamily(familyID string) (int, error) {
	n, err := tx.exec(`UPDATE oidc_refresh_tokens SET revoked_at = $2, successor = NULL
		WHERE family_id = $1 AND revoked_at = 0`, familyID, ms(tx.now))
	if err != nil {
		return 0, fmt.Errorf("revoke refresh family: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM oidc_access_tokens WHERE family_id = $1`, familyID); err != nil {
		return 0, fmt.Errorf("delete family's access tokens: %w", err)
	}
	return int(n), nil
}

// RevokeOIDCTokens ends a user's tokens for one client or all.
func (tx *Tx) RevokeOIDCTokens(userID, clientID string) (int, error) {
	var families int
	err := tx.queryRow(`SELECT COUNT(DISTINCT family_id) FROM oidc_refresh_tokens
		WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND revoked_at = 0 AND rotated_at = 0 AND expires_at > $3`,
		userID, clientID, ms(tx.now)).Scan(&families)
	if err != nil {
		return 0, fmt.Errorf("count refresh families: %w", err)
	}
	if _, err := tx.exec(`UPDATE oidc_refresh_tokens SET revoked_at = $3, successor = NULL
		WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND revoked_at = 0`, userID, clientID, ms(tx.now)); err != nil {
		return 0, fmt.Errorf("revoke refresh tokens: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM oidc_access_tokens WHERE user_id = $1 AND ($2 = '' OR client_id = $2)`,
		userID, clientID); err != nil {
		return 0, fmt.Errorf("delete access tokens: %w", err)
	}
	return families, nil
}

// Consent returns the user's consent to the client.
func (tx *Tx) Consent(userID, clientID string) (*gatehouse.OIDCConsent, error) {
	c, err := scanConsent(tx.queryRow(`SELECT user_id, client_id, company_id, scopes, created_at FROM oidc_consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID))
	if err != nil {
		return nil, notFound(err, "Consent")
	}
	return c, nil
}

func scanConsent(s scanner) (*gatehouse.OIDCConsent, error) {
	var c gatehouse.OIDCConsent
	var scopes string
	var created int64
	if err := s.Scan(&c.UserID, &c.ClientID, &c.CompanyID, &scopes, &created); err != nil {
		return nil, err
	}
	c.Scopes, c.CreatedAt = strings.Fields(scopes), fromMS(created)
	return &c, nil
}

// SaveConsent inserts or replaces a consent.
func (tx *Tx) SaveConsent(c *gatehouse.OIDCConsent) error {
	_, err := tx.exec(`INSERT INTO oidc_consents (user_id, client_id, company_id, scopes, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.UserID, c.ClientID, c.CompanyID, strings.Join(c.Scopes, " "), ms(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("save consent: %w", err)
	}
	return nil
}

// DeleteConsent deletes a consent.
func (tx *Tx) DeleteConsent(userID, clientID string) (bool, error) {
	n, err := tx.exec(`DELETE FROM oidc_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	return n > 0, err
}

// Consents lists the user's consents, oldest first.
func (tx *Tx) Consents(userID string) ([]*gatehouse.OIDCConsent, error) {
	rows, err := tx.query(`SELECT user_id, client_id, company_id, scopes, created_at FROM oidc_consents
		WHERE user_id = $1 ORDER BY created_at, client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.OIDCConsent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// SetVerifiedEmail records the address the user proved.
func (tx *Tx) SetVerifiedEmail(userID, email string) error {
	_, err := tx.exec(`UPDATE users SET verified_email = $2 WHERE id = $1`, userID, email)
	return err
}

// DeleteExpiredOIDC removes what can no longer be used.
func (tx *Tx) DeleteExpiredOIDC(before, keysBefore time.Time) (int, error) {
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM oidc_auth_requests WHERE expires_at <= $1`, ms(tx.now)},
		{`DELETE FROM oidc_access_tokens WHERE expires_at <= $1`, ms(tx.now)},
		{`DELETE FROM oidc_refresh_tokens WHERE expires_at <= $1 OR (revoked_at <> 0 AND revoked_at <= $1)`, ms(before)},
		{`DELETE FROM oidc_signing_keys WHERE retired_at <> 0 AND retired_at <= $1`, ms(keysBefore)},
	} {
		n, err := tx.exec(q.sql, q.arg)
		if err != nil {
			return 0, fmt.Errorf("delete expired oidc state: %w", err)
		}
		total += n
	}
	return int(total), nil
}
