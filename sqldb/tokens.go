package sqldb

import (
	"bytes"
	"database/sql"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

const tokenColumns = `id, token_hash, purpose, user_id, created_at, expires_at`

func scanToken(s scanner) (*gatehouse.Token, error) {
	var t gatehouse.Token
	var purpose string
	var userID sql.NullString
	var created, expires int64
	if err := s.Scan(&t.ID, &t.TokenHash, &purpose, &userID, &created, &expires); err != nil {
		return nil, err
	}
	t.Purpose = gatehouse.TokenPurpose(purpose)
	t.UserID = userID.String
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	return &t, nil
}

// CreateToken inserts t.
func (tx *Tx) CreateToken(t *gatehouse.Token) error {
	var userID any
	if t.UserID != "" {
		userID = t.UserID
	}
	_, err := tx.exec(`INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.TokenHash, string(t.Purpose), userID, ms(t.CreatedAt), ms(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

// TokenByHash returns an unexpired token without using it.
func (tx *Tx) TokenByHash(hash []byte) (*gatehouse.Token, error) {
	t, err := scanToken(tx.queryRow(`SELECT `+tokenColumns+` FROM tokens WHERE token_hash = $1 AND expires_at > $2`, hash, ms(tx.now)))
	if err != nil {
		return nil, notFound(err, "Token")
	}
	return t, nil
}

// ConsumeToken deletes an unexpired token of one of the purposes and
// returns it. A DELETE … RETURNING decides the race: only one transaction
// can delete the row.
func (tx *Tx) ConsumeToken(hash []byte, purposes ...gatehouse.TokenPurpose) (*gatehouse.Token, error) {
	if len(purposes) == 0 {
		return nil, fmt.Errorf("consume token: no purpose")
	}
	args := []any{hash, ms(tx.now)}
	for _, p := range purposes {
		args = append(args, string(p))
	}
	t, err := scanToken(tx.queryRow(`DELETE FROM tokens WHERE token_hash = $1 AND expires_at > $2
		AND purpose IN (`+placeholders(3, len(purposes))+`) RETURNING `+tokenColumns, args...))
	if err != nil {
		return nil, notFound(err, "Token")
	}
	return t, nil
}

// DeleteTokens removes the user's tokens of the given purposes.
func (tx *Tx) DeleteTokens(userID string, purposes ...gatehouse.TokenPurpose) error {
	if len(purposes) == 0 {
		return nil
	}
	args := []any{userID}
	for _, p := range purposes {
		args = append(args, string(p))
	}
	_, err := tx.exec(`DELETE FROM tokens WHERE user_id = $1 AND purpose IN (`+placeholders(2, len(purposes))+`)`, args...)
	return err
}

// ConsumeSetupToken deletes every setup token in one statement. Racing
// transactions delete the same rows, so the one that commits first takes
// them all and the others find none; each link is otherwise a separate
// row, and consuming one would not stop a setup with another.
func (tx *Tx) ConsumeSetupToken(hash []byte) (bool, error) {
	rows, err := tx.query(`DELETE FROM tokens WHERE purpose = $1 RETURNING token_hash, expires_at`, string(gatehouse.TokenSetup))
	if err != nil {
		return false, fmt.Errorf("consume setup tokens: %w", err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var h []byte
		var expires int64
		if err := rows.Scan(&h, &expires); err != nil {
			return false, err
		}
		if bytes.Equal(h, hash) && expires > ms(tx.now) {
			found = true
		}
	}
	return found, rows.Err()
}
