package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The provider's lifetimes (docs/OIDC.md).
const (
	// OIDCRequestLifetime bounds a sign-in from /authorize to its code:
	// long enough for every login step, a forced password change and a
	// 2FA setup included.
	OIDCRequestLifetime = 30 * time.Minute
	OIDCCodeLifetime    = time.Minute
	OIDCAccessLifetime  = 15 * time.Minute
	OIDCIDTokenLifetime = time.Hour
	// OIDCRefreshLifetime is each refresh token's life: a rotation issues
	// a successor with a fresh one, so a family lives while it is used.
	OIDCRefreshLifetime = 30 * 24 * time.Hour
	// OIDCRefreshGrace is how long after a rotation the rotated token still
	// gets the same successor: two tabs or two nodes refreshing at once
	// must not sign the user out. After it, the rotated token's use is
	// reuse, and its family is revoked.
	OIDCRefreshGrace = 30 * time.Second
	// OIDCKeyPublished is how long a retired signing key stays in the JWKS:
	// the longest life of what it signed (ID tokens) and a margin for
	// clocks.
	OIDCKeyPublished = OIDCIDTokenLifetime + 5*time.Minute
)

// SigningAlgorithm is the algorithm of the provider's keys.
const SigningAlgorithm = "RS256"

// SigningKey is a usable key: the private key opened, the public key
// parsed.
type SigningKey struct {
	ID        string
	Algorithm string
	Private   crypto.Signer // nil for a published key that no longer signs
	Public    crypto.PublicKey
	RetiredAt time.Time
}

var errNoSigningKey = errors.New("no signing key: the server creates one when it starts")

func signingKeyAAD(id string) []byte { return []byte("oidc-key:" + id) }

// newSigningKey makes a key, sealed for the store.
func (s *Service) newSigningKey(now time.Time) (*gatehouse.OIDCSigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	id := gatehouse.NewID(now)
	return &gatehouse.OIDCSigningKey{ID: id, Algorithm: SigningAlgorithm, PrivateKey: s.sealer.Seal(der, signingKeyAAD(id)),
		PublicKey: pub, CreatedAt: now}, nil
}

// EnsureSigningKey creates the first signing key unless a key signs; of
// nodes starting at once, one creates it. It reports whether it did.
func (s *Service) EnsureSigningKey(ctx context.Context) (bool, error) {
	var keys []*gatehouse.OIDCSigningKey
	if err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		keys, err = tx.SigningKeys(tx.Now())
		return err
	}); err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.RetiredAt.IsZero() {
			return false, nil
		}
	}
	k, err := s.newSigningKey(time.Now())
	if err != nil {
		return false, err
	}
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		k.CreatedAt = tx.Now()
		return tx.CreateSigningKey(k)
	})
	if gatehouse.ErrorCode(err) == gatehouse.ESigningKeyExists {
		return false, nil // another node was first
	}
	return err == nil, err
}

// RotateSigningKey makes a new key sign from now on; the old one stays
// published for OIDCKeyPublished. Nodes read the signing key from the
// store, so every node signs with the new key from its next token. The
// operator's act: audited without an actor.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) {
	k, err := s.newSigningKey(time.Now())
	if err != nil {
		return "", err
	}
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		k.CreatedAt = tx.Now()
		if _, err := tx.RetireSigningKey(tx.Now()); err != nil {
			return err
		}
		if err := tx.CreateSigningKey(k); err != nil {
			return err
		}
		e := event(gatehouse.EventOIDCKeyRotated, "", "", "", Client{})
		e.Detail = gatehouse.DetailOperator + " kid=" + k.ID
		return s.audit(tx, e)
	})
	if gatehouse.ErrorCode(err) == gatehouse.ESigningKeyExists {
		return "", gatehouse.Errorf(gatehouse.ESigningKeyExists, "Another rotation ran at the same time; run it again if you need a newer key.")
	}
	return k.ID, err
}

// SigningKeys returns the key that signs (first) and the retired keys
// still published. Opened keys are kept in memory by ID: a key never
// changes, so only which key signs is read from the store each time.
func (s *Service) SigningKeys(ctx context.Context) ([]*SigningKey, error) {
	var rows []*gatehouse.OIDCSigningKey
	if err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		rows, err = tx.SigningKeys(tx.Now().Add(-OIDCKeyPublished))
		return err
	}); err != nil {
		return nil, err
	}
	keys := make([]*SigningKey, 0, len(rows))
	for _, r := range rows {
		k, err := s.openSigningKey(r)
		if err != nil {
			return nil, err
		}
		if !r.RetiredAt.IsZero() {
			k = &SigningKey{ID: k.ID, Algorithm: k.Algorithm, Public: k.Public, RetiredAt: r.RetiredAt}
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 || !keys[0].RetiredAt.IsZero() {
		return nil, errNoSigningKey
	}
	return keys, nil
}

// SigningKey returns the key that signs, read from the store each time
// (a rotation on any node takes effect at the next token), opened once.
func (s *Service) SigningKey(ctx context.Context) (*SigningKey, error) {
	var row *gatehouse.OIDCSigningKey
	if err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		row, err = tx.SigningKey()
		return err
	}); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return nil, errNoSigningKey
		}
		return nil, err
	}
	return s.openSigningKey(row)
}

// openedSigningKey returns the key with the ID if this node opened it
// before, or nil.
func (s *Service) openedSigningKey(id string) *SigningKey {
	if k, ok := s.oidcKeys.Load(id); ok {
		return k.(*SigningKey)
	}
	return nil
}

func (s *Service) openSigningKey(r *gatehouse.OIDCSigningKey) (*SigningKey, error) {
	if k := s.openedSigningKey(r.ID); k != nil {
		return k, nil
	}
	der, err := s.sealer.Open(r.PrivateKey, signingKeyAAD(r.ID))
	if err != nil {
		return nil, fmt.Errorf("open signing key %s: %w", r.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", r.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s cannot sign", r.ID)
	}
	pub, err := x509.ParsePKIXPublicKey(r.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("parse public key %s: %w", r.ID, err)
	}
	k := &SigningKey{ID: r.ID, Algorithm: r.Algorithm, Private: signer, Public: pub}
	s.oidcKeys.Store(r.ID, k)
	return k, nil
}
