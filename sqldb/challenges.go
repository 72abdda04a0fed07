package sqldb

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// CreateChallenge inserts c.
func (tx *Tx) CreateChallenge(c *gatehouse.Challenge) error {
	_, err := tx.exec(`INSERT INTO challenges (id, token_hash, user_id, passed, failures, created_at, expires_at, ip, user_agent, totp_pending_secret)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.TokenHash, c.UserID, int(c.Passed), c.Failures, ms(c.CreatedAt), ms(c.ExpiresAt), c.IP, c.UserAgent, c.TOTPPendingSecret)
	if err != nil {
		return fmt.Errorf("insert challenge: %w", err)
	}
	return nil
}

// ChallengeByTokenHash returns the challenge, expired or not: the caller
// decides, so that it can say why.
func (tx *Tx) ChallengeByTokenHash(hash []byte) (*gatehouse.Challenge, error) {
	var c gatehouse.Challenge
	var passed int
	var created, expires int64
	err := tx.queryRow(`SELECT id, token_hash, user_id, passed, failures, created_at, expires_at, ip, user_agent, totp_pending_secret
		FROM challenges WHERE token_hash = $1`, hash).
		Scan(&c.ID, &c.TokenHash, &c.UserID, &passed, &c.Failures, &created, &expires, &c.IP, &c.UserAgent, &c.TOTPPendingSecret)
	if err != nil {
		return nil, notFound(err, "Challenge")
	}
	c.Passed = gatehouse.Step(passed)
	c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
	return &c, nil
}

// ConsumeChallenge deletes the challenge; false when it was already gone.
func (tx *Tx) ConsumeChallenge(id string) (bool, error) {
	n, err := tx.exec(`DELETE FROM challenges WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("consume challenge: %w", err)
	}
	return n == 1, nil
}

// AddChallengeFailure counts a wrong code.
func (tx *Tx) AddChallengeFailure(id string) (int, error) {
	var n int
	err := tx.queryRow(`UPDATE challenges SET failures = failures + 1 WHERE id = $1 RETURNING failures`, id).Scan(&n)
	if err != nil {
		return 0, notFound(err, "Challenge")
	}
	return n, nil
}

// SetChallengePendingSecret stores the secret offered during forced setup.
func (tx *Tx) SetChallengePendingSecret(id string, sealedSecret []byte) error {
	n, err := tx.exec(`UPDATE challenges SET totp_pending_secret = $2 WHERE id = $1`, id, sealedSecret)
	if err != nil {
		return fmt.Errorf("set challenge secret: %w", err)
	}
	if n == 0 {
		return gatehouse.Errorf(gatehouse.ENotFound, "Challenge not found.")
	}
	return nil
}

// DeleteChallenges ends every login in progress for the user.
func (tx *Tx) DeleteChallenges(userID string) error {
	_, err := tx.exec(`DELETE FROM challenges WHERE user_id = $1`, userID)
	return err
}
