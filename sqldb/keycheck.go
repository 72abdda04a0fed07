package sqldb

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// KeyCheck stores sealed as the installation's key check unless one is
// stored already, and returns the stored one. The first node to start
// decides; every later node opens the stored value to prove it holds the
// same key.
func (db *DB) KeyCheck(ctx context.Context, sealed []byte) ([]byte, error) {
	var stored []byte
	err := db.Update(ctx, func(tx gatehouse.Tx) error {
		t := tx.(*Tx)
		if _, err := t.exec(`INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, sealed); err != nil {
			return err
		}
		return t.queryRow(`SELECT sealed FROM key_check WHERE id = 1`).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("key check: %w", err)
	}
	return stored, nil
}
