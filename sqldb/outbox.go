package sqldb

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// EnqueueMail adds a sealed message to the outbox, due now unless
// NextAttemptAt says later.
func (tx *Tx) EnqueueMail(m *gatehouse.OutboxMail) error {
	next := m.NextAttemptAt
	if next.IsZero() {
		next = tx.now
	}
	_, err := tx.exec(`INSERT INTO outbox (id, created_at, recipient, body, next_attempt_at,
			company_id, user_id, template, link_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.ID, ms(m.CreatedAt), m.Recipient, m.Body, ms(next), m.CompanyID, m.UserID, m.Template, ms(m.LinkExpiresAt))
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// ClaimMail leases due messages. SKIP LOCKED lets nodes take different
// rows instead of waiting; the lease condition is repeated in the outer
// WHERE so that a row another node claimed meanwhile is left alone.
//
// The chosen rows are a MATERIALIZED CTE, not a plain IN (subquery): for
// a small or new table PostgreSQL may plan the subquery as the inner side
// of a nested loop and run it again for each outer row, and each run,
// skipping rows this statement has already leased, finds the next n. The
// LIMIT then bounds nothing and one node leases the whole outbox
// (TestClaimMailTakesAtMostN).
func (tx *Tx) ClaimMail(n int, leaseUntil time.Time) ([]*gatehouse.OutboxMail, error) {
	now := ms(tx.now)
	rows, err := tx.query(`WITH due AS MATERIALIZED (
			SELECT id FROM outbox WHERE sent_at = 0 AND failed_at = 0 AND next_attempt_at <= $1 AND lease_until < $1
			ORDER BY next_attempt_at LIMIT $3`+tx.skipLocked()+`)
		UPDATE outbox SET lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM due) AND sent_at = 0 AND failed_at = 0 AND lease_until < $1
		RETURNING id, created_at, recipient, body, attempts, next_attempt_at, template`, now, ms(leaseUntil), n)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.OutboxMail
	for rows.Next() {
		var m gatehouse.OutboxMail
		var created, next int64
		if err := rows.Scan(&m.ID, &created, &m.Recipient, &m.Body, &m.Attempts, &next, &m.Template); err != nil {
			return nil, err
		}
		m.CreatedAt, m.NextAttemptAt = fromMS(created), fromMS(next)
		list = append(list, &m)
	}
	return list, rows.Err()
}

// MailDelivered marks the messages sent and erases their bodies, which
// held live tokens: one statement for a worker's whole group.
func (tx *Tx) MailDelivered(ids ...string) error {
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerStatement)
		args := []any{ms(tx.now)}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		_, err := tx.exec(`UPDATE outbox SET sent_at = $1, body = NULL, lease_until = 0, last_error = ''
			WHERE id IN (`+placeholders(2, n)+`)`, args...)
		if err != nil {
			return fmt.Errorf("mark mail delivered: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// maxIDsPerStatement keeps IN lists well under the parameter limits of
// both databases (SQLite 32,766, PostgreSQL 65,535).
const maxIDsPerStatement = 500

// MailRetry schedules another attempt.
func (tx *Tx) MailRetry(id string, at time.Time, lastErr string) error {
	_, err := tx.exec(`UPDATE outbox SET next_attempt_at = $2, lease_until = 0, last_error = $3 WHERE id = $1`, id, ms(at), lastErr)
	return err
}

// MailFailed gives up on the message and erases its body.
func (tx *Tx) MailFailed(id string, f gatehouse.MailFailure) error {
	_, err := tx.exec(`UPDATE outbox SET failed_at = $2, body = NULL, lease_until = 0, last_error = $3, failure = $4, answer = $5
		WHERE id = $1`, id, ms(tx.now), f.Err, f.Reason, f.Answer)
	return err
}

// MailRelease gives claimed messages back, due now, and takes back the
// attempt their claim counted.
func (tx *Tx) MailRelease(lastErr string, ids ...string) error {
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerStatement)
		args := []any{ms(tx.now), lastErr}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		_, err := tx.exec(`UPDATE outbox SET next_attempt_at = $1, lease_until = 0,
			attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
			last_error = CASE WHEN $2 = '' THEN last_error ELSE $2 END
			WHERE sent_at = 0 AND failed_at = 0 AND id IN (`+placeholders(3, n)+`)`, args...)
		if err != nil {
			return fmt.Errorf("release mail: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// MailRetryNow makes every waiting message that backs off due now.
func (tx *Tx) MailRetryNow() error {
	_, err := tx.exec(`UPDATE outbox SET next_attempt_at = $1
		WHERE sent_at = 0 AND failed_at = 0 AND next_attempt_at > $1`, ms(tx.now))
	if err != nil {
		return fmt.Errorf("retry mail now: %w", err)
	}
	return nil
}

// ExpireMail gives up on the waiting messages whose link expires at or
// before before. The partial index outbox_link_expiry keeps it cheap
// under a backlog: it reads only the messages it expires.
func (tx *Tx) ExpireMail(before time.Time) ([]*gatehouse.OutboxMail, error) {
	rows, err := tx.query(`UPDATE outbox SET failed_at = $1, body = NULL, lease_until = 0, failure = $3,
			last_error = 'not sent: the link it carries expired before it could be delivered'
		WHERE sent_at = 0 AND failed_at = 0 AND link_expires_at <> 0 AND link_expires_at <= $2
		RETURNING id, created_at, recipient, company_id, user_id, template, link_expires_at, attempts`,
		ms(tx.now), ms(before), gatehouse.MailExpired)
	if err != nil {
		return nil, fmt.Errorf("expire mail: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.OutboxMail
	for rows.Next() {
		var m gatehouse.OutboxMail
		var created, expires int64
		if err := rows.Scan(&m.ID, &created, &m.Recipient, &m.CompanyID, &m.UserID, &m.Template, &expires, &m.Attempts); err != nil {
			return nil, err
		}
		m.CreatedAt, m.LinkExpiresAt = fromMS(created), fromMS(expires)
		list = append(list, &m)
	}
	return list, rows.Err()
}

// MailProblems finds, for each user, the latest message with a link and
// keeps it when it was given up.
func (tx *Tx) MailProblems(companyID string, userIDs []string) (map[string]*gatehouse.MailProblem, error) {
	problems := map[string]*gatehouse.MailProblem{}
	for len(userIDs) > 0 {
		n := min(len(userIDs), maxIDsPerStatement)
		args := []any{companyID}
		for _, id := range userIDs[:n] {
			args = append(args, id)
		}
		rows, err := tx.query(`SELECT o.user_id, o.template, o.failure, o.answer, o.failed_at FROM outbox o
			WHERE o.company_id = $1 AND o.failed_at <> 0 AND o.link_expires_at <> 0
			AND o.user_id IN (`+placeholders(2, n)+`)
			AND o.id = (SELECT l.id FROM outbox l WHERE l.user_id = o.user_id AND l.link_expires_at <> 0
				ORDER BY l.created_at DESC, l.id DESC LIMIT 1)`, args...)
		if err != nil {
			return nil, fmt.Errorf("mail problems: %w", err)
		}
		for rows.Next() {
			var userID string
			var p gatehouse.MailProblem
			var at int64
			if err := rows.Scan(&userID, &p.Template, &p.Reason, &p.Answer, &at); err != nil {
				rows.Close()
				return nil, err
			}
			p.At = fromMS(at)
			problems[userID] = &p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		userIDs = userIDs[n:]
	}
	return problems, nil
}

// MailCounts counts waiting and failed messages.
func (tx *Tx) MailCounts() (pending, failed int, err error) {
	err = tx.queryRow(`SELECT
		coalesce(sum(CASE WHEN sent_at = 0 AND failed_at = 0 THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN failed_at <> 0 THEN 1 ELSE 0 END), 0) FROM outbox`).Scan(&pending, &failed)
	return pending, failed, err
}

// EnqueueResetRequest queues a forgot-password request.
func (tx *Tx) EnqueueResetRequest(r *gatehouse.ResetRequest) error {
	_, err := tx.exec(`INSERT INTO reset_requests (id, created_at, email, ip, user_agent, lang) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, ms(r.CreatedAt), r.Email, r.IP, r.UserAgent, r.Lang)
	if err != nil {
		return fmt.Errorf("enqueue reset request: %w", err)
	}
	return nil
}

// TakeResetRequests deletes and returns the oldest requests; a row deleted
// by one transaction is returned to no other. The CTE is materialized for
// the reason ClaimMail gives: otherwise one call may take every request.
func (tx *Tx) TakeResetRequests(n int) ([]*gatehouse.ResetRequest, error) {
	rows, err := tx.query(`WITH taken AS MATERIALIZED (SELECT id FROM reset_requests ORDER BY id LIMIT $1`+tx.skipLocked()+`)
		DELETE FROM reset_requests WHERE id IN (SELECT id FROM taken)
		RETURNING id, created_at, email, ip, user_agent, lang`, n)
	if err != nil {
		return nil, fmt.Errorf("take reset requests: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.ResetRequest
	for rows.Next() {
		var r gatehouse.ResetRequest
		var created int64
		if err := rows.Scan(&r.ID, &created, &r.Email, &r.IP, &r.UserAgent, &r.Lang); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMS(created)
		list = append(list, &r)
	}
	return list, rows.Err()
}

// skipLocked makes a queue's SELECT take rows no other transaction holds,
// on PostgreSQL; SQLite has one writer and no row locks.
func (tx *Tx) skipLocked() string {
	if tx.db.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}
