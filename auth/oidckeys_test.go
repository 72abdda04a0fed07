package auth_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Signing keys: the first start creates one, and a second start none; a
// rotation makes a new key sign while the old one is published until
// OIDCKeyPublished has passed; the private key is sealed in the store, and
// the rotation is audited as the operator's.
func TestSigningKeyRotation(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.svc.SigningKeys(ctx); err == nil {
			t.Fatal("signing keys before the first start: got some, want an error")
		}
		if _, err := e.svc.SigningKey(ctx); err == nil {
			t.Fatal("the signing key before the first start: got one, want an error")
		}
		created, err := e.svc.EnsureSigningKey(ctx)
		if err != nil || !created {
			t.Fatalf("first start: got created %v, %v; want true", created, err)
		}
		if created, err := e.svc.EnsureSigningKey(ctx); err != nil || created {
			t.Fatalf("second start: got created %v, %v; want false", created, err)
		}
		keys, err := e.svc.SigningKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Private == nil || keys[0].Algorithm != "RS256" {
			t.Fatalf("keys after the first start: got %+v, %v; want one RS256 key that signs", keys, err)
		}
		first := keys[0]
		signs(t, first)
		if k, err := e.svc.SigningKey(ctx); err != nil || k.ID != first.ID {
			t.Fatalf("the signing key: got %+v, %v; want %s", k, err, first.ID)
		}
		// The store holds the private key sealed, never in the clear.
		e.store.View(ctx, func(tx gatehouse.Tx) error {
			rows, _ := tx.SigningKeys(time.Time{})
			der, _ := first.Private.(*rsa.PrivateKey)
			if len(rows) != 1 || der == nil || len(rows[0].PrivateKey) < 1000 {
				t.Fatalf("stored key: got %d rows", len(rows))
			}
			return nil
		})

		kid, err := e.svc.RotateSigningKey(ctx)
		if err != nil || kid == first.ID {
			t.Fatalf("rotate: got %q, %v; want a new kid", kid, err)
		}
		keys, _ = e.svc.SigningKeys(ctx)
		if len(keys) != 2 || keys[0].ID != kid || keys[0].Private == nil || keys[1].ID != first.ID || keys[1].Private != nil {
			t.Fatalf("keys after rotation: got %+v, want %s signing and %s published only", keys, kid, first.ID)
		}
		signs(t, keys[0])
		if k, err := e.svc.SigningKey(ctx); err != nil || k.ID != kid || k.Private == nil {
			t.Fatalf("the signing key after rotation: got %+v, %v; want %s", k, err, kid)
		}
		e.clock.Advance(auth.OIDCKeyPublished - time.Second)
		if keys, _ = e.svc.SigningKeys(ctx); len(keys) != 2 {
			t.Fatalf("keys just before the old key's end: got %d, want 2", len(keys))
		}
		e.clock.Advance(2 * time.Second)
		if keys, _ = e.svc.SigningKeys(ctx); len(keys) != 1 || keys[0].ID != kid {
			t.Fatalf("keys after the old key's end: got %d, want only %s", len(keys), kid)
		}
		var events []*gatehouse.AuditEvent
		e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
			events, err = tx.AuditEvents(gatehouse.AuditFilter{Type: gatehouse.EventOIDCKeyRotated, Limit: 10})
			return err
		})
		if len(events) != 1 || !events[0].ByOperator() {
			t.Fatalf("rotation audit: got %+v, want one event by the operator", events)
		}
	})
}

func signs(t *testing.T, k *auth.SigningKey) {
	t.Helper()
	digest := sha256.Sum256([]byte("hello"))
	sig, err := k.Private.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("sign with %s: %v", k.ID, err)
	}
	if err := rsa.VerifyPKCS1v15(k.Public.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("verify with %s's public key: %v", k.ID, err)
	}
}
