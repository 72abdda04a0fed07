package sqldb

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// AddAuditEvent inserts e.
func (tx *Tx) AddAuditEvent(e *gatehouse.AuditEvent) error {
	_, err := tx.exec(`INSERT INTO audit_events (id, company_id, at, type, actor_id, actor_type, target_id, ip, user_agent, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.CompanyID, ms(e.At), e.Type, e.ActorID, e.ActorType, e.TargetID, e.IP, e.UserAgent, e.Detail)
	if err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

// AuditEvents returns a page of a company's events, newest first. IDs grow
// with time, so the ID is both the order and the cursor.
func (tx *Tx) AuditEvents(f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	// No sentinel such as "~" for the first page: under a linguistic
	// collation (ICU, en_US) punctuation sorts before letters and digits.
	args := []any{f.CompanyID, f.Before, limit}
	where := `company_id = $1 AND ($2 = '' OR id < $2)`
	if f.Type != "" {
		args = append(args, f.Type)
		where += fmt.Sprintf(` AND type = $%d`, len(args))
	}
	if f.UserID != "" {
		args = append(args, f.UserID)
		where += fmt.Sprintf(` AND (actor_id = $%d OR target_id = $%d)`, len(args), len(args))
	}
	rows, err := tx.query(`SELECT id, company_id, at, type, actor_id, actor_type, target_id, ip, user_agent, detail
		FROM audit_events WHERE `+where+` ORDER BY id DESC LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	var events []*gatehouse.AuditEvent
	for rows.Next() {
		var e gatehouse.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.CompanyID, &at, &e.Type, &e.ActorID, &e.ActorType, &e.TargetID, &e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		events = append(events, &e)
	}
	return events, rows.Err()
}
