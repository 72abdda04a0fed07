package sqldb_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// API keys on both databases: stored and read back whole, listed by
// company (the operator's apart), touched only forward, deleted; the
// audit row keeps what kind of actor it names.
func TestAPIKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		acme, bolt := s.company(t, "Acme"), s.company(t, "Bolt")
		now := s.clock.Now()
		_, hash := gatehouse.NewAPIKey(gatehouse.NewID(now))
		keys := []*gatehouse.APIKey{
			{ID: gatehouse.NewID(now), CompanyID: acme.ID, Name: "HR sync", Hash: hash, CreatedAt: now, CreatedBy: "someone",
				ExpiresAt: now.Add(time.Hour)},
			{ID: gatehouse.NewID(now.Add(time.Millisecond)), CompanyID: acme.ID, Name: "second", Hash: hash, CreatedAt: now},
			{ID: gatehouse.NewID(now), CompanyID: bolt.ID, Name: "Bolt's", Hash: hash, CreatedAt: now},
			{ID: gatehouse.NewID(now), Name: "operator", Hash: hash, CreatedAt: now},
		}
		s.update(t, func(tx gatehouse.Tx) error {
			for _, k := range keys {
				if err := tx.CreateAPIKey(k); err != nil {
					return err
				}
			}
			return nil
		})
		s.view(t, func(tx gatehouse.Tx) error {
			k, err := tx.APIKey(keys[0].ID)
			if err != nil {
				return err
			}
			if k.Name != "HR sync" || k.CompanyID != acme.ID || !bytes.Equal(k.Hash, hash) || !k.CreatedAt.Equal(now) ||
				k.CreatedBy != "someone" || !k.ExpiresAt.Equal(now.Add(time.Hour)) || !k.LastUsedAt.IsZero() {
				t.Errorf("read back %+v, want %+v", k, keys[0])
			}
			for company, want := range map[string]int{acme.ID: 2, bolt.ID: 1, "": 1} {
				list, err := tx.APIKeys(company)
				if err != nil {
					return err
				}
				if len(list) != want {
					t.Errorf("company %q: %d keys, want %d", company, len(list), want)
				}
				for _, k := range list {
					if k.CompanyID != company {
						t.Errorf("company %q lists a key of %q", company, k.CompanyID)
					}
				}
			}
			if _, err := tx.APIKey("nosuchkey"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("unknown key: got %v, want not_found", err)
			}
			return nil
		})
		later := now.Add(time.Minute)
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.TouchAPIKey(keys[0].ID, later); err != nil {
				return err
			}
			return tx.TouchAPIKey(keys[0].ID, now) // older: kept out
		})
		s.update(t, func(tx gatehouse.Tx) error {
			k, err := tx.APIKey(keys[0].ID)
			if err == nil && !k.LastUsedAt.Equal(later) {
				t.Errorf("last used %v, want %v", k.LastUsedAt, later)
			}
			if ok, err := tx.DeleteAPIKey(keys[0].ID); !ok || err != nil {
				t.Errorf("delete: %v %v", ok, err)
			}
			if ok, err := tx.DeleteAPIKey(keys[0].ID); ok || err != nil {
				t.Errorf("delete again: %v %v, want false", ok, err)
			}
			if _, err := tx.APIKey(keys[0].ID); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("deleted key: got %v, want not_found", err)
			}
			return tx.AddAuditEvent(&gatehouse.AuditEvent{ID: gatehouse.NewID(tx.Now()), CompanyID: acme.ID, At: tx.Now(),
				Type: gatehouse.EventAPIKeyDeleted, ActorID: keys[1].ID, ActorType: gatehouse.ActorAPIKey})
		})
		s.view(t, func(tx gatehouse.Tx) error {
			events, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: acme.ID, Limit: 10})
			if err == nil && (len(events) != 1 || events[0].ActorType != gatehouse.ActorAPIKey) {
				t.Errorf("audit: got %d events, first %+v; want the key's", len(events), events)
			}
			return err
		})
	})
}
