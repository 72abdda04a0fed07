package auth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// companyKey makes a key of admin's company through the admin's methods
// and returns it with the identity it authenticates as.
func (e *env) companyKey(t testing.TB, admin *auth.Identity, name string) (*auth.CreatedAPIKey, *auth.Identity) {
	t.Helper()
	created, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: name}, e.client())
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	id, err := e.svc.AuthenticateAPIKey(ctx, created.Key, e.client())
	if err != nil {
		t.Fatalf("authenticate key: %v", err)
	}
	return created, id
}

// auditRows returns the company's audit events, newest first.
func (e *env) auditRows(t testing.TB, companyID string) []*gatehouse.AuditEvent {
	t.Helper()
	var list []*gatehouse.AuditEvent
	err := e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		list, err = tx.AuditEvents(gatehouse.AuditFilter{CompanyID: companyID, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A company key is an admin of its company: it invites a user (whose
// invitation arrives, naming the key), changes the company, manages keys;
// every audit row names the key as the actor. It reaches no other
// company's users or keys.
func TestAPIKeyActsAsAdmin(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		created, key := e.companyKey(t, admin, "HR sync")
		if !strings.HasPrefix(created.Key, "gh_"+created.APIKey.ID+"_") || len(created.Key) != gatehouse.APIKeyLength {
			t.Fatalf("key %q: want gh_<id>_<secret> of %d characters", created.Key, gatehouse.APIKeyLength)
		}
		if key.User != nil || key.Key == nil || key.Key.ID != created.APIKey.ID {
			t.Fatalf("identity of a key: got %+v, want the key and no user", key)
		}

		u, err := e.svc.InviteUser(ctx, key, auth.Invite{Email: "newhire@example.com", Name: "New Hire"}, e.client())
		wantCode(t, "invite with a key", err, "")
		if u.CompanyID != admin.User.CompanyID {
			t.Fatalf("invited into %s, want the key's company %s", u.CompanyID, admin.User.CompanyID)
		}
		msg := e.smtp.WaitFor(t, "newhire@example.com", "invited you")
		if !strings.Contains(msg.Text, "HR sync") {
			t.Errorf("invitation mail does not name the key:\n%s", msg.Text)
		}
		name := "Acme Renamed"
		_, err = e.svc.UpdateCompany(ctx, key, auth.CompanyUpdate{Name: &name}, e.client())
		wantCode(t, "rename with a key", err, "")
		second, err := e.svc.CreateAPIKey(ctx, key, auth.NewAPIKey{Name: "made by a key"}, e.client())
		wantCode(t, "a key makes a key", err, "")
		if second.APIKey.CompanyID != admin.User.CompanyID || second.APIKey.CreatedBy != created.APIKey.ID {
			t.Errorf("key made by a key: got company %q by %q", second.APIKey.CompanyID, second.APIKey.CreatedBy)
		}
		wantCode(t, "a key deletes a key", e.svc.DeleteAPIKey(ctx, key, second.APIKey.ID, e.client()), "")

		byKey := map[string]bool{}
		for _, ev := range e.auditRows(t, admin.User.CompanyID) {
			if ev.ActorID == created.APIKey.ID {
				if ev.ActorType != gatehouse.ActorAPIKey {
					t.Errorf("%s by the key: actor type %q, want %q", ev.Type, ev.ActorType, gatehouse.ActorAPIKey)
				}
				byKey[ev.Type] = true
			}
		}
		for _, typ := range []string{gatehouse.EventInvitationSent, gatehouse.EventCompanyUpdated,
			gatehouse.EventAPIKeyCreated, gatehouse.EventAPIKeyDeleted} {
			if !byKey[typ] {
				t.Errorf("no %s event with the key as actor; got %v", typ, byKey)
			}
		}

		// Another company's user and key are not found, as if absent.
		other := e.company(t)
		otherKey, _ := e.companyKey(t, other, "theirs")
		_, err = e.svc.CompanyUser(ctx, key, other.User.ID)
		wantCode(t, "another company's user", err, gatehouse.ENotFound)
		wantCode(t, "another company's key", e.svc.DeleteAPIKey(ctx, key, otherKey.APIKey.ID, e.client()), gatehouse.ENotFound)
		list, err := e.svc.APIKeys(ctx, key)
		wantCode(t, "list", err, "")
		if len(list) != 1 || list[0].ID != created.APIKey.ID {
			t.Errorf("listed %d keys, want only the company's own", len(list))
		}
	})
}

// Every refused key gets the same unauthenticated: malformed, unknown,
// wrong secret, expired, deleted.
func TestAPIKeyRefused(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		good, _ := e.companyKey(t, admin, "good")
		expiring, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "short", ExpiresAt: e.clock.Now().Add(time.Hour)}, e.client())
		wantCode(t, "create expiring", err, "")
		deleted, _ := e.companyKey(t, admin, "deleted")
		wantCode(t, "delete", e.svc.DeleteAPIKey(ctx, admin, deleted.APIKey.ID, e.client()), "")
		e.clock.Advance(time.Hour)

		wrongSecret := good.Key[:len(good.Key)-4] + "0000"
		if wrongSecret == good.Key {
			wrongSecret = good.Key[:len(good.Key)-4] + "1111"
		}
		unknown, _ := gatehouse.NewAPIKey(gatehouse.NewID(e.clock.Now()))
		for _, tc := range []struct{ name, key string }{
			{"empty", ""},
			{"prefix only", "gh_"},
			{"truncated", good.Key[:len(good.Key)-1]},
			{"extended", good.Key + "a"},
			{"upper case", strings.ToUpper(good.Key)},
			{"not base32", good.Key[:len(good.Key)-1] + "u"},
			{"no separator", strings.Replace(good.Key, good.APIKey.ID+"_", good.APIKey.ID+"-", 1)},
			{"unknown", unknown},
			{"wrong secret", wrongSecret},
			{"expired", expiring.Key},
			{"deleted", deleted.Key},
		} {
			_, err := e.svc.AuthenticateAPIKey(ctx, tc.key, e.client())
			if gatehouse.ErrorCode(err) != gatehouse.EUnauthenticated || gatehouse.ErrorMessage(err) != "Please log in." {
				t.Errorf("%s: got %v, want the one unauthenticated answer", tc.name, err)
			}
		}
		_, err = e.svc.AuthenticateAPIKey(ctx, good.Key, e.client())
		wantCode(t, "the good key still works", err, "")

		// The wrong secret and the expired key are in the log, by key.
		details := map[string]bool{}
		for _, ev := range e.auditRows(t, admin.User.CompanyID) {
			if ev.Type == gatehouse.EventAPIKeyFailed {
				details[ev.Detail] = true
			}
		}
		for _, want := range []string{"key=" + good.APIKey.ID + " reason=wrong_key", "key=" + expiring.APIKey.ID + " reason=expired"} {
			if !details[want] {
				t.Errorf("no api_key.failed event %q; got %v", want, details)
			}
		}
	})
}

// A key deleted while its identity is in hand (a request in flight) can
// do nothing more: the admin methods read the key again inside their
// transaction.
func TestAPIKeyDeletedMidRequest(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		created, key := e.companyKey(t, admin, "doomed")
		wantCode(t, "delete", e.svc.DeleteAPIKey(ctx, admin, created.APIKey.ID, e.client()), "")
		_, err := e.svc.InviteUser(ctx, key, auth.Invite{Email: "late@example.com", Name: "Late"}, e.client())
		wantCode(t, "invite with a deleted key", err, gatehouse.EForbidden)
		_, err = e.svc.ListUsers(ctx, key, auth.UserQuery{})
		wantCode(t, "list with a deleted key", err, gatehouse.EForbidden)
	})
}

// Failed attempts with one key ID are throttled as logins are: after the
// free ones the ID is blocked, and its wrong secrets get too_many_attempts
// until the block ends. An ID that no key has is throttled the same way.
func TestAPIKeyThrottle(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		good, _ := e.companyKey(t, admin, "targeted")
		wrong := good.Key[:len(good.Key)-4] + "zzzz"
		unknown, _ := gatehouse.NewAPIKey(gatehouse.NewID(e.clock.Now()))
		for _, k := range []string{wrong, unknown} {
			for i := range 10 {
				_, err := e.svc.AuthenticateAPIKey(ctx, k, e.client())
				wantCode(t, fmt.Sprintf("failure %d", i+1), err, gatehouse.EUnauthenticated)
			}
			_, err := e.svc.AuthenticateAPIKey(ctx, k, e.client())
			wantCode(t, "the 11th failure", err, gatehouse.ETooManyAttempts)
			if ae := gatehouse.AsError(err); ae.RetryAfter <= 0 {
				t.Errorf("too_many_attempts without Retry-After")
			}
		}
		e.clock.Advance(16 * time.Minute)
		_, err := e.svc.AuthenticateAPIKey(ctx, wrong, e.client())
		wantCode(t, "a failure after the block, past the free ones", err, gatehouse.EUnauthenticated)
		_, err = e.svc.AuthenticateAPIKey(ctx, wrong, e.client())
		wantCode(t, "blocked again at once", err, gatehouse.ETooManyAttempts)
		_, err = e.svc.AuthenticateAPIKey(ctx, good.Key, e.client())
		wantCode(t, "the right key", err, "")
		_, err = e.svc.AuthenticateAPIKey(ctx, wrong, e.client())
		wantCode(t, "one failure after a success", err, gatehouse.EUnauthenticated)
		_, err = e.svc.AuthenticateAPIKey(ctx, good.Key, e.client())
		wantCode(t, "a success forgot the earlier failures", err, "")
	})
}

// Whoever knows a key's ID (it is no secret: lists, the audit log, the
// key's first characters) cannot keep the key's program out: the right
// secret passes the ID's block and lifts it, as a reset link passes an
// account's. While blocked, wrong secrets are refused without extending
// the block or filling the log, and count against their address, which a
// blocked address then stops, the right secret too.
func TestAPIKeyBlockCannotKeepTheOwnerOut(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		good, _ := e.companyKey(t, admin, "the billing job")
		owner := e.client()
		wrong := good.Key[:len(good.Key)-4] + "zzzz"
		if wrong == good.Key {
			wrong = good.Key[:len(good.Key)-4] + "yyyy"
		}
		attacker := e.client()
		for range 10 {
			_, err := e.svc.AuthenticateAPIKey(ctx, wrong, attacker)
			wantCode(t, "a wrong secret", err, gatehouse.EUnauthenticated)
		}
		_, err := e.svc.AuthenticateAPIKey(ctx, wrong, attacker)
		wantCode(t, "the key ID blocked", err, gatehouse.ETooManyAttempts)

		id, err := e.svc.AuthenticateAPIKey(ctx, good.Key, owner)
		wantCode(t, "the owner's right key while the ID is blocked", err, "")
		if id == nil || id.Key.ID != good.APIKey.ID {
			t.Fatalf("identity: got %+v, want the key", id)
		}
		// The block is lifted: the attacker starts over from ten free
		// failures, and the owner never meets a block in between.
		for i := range 10 {
			_, err := e.svc.AuthenticateAPIKey(ctx, wrong, attacker)
			wantCode(t, fmt.Sprintf("wrong secret %d after the owner's success", i+1), err, gatehouse.EUnauthenticated)
		}
		for i := range 20 {
			_, err := e.svc.AuthenticateAPIKey(ctx, wrong, attacker)
			wantCode(t, "a wrong secret while blocked", err, gatehouse.ETooManyAttempts)
			if i%5 == 0 {
				_, err := e.svc.AuthenticateAPIKey(ctx, good.Key, owner)
				wantCode(t, "the owner while the attacker hammers", err, "")
				// Each success lifts the block again: hammer back to it.
				for range 10 {
					e.svc.AuthenticateAPIKey(ctx, wrong, attacker)
				}
			}
		}
		// Refusals while blocked are neither audited nor counted against
		// the ID: the 60 counted failures (10, then 10 after each of the
		// owner's 5 successes) are the log's.
		failedEvents := 0
		for _, ev := range e.auditRows(t, admin.User.CompanyID) {
			if ev.Type == gatehouse.EventAPIKeyFailed && ev.Detail == "key="+good.APIKey.ID+" reason=wrong_key" {
				failedEvents++
			}
		}
		if failedEvents != 60 {
			t.Errorf("api_key.failed events: got %d, want 60", failedEvents)
		}

		// An expired key's right secret is refused while blocked, as after.
		expiring, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "short", ExpiresAt: e.clock.Now().Add(time.Minute)}, e.client())
		wantCode(t, "create expiring", err, "")
		e.clock.Advance(2 * time.Minute)
		stale := expiring.Key[:len(expiring.Key)-4] + "zzzz"
		for range 11 {
			e.svc.AuthenticateAPIKey(ctx, stale, e.client())
		}
		_, err = e.svc.AuthenticateAPIKey(ctx, expiring.Key, owner)
		wantCode(t, "an expired key's right secret while blocked", err, gatehouse.ETooManyAttempts)

		// Wrong secrets refused while blocked still count against their
		// address: the address throttle stops it, the right key too.
		hammer := e.client()
		for range 10 {
			e.svc.AuthenticateAPIKey(ctx, wrong, hammer)
		}
		var last error
		for range 100 {
			_, last = e.svc.AuthenticateAPIKey(ctx, wrong, hammer)
		}
		wantCode(t, "the hammering address", last, gatehouse.ETooManyAttempts)
		_, err = e.svc.AuthenticateAPIKey(ctx, good.Key, hammer)
		wantCode(t, "the right key from the blocked address", err, gatehouse.ETooManyAttempts)
		_, err = e.svc.AuthenticateAPIKey(ctx, good.Key, owner)
		wantCode(t, "the right key from the owner's address", err, "")
	})
}

// A key's last use is recorded at most once a minute.
func TestAPIKeyLastUsed(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		created, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "counted"}, e.client())
		wantCode(t, "create", err, "")
		lastUsed := func() time.Time {
			list, err := e.svc.APIKeys(ctx, admin)
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %v, %d keys", err, len(list))
			}
			return list[0].LastUsedAt
		}
		if !lastUsed().IsZero() {
			t.Fatalf("a new key has a last use")
		}
		use := func() {
			if _, err := e.svc.AuthenticateAPIKey(ctx, created.Key, e.client()); err != nil {
				t.Fatal(err)
			}
		}
		use()
		first := lastUsed()
		if first.IsZero() {
			t.Fatalf("first use not recorded")
		}
		e.clock.Advance(30 * time.Second)
		use()
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("a use 30 s later wrote: got %v, want %v kept", got, first)
		}
		e.clock.Advance(31 * time.Second)
		use()
		if got := lastUsed(); !got.After(first) {
			t.Errorf("a use a minute later: got %v, want after %v", got, first)
		}
	})
}

// Who may manage keys: members and operator keys are forbidden from the
// admin methods; a name is required; an expiry in the past is refused.
func TestAPIKeyRules(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		member := e.member(t, admin)
		_, err := e.svc.CreateAPIKey(ctx, member, auth.NewAPIKey{Name: "x"}, e.client())
		wantCode(t, "a member creates", err, gatehouse.EForbidden)
		_, err = e.svc.APIKeys(ctx, member)
		wantCode(t, "a member lists", err, gatehouse.EForbidden)

		op, err := e.svc.OperatorCreateAPIKey(ctx, "", auth.NewAPIKey{Name: "provisioning"}, e.client())
		wantCode(t, "operator key", err, "")
		opID, err := e.svc.AuthenticateAPIKey(ctx, op.Key, e.client())
		wantCode(t, "operator key authenticates", err, "")
		_, err = e.svc.ListUsers(ctx, opID, auth.UserQuery{})
		wantCode(t, "an operator key as an admin", err, gatehouse.EForbidden)
		_, err = e.svc.CreateAPIKey(ctx, opID, auth.NewAPIKey{Name: "x"}, e.client())
		wantCode(t, "an operator key makes a company key as an admin", err, gatehouse.EForbidden)

		_, err = e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "  "}, e.client())
		wantCode(t, "no name", err, gatehouse.EInvalidRequest)
		_, err = e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "past", ExpiresAt: e.clock.Now().Add(-time.Second)}, e.client())
		wantCode(t, "expiry in the past", err, gatehouse.EInvalidRequest)
		_, err = e.svc.OperatorCreateAPIKey(ctx, "nosuchcompany", auth.NewAPIKey{Name: "x"}, e.client())
		wantCode(t, "operator key for no company", err, gatehouse.ENotFound)

		// The operator's deletion is audited as the operator's.
		k, _ := e.companyKey(t, admin, "removed by the operator")
		wantCode(t, "operator deletes", e.svc.OperatorDeleteAPIKey(ctx, k.APIKey.ID, e.client()), "")
		rows := e.auditRows(t, admin.User.CompanyID)
		if rows[0].Type != gatehouse.EventAPIKeyDeleted || !rows[0].ByOperator() {
			t.Errorf("latest event %s %q, want api_key.deleted by the operator", rows[0].Type, rows[0].Detail)
		}
	})
}

// Provisioning is for operator keys only, and a provisioning key deleted
// while its request is in flight creates nothing.
func TestProvisioningRules(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		_, companyKey := e.companyKey(t, admin, "company")
		nc := auth.NewCompany{Name: "Initech", AdminEmail: "peter@initech.example"}
		for name, id := range map[string]*auth.Identity{"an admin": admin, "a company key": companyKey} {
			_, _, err := e.svc.ProvisionCompany(ctx, id, nc, e.client())
			wantCode(t, name+" provisions", err, gatehouse.EForbidden)
			_, err = e.svc.MintCompanyKey(ctx, id, admin.User.CompanyID, auth.NewAPIKey{Name: "x"}, e.client())
			wantCode(t, name+" mints", err, gatehouse.EForbidden)
			_, err = e.svc.Companies(ctx, id, "", 0)
			wantCode(t, name+" lists companies", err, gatehouse.EForbidden)
		}

		op, err := e.svc.OperatorCreateAPIKey(ctx, "", auth.NewAPIKey{Name: "signup"}, e.client())
		wantCode(t, "operator key", err, "")
		opID, err := e.svc.AuthenticateAPIKey(ctx, op.Key, e.client())
		wantCode(t, "authenticate", err, "")
		c, u, err := e.svc.ProvisionCompany(ctx, opID, nc, e.client())
		wantCode(t, "provision", err, "")
		if u.Name != "peter" || u.Role != gatehouse.RoleAdmin || u.Status() != gatehouse.StatusInvited || u.CompanyID != c.ID {
			t.Errorf("provisioned admin %+v, want the invited admin peter of %s", u, c.ID)
		}
		e.smtp.WaitFor(t, "peter@initech.example", "Initech invited you")

		wantCode(t, "delete the operator key", e.svc.OperatorDeleteAPIKey(ctx, op.APIKey.ID, e.client()), "")
		_, _, err = e.svc.ProvisionCompany(ctx, opID, auth.NewCompany{Name: "Late", AdminEmail: "late@late.example"}, e.client())
		wantCode(t, "provision with a deleted key", err, gatehouse.EForbidden)
		_, err = e.svc.MintCompanyKey(ctx, opID, c.ID, auth.NewAPIKey{Name: "x"}, e.client())
		wantCode(t, "mint with a deleted key", err, gatehouse.EForbidden)
		err = e.store.View(ctx, func(tx gatehouse.Tx) error {
			if _, err := tx.UserByEmail("late@late.example"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("the deleted key's company was created: %v", err)
			}
			return nil
		})
		wantCode(t, "view", err, "")
	})
}
