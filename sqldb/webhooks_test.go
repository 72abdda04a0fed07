package sqldb_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The webhook outbox's queries on both databases: a claim takes at most n
// (the MATERIALIZED CTE, as TestClaimMailTakesAtMostN says why), skips
// the endpoints it is told to, counts the attempt, and a release gives it
// back; deleting an endpoint deletes its deliveries; disabling fails the
// waiting ones.
func TestWebhookOutbox(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		const total, n = 120, 25
		var a, b *gatehouse.WebhookEndpoint
		s.update(t, func(tx gatehouse.Tx) error {
			for _, e := range []**gatehouse.WebhookEndpoint{&a, &b} {
				*e = &gatehouse.WebhookEndpoint{ID: gatehouse.NewID(tx.Now()), URL: "https://hooks.example.com/x",
					Events: []string{gatehouse.WebhookUserDisabled}, Secret: []byte("sealed"), CreatedAt: tx.Now()}
				if err := tx.CreateWebhookEndpoint(*e); err != nil {
					return err
				}
			}
			for i := range total {
				ep := a
				if i%2 == 1 {
					ep = b
				}
				d := &gatehouse.WebhookDelivery{ID: gatehouse.NewID(tx.Now()), EndpointID: ep.ID, MessageID: "msg_x",
					CompanyID: "c", Type: gatehouse.WebhookUserDisabled, Body: []byte("{}"), CreatedAt: tx.Now()}
				if err := tx.EnqueueWebhookDeliveries(d); err != nil {
					return err
				}
			}
			return nil
		})
		var claimed []*gatehouse.WebhookDelivery
		s.update(t, func(tx gatehouse.Tx) (err error) {
			claimed, err = tx.ClaimWebhookDeliveries(n, tx.Now().Add(time.Minute), []string{b.ID})
			return err
		})
		if len(claimed) != n {
			t.Fatalf("claimed %d, want %d", len(claimed), n)
		}
		for _, d := range claimed {
			if d.EndpointID != a.ID || d.Attempts != 1 {
				t.Fatalf("claimed a delivery of %s at attempt %d, want only %s's, attempt 1", d.EndpointID, d.Attempts, a.ID)
			}
		}
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.ReleaseWebhookDeliveries(claimed[0].ID); err != nil {
				return err
			}
			d, err := tx.WebhookDelivery(claimed[0].ID)
			if err == nil && d.Attempts != 0 {
				t.Errorf("released delivery at attempt %d, want 0", d.Attempts)
			}
			rest, err := tx.ClaimWebhookDeliveries(total, tx.Now().Add(time.Minute), nil)
			if err == nil && len(rest) != total-n+1 {
				t.Errorf("second claim took %d, want the %d unclaimed and the released one", len(rest), total-n+1)
			}
			return err
		})
		s.update(t, func(tx gatehouse.Tx) error {
			if due, err := tx.OldestDueWebhook(); err != nil || due.IsZero() || due.After(tx.Now()) {
				t.Errorf("oldest due: got %v, %v, want a time before now", due, err)
			}
			if n, err := tx.WebhookFailedAttempts(b.ID, tx.Now().Add(-time.Hour)); n != total/2 || err != nil {
				t.Errorf("attempts of the endpoint's deliveries: got %d, %v, want %d", n, err, total/2)
			}
			if n, err := tx.DisableWebhookEndpoint(b.ID, gatehouse.WebhookDisabledFailing); n != total/2 || err != nil {
				t.Fatalf("disable: gave up %d, %v, want %d", n, err, total/2)
			}
			ds, err := tx.WebhookDeliveries(b.ID, 1000)
			for _, d := range ds {
				if d.State() != gatehouse.DeliveryFailed {
					t.Fatalf("a delivery of the disabled endpoint is %s, want failed", d.State())
				}
			}
			if err != nil {
				return err
			}
			if ok, err := tx.DeleteWebhookEndpoint(a.ID); !ok || err != nil {
				t.Fatalf("delete: %v, %v", ok, err)
			}
			left, err := tx.WebhookDeliveries(a.ID, 1000)
			if len(left) != 0 {
				t.Errorf("%d deliveries of the deleted endpoint are left", len(left))
			}
			return err
		})
	})
}

// ViewSnapshot's reads all see one snapshot: a success recorded between
// the read of an endpoint and the read of its deliveries (the endpoint's
// page) shows in neither, where View's second read would show the
// delivery delivered beside the endpoint still failing from the attempt
// before (TestWebhookDeliveredEndToEnd saw that now and then).
func TestViewSnapshotSeesOneCommit(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		var e *gatehouse.WebhookEndpoint
		var d *gatehouse.WebhookDelivery
		s.update(t, func(tx gatehouse.Tx) error {
			e = &gatehouse.WebhookEndpoint{ID: gatehouse.NewID(tx.Now()), URL: "https://hooks.example.com/x",
				Events: []string{gatehouse.WebhookUserDisabled}, Secret: []byte("sealed"), CreatedAt: tx.Now()}
			d = &gatehouse.WebhookDelivery{ID: gatehouse.NewID(tx.Now()), EndpointID: e.ID, MessageID: "msg_x",
				CompanyID: "c", Type: gatehouse.WebhookUserDisabled, Body: []byte("{}"), CreatedAt: tx.Now()}
			if err := tx.CreateWebhookEndpoint(e); err != nil {
				return err
			}
			if err := tx.EnqueueWebhookDeliveries(d); err != nil {
				return err
			}
			if _, err := tx.MarkWebhookFailing(e.ID, "HTTP 500"); err != nil {
				return err
			}
			return tx.WebhookRetry(gatehouse.WebhookAttempt{DeliveryID: d.ID, At: tx.Now(), Status: 500, Error: "HTTP 500"}, tx.Now())
		})
		succeed := func(tx gatehouse.Tx) error {
			if err := tx.WebhookDelivered(gatehouse.WebhookAttempt{DeliveryID: d.ID, At: tx.Now(), Status: 204}); err != nil {
				return err
			}
			return tx.WebhooksSucceeded(e.ID)
		}
		read := func(tx gatehouse.Tx, between func()) (failing bool, state string) {
			got, err := tx.WebhookEndpoint(e.ID)
			if err != nil {
				t.Fatalf("endpoint: %v", err)
			}
			between()
			ds, err := tx.WebhookDeliveries(e.ID, 10)
			if err != nil || len(ds) != 1 {
				t.Fatalf("deliveries: got %d, %v, want 1", len(ds), err)
			}
			return !got.FailingSince.IsZero(), ds[0].State()
		}
		var failing bool
		var state string
		err := s.ViewSnapshot(context.Background(), func(tx gatehouse.Tx) error {
			failing, state = read(tx, func() { s.update(t, succeed) })
			return nil
		})
		if err != nil || !failing || state != gatehouse.DeliveryPending {
			t.Errorf("snapshot across a success: endpoint failing %v, delivery %s, %v; want failing, pending (the state before it)", failing, state, err)
		}
		s.view(t, func(tx gatehouse.Tx) error {
			failing, state = read(tx, func() {})
			return nil
		})
		if failing || state != gatehouse.DeliveryDelivered {
			t.Errorf("after the success: endpoint failing %v, delivery %s; want not failing, delivered", failing, state)
		}
	})
}
