package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse"
)

const userColumns = `u.id, u.company_id, u.email, u.name, u.role, u.password_hash, u.password_changed_at,
	u.must_change_password, u.temp_password_expires_at, u.totp_secret, u.totp_enabled_at, u.totp_last_step,
	u.disabled_at, u.last_login_at, u.created_at, u.language,
	(SELECT count(*) FROM passkeys pk WHERE pk.user_id = u.id)`

type scanner interface{ Scan(dest ...any) error }

// scanUser reads userColumns; extra receives any columns selected after them.
func scanUser(s scanner, extra ...any) (*gatehouse.User, error) {
	var u gatehouse.User
	var role string
	var pwChanged, tempExp, totpEnabled, disabled, lastLogin, created int64
	dest := append([]any{&u.ID, &u.CompanyID, &u.Email, &u.Name, &role, &u.PasswordHash, &pwChanged,
		&u.MustChangePassword, &tempExp, &u.TOTPSecret, &totpEnabled, &u.TOTPLastStep,
		&disabled, &lastLogin, &created, &u.Language, &u.Passkeys}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	u.Role = gatehouse.Role(role)
	u.PasswordChangedAt = fromMS(pwChanged)
	u.TempPasswordExpiresAt = fromMS(tempExp)
	u.TOTPEnabledAt = fromMS(totpEnabled)
	u.DisabledAt = fromMS(disabled)
	u.LastLoginAt = fromMS(lastLogin)
	u.CreatedAt = fromMS(created)
	return &u, nil
}

// CreateUser inserts u; EEmailTaken when the email is in use.
func (tx *Tx) CreateUser(u *gatehouse.User) error {
	_, err := tx.exec(`INSERT INTO users (id, company_id, email, name, role, password_hash, password_changed_at,
		must_change_password, temp_password_expires_at, created_at, language)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, userArgs(u)...)
	if isUniqueViolation(err) {
		return gatehouse.Errorf(gatehouse.EEmailTaken, "A user with this email already exists.")
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// User returns the user with the given ID.
func (tx *Tx) User(id string) (*gatehouse.User, error) {
	u, err := scanUser(tx.lookupRow(`SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "User")
	}
	return u, nil
}

// UserByEmail returns the user with the given (normalised) email.
func (tx *Tx) UserByEmail(email string) (*gatehouse.User, error) {
	u, err := scanUser(tx.queryRow(`SELECT `+userColumns+` FROM users u WHERE u.email = $1`, email))
	if err != nil {
		return nil, notFound(err, "User")
	}
	return u, nil
}

// ListUsers returns a page of a company's users ordered by email. The
// (company_id, email) index serves both the first and a deep page.
func (tx *Tx) ListUsers(f gatehouse.UserFilter) ([]*gatehouse.User, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args := []any{f.CompanyID, f.After, limit}
	where := `u.company_id = $1 AND u.email > $2`
	if q := strings.TrimSpace(f.Query); q != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(q))+"%")
		where += fmt.Sprintf(` AND (u.email LIKE $%d ESCAPE '\' OR `+tx.lower()+`(u.name) LIKE $%d ESCAPE '\')`, len(args), len(args))
	}
	if f.Role != "" {
		args = append(args, string(f.Role))
		where += fmt.Sprintf(` AND u.role = $%d`, len(args))
	}
	rows, err := tx.query(`SELECT `+userColumns+` FROM users u WHERE `+where+` ORDER BY u.email LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var users []*gatehouse.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountActiveAdmins counts admins with a password who are not disabled.
func (tx *Tx) CountActiveAdmins(companyID string) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM users WHERE company_id = $1 AND role = 'admin'
		AND password_hash <> '' AND disabled_at = 0`, companyID).Scan(&n)
	return n, err
}

func (tx *Tx) updateUser(what, query string, args ...any) error {
	n, err := tx.exec(query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "User not found.")
	}
	return nil
}

// SetUserPassword stores a new password and its temporary-password state.
func (tx *Tx) SetUserPassword(userID, hash string, mustChange bool, tempExpiresAt time.Time) error {
	return tx.updateUser("set password", `UPDATE users SET password_hash = $2, password_changed_at = $3,
		must_change_password = $4, temp_password_expires_at = $5 WHERE id = $1`,
		userID, hash, ms(tx.now), mustChange, ms(tempExpiresAt))
}

// ReplacePasswordHash upgrades the hash only if it is still oldHash.
func (tx *Tx) ReplacePasswordHash(userID, oldHash, newHash string) error {
	_, err := tx.exec(`UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, userID, oldHash, newHash)
	return err
}

// SetUserProfile saves name, email and role; EEmailTaken when the email is in use.
func (tx *Tx) SetUserProfile(userID, name, email string, role gatehouse.Role) error {
	err := tx.updateUser("set profile", `UPDATE users SET name = $2, email = $3, role = $4 WHERE id = $1`,
		userID, name, email, string(role))
	if isUniqueViolation(err) {
		return gatehouse.Errorf(gatehouse.EEmailTaken, "A user with this email already exists.")
	}
	return err
}

// SetUserLanguage saves the language the user chose ("" follows the browser).
func (tx *Tx) SetUserLanguage(userID, lang string) error {
	return tx.updateUser("set language", `UPDATE users SET language = $2 WHERE id = $1`, userID, lang)
}

// SetUserDisabled disables the user at the given time, or enables them when it is zero.
func (tx *Tx) SetUserDisabled(userID string, disabledAt time.Time) error {
	return tx.updateUser("set disabled", `UPDATE users SET disabled_at = $2 WHERE id = $1`, userID, ms(disabledAt))
}

// SetUserLastLogin records a completed login.
func (tx *Tx) SetUserLastLogin(userID string, at time.Time) error {
	return tx.updateUser("set last login", `UPDATE users SET last_login_at = $2 WHERE id = $1`, userID, ms(at))
}

// SetUserTOTP stores or removes the confirmed authenticator; either way the
// pending enrollment ends.
func (tx *Tx) SetUserTOTP(userID string, sealedSecret []byte, lastStep int64) error {
	enabledAt := tx.now
	if sealedSecret == nil {
		enabledAt = time.Time{}
	}
	return tx.updateUser("set totp", `UPDATE users SET totp_secret = $2, totp_enabled_at = $3, totp_last_step = $4,
		totp_pending_secret = NULL, totp_pending_at = 0 WHERE id = $1`, userID, sealedSecret, ms(enabledAt), lastStep)
}

// SetUserTOTPPending stores the secret offered for enrollment.
func (tx *Tx) SetUserTOTPPending(userID string, sealedSecret []byte) error {
	return tx.updateUser("set pending totp", `UPDATE users SET totp_pending_secret = $2, totp_pending_at = $3 WHERE id = $1`,
		userID, sealedSecret, ms(tx.now))
}

// UserTOTPPending returns the secret offered for enrollment, nil if none.
func (tx *Tx) UserTOTPPending(userID string) ([]byte, time.Time, error) {
	var secret []byte
	var at int64
	err := tx.queryRow(`SELECT totp_pending_secret, totp_pending_at FROM users WHERE id = $1`, userID).Scan(&secret, &at)
	if err != nil {
		return nil, time.Time{}, notFound(err, "User")
	}
	return secret, fromMS(at), nil
}

// UseTOTPStep records step if it is later than the last used one. The
// condition in the UPDATE makes two racing uses of one step end with one
// winner on both databases.
func (tx *Tx) UseTOTPStep(userID string, step int64) (bool, error) {
	n, err := tx.exec(`UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	return n == 1, nil
}

// ReplaceRecoveryCodes swaps the user's recovery codes for new ones.
func (tx *Tx) ReplaceRecoveryCodes(userID string, hashes [][]byte) error {
	if _, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.exec(`INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`,
			userID, h, ms(tx.now)); err != nil {
			return fmt.Errorf("insert recovery code: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode deletes the code; the row count tells whether it existed.
func (tx *Tx) UseRecoveryCode(userID string, hash []byte) (bool, error) {
	n, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	return n == 1, nil
}

// CountRecoveryCodes counts the user's unused recovery codes.
func (tx *Tx) CountRecoveryCodes(userID string) (int, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n)
	return n, err
}

// bulkUserBatch keeps a multi-row INSERT well under PostgreSQL's limit of
// 65535 bound parameters.
const bulkUserBatch = 1000

const insertUser = `INSERT INTO users (id, company_id, email, name, role, password_hash, password_changed_at,
		must_change_password, temp_password_expires_at, created_at, language) VALUES `

func userArgs(u *gatehouse.User) []any {
	return []any{u.ID, u.CompanyID, u.Email, u.Name, string(u.Role), u.PasswordHash, ms(u.PasswordChangedAt),
		u.MustChangePassword, ms(u.TempPasswordExpiresAt), ms(u.CreatedAt), u.Language}
}

// CreateUsers inserts many users quickly: 100,000 take seconds. SQLite
// runs in-process, so one prepared single-row INSERT is fastest there (the
// driver binds long parameter lists slowly); PostgreSQL is a round trip
// away, so it gets multi-row INSERTs.
func (tx *Tx) CreateUsers(users []*gatehouse.User) error {
	if tx.readOnly {
		return errors.New("sqldb: write inside View")
	}
	var err error
	if tx.db.dialect == SQLite {
		err = tx.createUsersPrepared(users)
	} else {
		err = tx.createUsersBatched(users)
	}
	if isUniqueViolation(err) {
		return gatehouse.Errorf(gatehouse.EEmailTaken, "A user with one of these emails already exists.")
	}
	if err != nil {
		return fmt.Errorf("insert users: %w", err)
	}
	return nil
}

func (tx *Tx) createUsersPrepared(users []*gatehouse.User) error {
	p, ok := tx.q.(interface {
		PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	})
	if !ok {
		return errors.New("sqldb: cannot prepare statements here")
	}
	stmt, err := p.PrepareContext(tx.ctx, insertUser+"("+placeholders(1, 11)+")")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, u := range users {
		if _, err := stmt.ExecContext(tx.ctx, userArgs(u)...); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) createUsersBatched(users []*gatehouse.User) error {
	const cols = 11
	for start := 0; start < len(users); start += bulkUserBatch {
		batch := users[start:min(start+bulkUserBatch, len(users))]
		var b strings.Builder
		b.WriteString(insertUser)
		args := make([]any, 0, len(batch)*cols)
		for i, u := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholders(i*cols+1, cols) + ")")
			args = append(args, userArgs(u)...)
		}
		if _, err := tx.q.ExecContext(tx.ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// isUniqueViolation tells a unique-constraint failure by the driver's error
// code, never by its message.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}
