package sqldb

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

const passkeyColumns = `id, company_id, user_id, credential_id, user_handle, public_key, sign_count, backup_eligible,
	backup_state, transports, aaguid, attestation_format, name, created_at, last_used_at`

func scanPasskey(s scanner) (*gatehouse.Passkey, error) {
	var p gatehouse.Passkey
	var signCount, created, lastUsed int64
	var transports string
	if err := s.Scan(&p.ID, &p.CompanyID, &p.UserID, &p.CredentialID, &p.UserHandle, &p.PublicKey, &signCount,
		&p.BackupEligible, &p.BackupState, &transports, &p.AAGUID, &p.AttestationFormat, &p.Name, &created, &lastUsed); err != nil {
		return nil, err
	}
	p.SignCount = uint32(signCount)
	p.Transports = strings.Fields(transports)
	p.CreatedAt, p.LastUsedAt = fromMS(created), fromMS(lastUsed)
	return &p, nil
}

// CreatePasskey inserts p; EPasskeyExists when its credential id is
// registered already.
func (tx *Tx) CreatePasskey(p *gatehouse.Passkey) error {
	_, err := tx.exec(`INSERT INTO passkeys (`+passkeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		p.ID, p.CompanyID, p.UserID, p.CredentialID, p.UserHandle, p.PublicKey, int64(p.SignCount), p.BackupEligible,
		p.BackupState, strings.Join(p.Transports, " "), p.AAGUID, p.AttestationFormat, p.Name, ms(p.CreatedAt), ms(p.LastUsedAt))
	if isUniqueViolation(err) {
		return gatehouse.Errorf(gatehouse.EPasskeyExists, "This passkey is registered already.")
	}
	if err != nil {
		return fmt.Errorf("insert passkey: %w", err)
	}
	return nil
}

// Passkeys lists a user's passkeys, oldest first.
func (tx *Tx) Passkeys(companyID, userID string) ([]*gatehouse.Passkey, error) {
	rows, err := tx.query(`SELECT `+passkeyColumns+` FROM passkeys
		WHERE company_id = $1 AND user_id = $2 ORDER BY created_at, id`, companyID, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

// PasskeyByCredentialID finds a passkey of any company by its credential
// id: a discoverable sign-in knows nothing else yet.
func (tx *Tx) PasskeyByCredentialID(credentialID []byte) (*gatehouse.Passkey, error) {
	p, err := scanPasskey(tx.lookupRow(`SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if err != nil {
		return nil, notFound(err, "Passkey")
	}
	return p, nil
}

// PasskeyUsed records a sign-in with the passkey if its counter is still
// oldCount: a compare-and-set, so that of two sign-ins that read one
// counter (a clone's, or on PostgreSQL two transactions at once) the
// second sees the first's.
func (tx *Tx) PasskeyUsed(companyID, id string, oldCount, signCount uint32, backupState bool, at time.Time) (bool, error) {
	n, err := tx.exec(`UPDATE passkeys SET sign_count = $4, backup_state = $5, last_used_at = $6
		WHERE company_id = $1 AND id = $2 AND sign_count = $3`, companyID, id, int64(oldCount), int64(signCount), backupState, ms(at))
	if err != nil {
		return false, fmt.Errorf("record passkey use: %w", err)
	}
	if n == 1 {
		return true, nil
	}
	var exists int
	err = tx.queryRow(`SELECT 1 FROM passkeys WHERE company_id = $1 AND id = $2`, companyID, id).Scan(&exists)
	if err != nil {
		return false, notFound(err, "Passkey")
	}
	return false, nil
}

// RenamePasskey reports false when the user has no such passkey.
func (tx *Tx) RenamePasskey(companyID, userID, id, name string) (bool, error) {
	n, err := tx.exec(`UPDATE passkeys SET name = $4 WHERE company_id = $1 AND user_id = $2 AND id = $3`,
		companyID, userID, id, name)
	if err != nil {
		return false, fmt.Errorf("rename passkey: %w", err)
	}
	return n == 1, nil
}

// DeletePasskey deletes one of the user's passkeys and returns it.
func (tx *Tx) DeletePasskey(companyID, userID, id string) (*gatehouse.Passkey, error) {
	p, err := scanPasskey(tx.queryRow(`DELETE FROM passkeys WHERE company_id = $1 AND user_id = $2 AND id = $3
		RETURNING `+passkeyColumns, companyID, userID, id))
	if err != nil {
		return nil, notFound(err, "Passkey")
	}
	return p, nil
}

// DeletePasskeys removes every passkey of the user.
func (tx *Tx) DeletePasskeys(companyID, userID string) (int, error) {
	n, err := tx.exec(`DELETE FROM passkeys WHERE company_id = $1 AND user_id = $2`, companyID, userID)
	if err != nil {
		return 0, fmt.Errorf("delete passkeys: %w", err)
	}
	return int(n), nil
}

// CreatePasskeyCeremony inserts c.
func (tx *Tx) CreatePasskeyCeremony(c *gatehouse.PasskeyCeremony) error {
	_, err := tx.exec(`INSERT INTO passkey_ceremonies (id, challenge_hash, kind, user_id, session_id, login_challenge_id,
		data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.ChallengeHash, c.Kind, c.UserID, c.SessionID, c.LoginChallengeID, c.Data, ms(c.CreatedAt), ms(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert passkey ceremony: %w", err)
	}
	return nil
}

// ConsumePasskeyCeremony deletes the live ceremony of the challenge and
// returns it: the delete decides races on every database.
func (tx *Tx) ConsumePasskeyCeremony(challengeHash []byte) (*gatehouse.PasskeyCeremony, error) {
	return scanCeremony(tx.queryRow(`DELETE FROM passkey_ceremonies WHERE challenge_hash = $1 AND expires_at > $2
		RETURNING `+ceremonyColumns, challengeHash, ms(tx.now)))
}

// UseLoginChallenge inserts the used challenge of a discoverable sign-in
// unless it is there: the challenge's unique key decides races, on
// PostgreSQL by making the second insert wait for the first to commit.
// ON CONFLICT DO NOTHING leaves a PostgreSQL transaction usable, so that
// the refusal is audited in it.
func (tx *Tx) UseLoginChallenge(challengeHash []byte, expiresAt time.Time) (bool, error) {
	n, err := tx.exec(`INSERT INTO passkey_ceremonies (id, challenge_hash, kind, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (challenge_hash) DO NOTHING`,
		gatehouse.NewID(tx.now), challengeHash, gatehouse.CeremonyLogin, []byte{}, ms(tx.now), ms(expiresAt))
	if err != nil {
		return false, fmt.Errorf("record passkey login challenge: %w", err)
	}
	return n == 1, nil
}

const ceremonyColumns = `id, challenge_hash, kind, user_id, session_id, login_challenge_id, data, created_at, expires_at`

func scanCeremony(s scanner) (*gatehouse.PasskeyCeremony, error) {
	var c gatehouse.PasskeyCeremony
	var created, expires int64
	err := s.Scan(&c.ID, &c.ChallengeHash, &c.Kind, &c.UserID, &c.SessionID, &c.LoginChallengeID, &c.Data, &created, &expires)
	if err != nil {
		return nil, notFound(err, "Passkey ceremony")
	}
	c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
	return &c, nil
}
