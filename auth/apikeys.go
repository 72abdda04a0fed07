package auth

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/gatehouse/gatehouse"
)

// API keys (../shared/API.md, "API keys and provisioning"): a company key
// acts as an administrator of its company (through Actor, in every admin
// method); an operator key provisions companies. A key is shown once and
// stored as its SHA-256. A request's key is found by the ID it carries and
// its hash compared in constant time; nothing about a key is cached, so a
// deleted key is refused by the next request on every node. Failed
// attempts are throttled per key (by the ID the key names, whether or not
// a key has it, as logins are by email) and per client address; an
// unknown, malformed, wrong or expired key gets the same EUnauthenticated.

// Limits of API keys.
const (
	// MaxAPIKeysPerCompany bounds a company's keys.
	MaxAPIKeysPerCompany = 50
	// APIKeyTouchInterval bounds the writes that record a key's last use:
	// a key used all day costs one write a minute, not one a request.
	APIKeyTouchInterval = time.Minute
)

// apiKeyLimit counts failed attempts with one key ID. A key is 256 random
// bits, so guessing it is hopeless; the limit bounds how fast anyone can
// try, and makes a leaked ID with a wrong secret visible (audit) without
// letting it be hammered: while the ID is blocked its wrong secrets are
// refused with too_many_attempts, counted against their address only
// (neither extending the block nor filling the log). Its right secret
// still passes and lifts the block, as a reset link passes an account's
// block: the ID is no secret (lists, the audit log, the key's first
// characters), so a block that refused the right secret too would let
// anyone who saw the ID keep the key's program out for good, and a
// 256-bit secret is as unguessable as a reset link.
var apiKeyLimit = limit{Free: 10, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}

// apiKeyThrottleKey names the failure counter of a key ID.
func apiKeyThrottleKey(id string) string { return "api-key:" + id }

// APIKeysPath is the page where admins manage their company's keys.
const APIKeysPath = "/settings/api-keys"

// NewAPIKey is a key to make.
type NewAPIKey struct {
	Name string
	// ExpiresAt is when the key stops working; zero for never.
	ExpiresAt time.Time
}

// CreatedAPIKey is a new key and the key itself, shown only now.
type CreatedAPIKey struct {
	APIKey *gatehouse.APIKey
	Key    string
}

func errAPIKeyNotFound() error { return gatehouse.Errorf(gatehouse.ENotFound, "API key not found.") }

// AuthenticateAPIKey returns the identity of a request made with an API
// key: one View of three point reads (the client address's and the key
// ID's throttles, and the key), plus a write at most once a minute per key
// to record its use. A failure is counted against the address and the key
// ID, after the read, in a transaction of its own; while the key ID is
// blocked, against the address only (apiKeyLimit).
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string, c Client) (*Identity, error) {
	keyID, wellFormed := gatehouse.ParseAPIKey(key)
	var k *gatehouse.APIKey
	var failures int
	var now time.Time
	var blockedFor time.Duration // the key ID's block, when it has one
	failed := false
	err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		now = tx.Now()
		if err := addressLimit.check(tx, failureKey(c.IP)); err != nil {
			return err
		}
		if !wellFormed {
			failed = true
			return nil
		}
		t, err := tx.Throttle(apiKeyThrottleKey(keyID))
		if err != nil {
			return err
		}
		_, blockedFor = apiKeyLimit.blocked(t, tx.Now())
		failures = t.Failures
		k, err = tx.APIKey(keyID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			k, failed = nil, true
			return nil
		}
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(k.Hash, gatehouse.HashToken(key)) != 1 || k.Expired(tx.Now()) {
			failed = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if failed && blockedFor > 0 {
		s.countBadAPIKey(ctx, "", nil, key, c)
		return nil, tooManyAttempts(blockedFor)
	}
	if failed {
		if !wellFormed {
			keyID = ""
		}
		s.countBadAPIKey(ctx, keyID, k, key, c)
		return nil, errUnauthenticated()
	}
	if failures > 0 || now.Sub(k.LastUsedAt) >= APIKeyTouchInterval {
		if err := s.touchAPIKey(ctx, k, failures > 0); err != nil {
			return nil, err
		}
	}
	return &Identity{Key: k}, nil
}

// countBadAPIKey counts a refused key against the client's address and,
// when keyID is not empty, against that ID; a key that exists (k, with
// the wrong secret or expired) is also audited in its company's log.
func (s *Service) countBadAPIKey(ctx context.Context, keyID string, k *gatehouse.APIKey, key string, c Client) {
	err := s.update(context.WithoutCancel(ctx), func(tx gatehouse.Tx, o *outcome) error {
		if err := addressLimit.record(tx, failureKey(c.IP)); err != nil {
			return err
		}
		if keyID == "" {
			return nil
		}
		if err := apiKeyLimit.record(tx, apiKeyThrottleKey(keyID)); err != nil {
			return err
		}
		if k == nil {
			return nil
		}
		e := event(gatehouse.EventAPIKeyFailed, k.CompanyID, "", "", c)
		e.Detail = "key=" + k.ID + " reason=wrong_key"
		if subtle.ConstantTimeCompare(k.Hash, gatehouse.HashToken(key)) == 1 {
			e.Detail = "key=" + k.ID + " reason=expired"
		}
		return s.audit(tx, e)
	})
	if err != nil {
		s.log.Error("count a bad api key", "err", err)
	}
}

// touchAPIKey records the key's use and forgets its failures after a
// success. As with sessions (touch), of a burst of requests that find it
// due on this node one writes, and the commit does not wait for the disk.
func (s *Service) touchAPIKey(ctx context.Context, k *gatehouse.APIKey, clearFailures bool) error {
	if _, busy := s.touching.LoadOrStore("api-key:"+k.ID, struct{}{}); busy {
		return nil
	}
	defer s.touching.Delete("api-key:" + k.ID)
	return s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
		if clearFailures {
			if err := tx.ClearThrottle(apiKeyThrottleKey(k.ID)); err != nil {
				return err
			}
		}
		if tx.Now().Sub(k.LastUsedAt) < APIKeyTouchInterval {
			return nil
		}
		k.LastUsedAt = tx.Now()
		return tx.TouchAPIKey(k.ID, tx.Now())
	})
}

// checkNewAPIKey validates a key's name and expiry at now.
func checkNewAPIKey(nk NewAPIKey, now time.Time) (NewAPIKey, error) {
	name, err := cleanName(nk.Name, "key name")
	if err != nil {
		return nk, err
	}
	if !nk.ExpiresAt.IsZero() && !nk.ExpiresAt.After(now) {
		return nk, gatehouse.Errorf(gatehouse.EInvalidRequest, "The expiry must be in the future.")
	}
	return NewAPIKey{Name: name, ExpiresAt: nk.ExpiresAt.UTC().Truncate(time.Millisecond)}, nil
}

// createAPIKey stores a new key of companyID ("" for an operator key) made
// by actor (nil: the operator's command line) and audits it; a company's
// at most MaxAPIKeysPerCompany, the caller holding the company's lock.
func (s *Service) createAPIKey(tx gatehouse.Tx, companyID string, actor *Actor, nk NewAPIKey, c Client) (*CreatedAPIKey, error) {
	nk, err := checkNewAPIKey(nk, tx.Now())
	if err != nil {
		return nil, err
	}
	if companyID != "" {
		if _, err := tx.Company(companyID); err != nil {
			return nil, err
		}
		if err := apiKeysPerCompany.check(tx, companyID); err != nil {
			return nil, err
		}
	}
	k := &gatehouse.APIKey{ID: gatehouse.NewID(tx.Now()), CompanyID: companyID, Name: nk.Name, CreatedAt: tx.Now(),
		ExpiresAt: nk.ExpiresAt}
	var key string
	key, k.Hash = gatehouse.NewAPIKey(k.ID)
	if actor != nil {
		k.CreatedBy = actor.ID
	}
	if err := tx.CreateAPIKey(k); err != nil {
		return nil, err
	}
	if err := s.auditAPIKey(tx, gatehouse.EventAPIKeyCreated, k, actor, c); err != nil {
		return nil, err
	}
	return &CreatedAPIKey{APIKey: k, Key: key}, nil
}

// auditAPIKey records an event about key k by actor (nil: the operator),
// in k's company's log. The key is named in Detail.
func (s *Service) auditAPIKey(tx gatehouse.Tx, typ string, k *gatehouse.APIKey, actor *Actor, c Client) error {
	e := event(typ, k.CompanyID, "", "", c)
	e.Detail = "key=" + k.ID
	if actor != nil {
		e.ActorID, e.ActorType = actor.ID, actor.actorType()
	} else {
		e.Detail = gatehouse.DetailOperator + " " + e.Detail
	}
	return s.audit(tx, e)
}

// APIKeys lists the keys of the caller's company, oldest first.
func (s *Service) APIKeys(ctx context.Context, id *Identity) ([]*gatehouse.APIKey, error) {
	var list []*gatehouse.APIKey
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		list, err = tx.APIKeys(actor.CompanyID)
		return err
	})
	return list, err
}

// CreateAPIKey makes a key of the caller's company and returns it with
// the key itself, which is shown only now. A company key may make another
// (it acts as an admin); no caller of this method can make an operator
// key.
func (s *Service) CreateAPIKey(ctx context.Context, id *Identity, nk NewAPIKey, c Client) (*CreatedAPIKey, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	if _, err := checkNewAPIKey(nk, time.Time{}); err != nil {
		return nil, err
	}
	var created *CreatedAPIKey
	err := s.adminLocked(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		created, err = s.createAPIKey(tx, actor.CompanyID, actor, nk, c)
		return err
	})
	return created, err
}

var apiKeysPerCompany = companyLimit{max: MaxAPIKeysPerCompany, what: "API keys",
	count: func(tx gatehouse.Tx, companyID string) (int, error) {
		list, err := tx.APIKeys(companyID)
		return len(list), err
	}}

// DeleteAPIKey deletes a key of the caller's company: the next request
// made with it is refused, on every node. Another company's key is
// ENotFound, like one that does not exist.
func (s *Service) DeleteAPIKey(ctx context.Context, id *Identity, keyID string, c Client) error {
	return adminItem(s, ctx, id, func(tx gatehouse.Tx, actor *Actor) (*gatehouse.APIKey, error) {
		return companyAPIKey(tx, actor, keyID)
	}, func(tx gatehouse.Tx, o *outcome, actor *Actor, k *gatehouse.APIKey) error {
		return s.deleteAPIKey(tx, k, actor, c)
	})
}

// companyAPIKey loads a key of the actor's company.
func companyAPIKey(tx gatehouse.Tx, actor *Actor, keyID string) (*gatehouse.APIKey, error) {
	if keyID == "" || len(keyID) > maxIDBytes {
		return nil, errAPIKeyNotFound()
	}
	k, err := tx.APIKey(keyID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound || err == nil && k.CompanyID != actor.CompanyID {
		return nil, errAPIKeyNotFound()
	}
	return k, err
}

func (s *Service) deleteAPIKey(tx gatehouse.Tx, k *gatehouse.APIKey, actor *Actor, c Client) error {
	if _, err := tx.DeleteAPIKey(k.ID); err != nil {
		return err
	}
	if err := tx.ClearThrottle(apiKeyThrottleKey(k.ID)); err != nil {
		return err
	}
	return s.auditAPIKey(tx, gatehouse.EventAPIKeyDeleted, k, actor, c)
}

// --- The operator's keys (gatehouse api-key ...) ---

// OperatorCreateAPIKey makes a key from the command line: a company key
// for companyID, or with companyID empty an operator key. Operator keys
// are made here only: no key and no page can make one.
func (s *Service) OperatorCreateAPIKey(ctx context.Context, companyID string, nk NewAPIKey, c Client) (*CreatedAPIKey, error) {
	var created *CreatedAPIKey
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) (err error) {
		if companyID != "" {
			if err := tx.LockCompany(companyID); err != nil {
				return err
			}
		}
		created, err = s.createAPIKey(tx, companyID, nil, nk, c)
		return err
	})
	return created, err
}

// OperatorAPIKeys lists a company's keys, or with companyID empty the
// operator's.
func (s *Service) OperatorAPIKeys(ctx context.Context, companyID string) ([]*gatehouse.APIKey, error) {
	var list []*gatehouse.APIKey
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		list, err = tx.APIKeys(companyID)
		return err
	})
	return list, err
}

// OperatorDeleteAPIKey deletes any key.
func (s *Service) OperatorDeleteAPIKey(ctx context.Context, keyID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if keyID == "" || len(keyID) > maxIDBytes {
			return errAPIKeyNotFound()
		}
		k, err := tx.APIKey(keyID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return errAPIKeyNotFound()
		}
		if err != nil {
			return err
		}
		return s.deleteAPIKey(tx, k, nil, c)
	})
}
