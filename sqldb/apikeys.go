package sqldb

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

const apiKeyColumns = `id, company_id, name, key_hash, created_at, created_by, expires_at, last_used_at`

func scanAPIKey(s scanner) (*gatehouse.APIKey, error) {
	var k gatehouse.APIKey
	var created, expires, used int64
	if err := s.Scan(&k.ID, &k.CompanyID, &k.Name, &k.Hash, &created, &k.CreatedBy, &expires, &used); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ExpiresAt, k.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	return &k, nil
}

// CreateAPIKey inserts k.
func (tx *Tx) CreateAPIKey(k *gatehouse.APIKey) error {
	_, err := tx.exec(`INSERT INTO api_keys (id, company_id, name, key_hash, created_at, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, k.CompanyID, k.Name, k.Hash, ms(k.CreatedAt), k.CreatedBy, ms(k.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// APIKey returns the key with the given ID: the lookup of every request
// made with a key.
func (tx *Tx) APIKey(id string) (*gatehouse.APIKey, error) {
	k, err := scanAPIKey(tx.lookupRow(`SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "API key")
	}
	return k, nil
}

// APIKeys lists the company's keys, oldest first; "" lists the operator's.
func (tx *Tx) APIKeys(companyID string) ([]*gatehouse.APIKey, error) {
	rows, err := tx.query(`SELECT `+apiKeyColumns+` FROM api_keys WHERE company_id = $1 ORDER BY id`, companyID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var list []*gatehouse.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, k)
	}
	return list, rows.Err()
}

// DeleteAPIKey deletes the key; it reports false when there was none.
func (tx *Tx) DeleteAPIKey(id string) (bool, error) {
	n, err := tx.exec(`DELETE FROM api_keys WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("delete api key: %w", err)
	}
	return n > 0, nil
}

// TouchAPIKey records a use at at, unless a later one is recorded
// (another node may have touched it meanwhile).
func (tx *Tx) TouchAPIKey(id string, at time.Time) error {
	_, err := tx.exec(`UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2`, id, ms(at))
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}
