package sqldb

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// CreateSession inserts s.
func (tx *Tx) CreateSession(s *gatehouse.Session) error {
	_, err := tx.exec(`INSERT INTO sessions (id, token_hash, user_id, company_id, created_at, last_seen_at, expires_at, ip, user_agent, methods)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, s.TokenHash, s.UserID, s.CompanyID, ms(s.CreatedAt), ms(s.LastSeenAt), ms(s.ExpiresAt), s.IP, s.UserAgent,
		strings.Join(s.Methods, " "))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

const sessionColumns = `s.id, s.token_hash, s.user_id, s.company_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent, s.methods`

type sessionTimes struct {
	created, lastSeen, expires int64
	methods                    string
}

func (s *sessionTimes) fill(sess *gatehouse.Session) {
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMS(s.created), fromMS(s.lastSeen), fromMS(s.expires)
	sess.Methods = strings.Fields(s.methods)
}

// SessionByTokenHash returns the session, its user and the user's company
// in one query on the token hash's unique index: this is the query behind
// every authenticated request.
func (tx *Tx) SessionByTokenHash(hash []byte) (*gatehouse.Session, *gatehouse.User, *gatehouse.Company, error) {
	var s gatehouse.Session
	var c gatehouse.Company
	var t sessionTimes
	var companyCreated int64
	row := tx.lookupRow(`SELECT `+userColumns+`, `+sessionColumns+`, c.id, c.name, c.require_totp, c.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN companies c ON c.id = u.company_id
		WHERE s.token_hash = $1`, hash)
	u, err := scanUser(row, &s.ID, &s.TokenHash, &s.UserID, &s.CompanyID, &t.created, &t.lastSeen, &t.expires, &s.IP, &s.UserAgent, &t.methods,
		&c.ID, &c.Name, &c.RequireTOTP, &companyCreated)
	if err != nil {
		return nil, nil, nil, notFound(err, "Session")
	}
	t.fill(&s)
	c.CreatedAt = fromMS(companyCreated)
	return &s, u, &c, nil
}

// TouchSession records activity at at, unless a later activity is already
// recorded (another node's request may have touched it meanwhile).
func (tx *Tx) TouchSession(id string, at time.Time) error {
	_, err := tx.exec(`UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2`, id, ms(at))
	return err
}

// Sessions lists the user's sessions, newest first.
func (tx *Tx) Sessions(userID string) ([]*gatehouse.Session, error) {
	rows, err := tx.query(`SELECT `+sessionColumns+` FROM sessions s WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.Session
	for rows.Next() {
		var s gatehouse.Session
		var t sessionTimes
		if err := rows.Scan(&s.ID, &s.TokenHash, &s.UserID, &s.CompanyID, &t.created, &t.lastSeen, &t.expires, &s.IP, &s.UserAgent, &t.methods); err != nil {
			return nil, err
		}
		t.fill(&s)
		list = append(list, &s)
	}
	return list, rows.Err()
}

// DeleteSession ends one of the user's sessions.
func (tx *Tx) DeleteSession(userID, id string) (bool, error) {
	n, err := tx.exec(`DELETE FROM sessions WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return false, fmt.Errorf("delete session: %w", err)
	}
	return n == 1, nil
}

// SetSessionToken gives a session a new token hash.
func (tx *Tx) SetSessionToken(id string, tokenHash []byte) error {
	n, err := tx.exec(`UPDATE sessions SET token_hash = $2 WHERE id = $1`, id, tokenHash)
	if err != nil {
		return fmt.Errorf("set session token: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Session not found.")
	}
	return nil
}

// DeleteSessions ends all the user's sessions but exceptID.
func (tx *Tx) DeleteSessions(userID, exceptID string) (int, error) {
	n, err := tx.exec(`DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, exceptID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions: %w", err)
	}
	return int(n), nil
}
