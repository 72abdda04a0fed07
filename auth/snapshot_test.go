package auth_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// interleaved is the store with another request's commit landing between
// two reads of one View or ViewSnapshot: after the read the test names,
// between runs once, on the test's own service, as a request committing
// at that moment would. Every read and write is the store's own.
type interleaved struct {
	gatehouse.Store
	mu      sync.Mutex
	after   string // the Tx method whose read the commit follows
	skip    int    // reads of it to let pass first
	between func()
	ran     bool
}

// interleave returns e's service on a store where between commits after
// the (skip+1)th read of the Tx method after, and a check that it did.
func interleave(t *testing.T, e *env, after string, skip int, between func()) (svc *auth.Service, ran func()) {
	s := &interleaved{Store: e.store, after: after, skip: skip, between: between}
	return e.serviceOn(s), func() {
		t.Helper()
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.ran {
			t.Fatalf("no commit between the reads: %s was not read %d times", after, skip+1)
		}
	}
}

func (s *interleaved) View(ctx context.Context, fn func(gatehouse.Tx) error) error {
	return s.Store.View(ctx, func(tx gatehouse.Tx) error { return fn(interleavedTx{tx, s}) })
}

func (s *interleaved) ViewSnapshot(ctx context.Context, fn func(gatehouse.Tx) error) error {
	return s.Store.ViewSnapshot(ctx, func(tx gatehouse.Tx) error { return fn(interleavedTx{tx, s}) })
}

// read runs between once the read it follows is done.
func (s *interleaved) read(method string) {
	s.mu.Lock()
	if s.ran || method != s.after {
		s.mu.Unlock()
		return
	}
	if s.skip > 0 {
		s.skip--
		s.mu.Unlock()
		return
	}
	s.ran = true
	s.mu.Unlock()
	s.between()
}

type interleavedTx struct {
	gatehouse.Tx
	s *interleaved
}

func (tx interleavedTx) User(id string) (*gatehouse.User, error) {
	defer tx.s.read("User")
	return tx.Tx.User(id)
}

func (tx interleavedTx) ListUsers(f gatehouse.UserFilter) ([]*gatehouse.User, error) {
	defer tx.s.read("ListUsers")
	return tx.Tx.ListUsers(f)
}

func (tx interleavedTx) CompanyCount() (int, error) {
	defer tx.s.read("CompanyCount")
	return tx.Tx.CompanyCount()
}

func (tx interleavedTx) AuditEvents(f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	defer tx.s.read("AuditEvents")
	return tx.Tx.AuditEvents(f)
}

// A read whose queries show rows that one commit changes together sees
// them from one snapshot: with that commit landing between its queries,
// the answer is the state before it, never half of each (each case
// failed with View, on both databases). See DESIGN.md, "Reads".
func TestReadsSeeOneCommit(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("totp_state", func(t *testing.T) {
			// Turning the app off clears the user's secret and deletes the
			// recovery codes in one commit.
			admin := e.company(t)
			_, codes := e.enableTOTP(t, admin)
			svc, ran := interleave(t, e, "User", 0, func() {
				if err := e.svc.DisableTOTP(ctx, admin, goodPW, e.client()); err != nil {
					t.Errorf("disable 2FA between the reads: %v", err)
				}
			})
			st, err := svc.TOTPState(ctx, admin)
			ran()
			if err != nil {
				t.Fatal(err)
			}
			if !st.Enabled || st.RecoveryCodesLeft != len(codes) {
				t.Errorf("2FA turned off between the reads: got on %v with %d recovery codes; want on with %d (before)",
					st.Enabled, st.RecoveryCodesLeft, len(codes))
			}
			if st, err := e.svc.TOTPState(ctx, admin); err != nil || st.Enabled || st.RecoveryCodesLeft != 0 {
				t.Errorf("after: got %+v, %v; want off", st, err)
			}
		})

		t.Run("audit_page", func(t *testing.T) {
			// Deleting a key removes it and logs its deletion in one
			// commit: a page names the key, or shows its deletion.
			admin := e.company(t)
			created, key := e.companyKey(t, admin, "HR sync")
			if _, err := e.svc.InviteUser(ctx, key, auth.Invite{Email: "hire" + created.APIKey.ID + "@example.com", Name: "Hire"}, e.client()); err != nil {
				t.Fatal(err)
			}
			svc, ran := interleave(t, e, "AuditEvents", 0, func() {
				if err := e.svc.DeleteAPIKey(ctx, admin, created.APIKey.ID, e.client()); err != nil {
					t.Errorf("delete the key between the reads: %v", err)
				}
			})
			page, err := svc.AuditEvents(ctx, admin, auth.AuditQuery{})
			ran()
			if err != nil {
				t.Fatal(err)
			}
			if page.Keys[created.APIKey.ID] == nil || page.Events[0].Type == gatehouse.EventAPIKeyDeleted {
				t.Errorf("key deleted between the reads: named %v, newest event %s; want the key named, its deletion not yet logged (before)",
					page.Keys[created.APIKey.ID] != nil, page.Events[0].Type)
			}
			page, err = e.svc.AuditEvents(ctx, admin, auth.AuditQuery{})
			if err != nil || page.Keys[created.APIKey.ID] != nil || page.Events[0].Type != gatehouse.EventAPIKeyDeleted {
				t.Errorf("after: got newest %s, key %v, %v; want the deletion and the key unnamed", page.Events[0].Type, page.Keys[created.APIKey.ID], err)
			}
		})

		t.Run("users_list", func(t *testing.T) {
			// A new email of an invited user and their fresh invitation
			// are one commit: the list shows the address whose invitation
			// was refused with its problem, or the new one without.
			admin := e.company(t)
			u, err := e.svc.InviteUser(ctx, admin, auth.Invite{Email: rejectedEmail, Name: "Typo"}, e.client())
			if err != nil {
				t.Fatal(err)
			}
			problem := func(page *auth.UserPage) bool { return page.MailProblems[u.ID] != nil }
			testenv.WaitUntil(t, "the invitation to "+rejectedEmail+" given up", func() bool {
				page, err := e.svc.ListUsers(ctx, admin, auth.UserQuery{Query: "typo"})
				return err == nil && problem(page)
			})
			fixed := "fixed@example.com"
			svc, ran := interleave(t, e, "ListUsers", 0, func() {
				if _, err := e.svc.UpdateUser(ctx, admin, u.ID, auth.UserUpdate{Email: &fixed}, e.client()); err != nil {
					t.Errorf("new email between the reads: %v", err)
				}
			})
			page, err := svc.ListUsers(ctx, admin, auth.UserQuery{Query: "typo"})
			ran()
			if err != nil || len(page.Users) != 1 {
				t.Fatalf("got %+v, %v; want the invited user", page, err)
			}
			if page.Users[0].Email != rejectedEmail || !problem(page) {
				t.Errorf("new email between the reads: got %s with a mail problem %v; want %s with it (before)",
					page.Users[0].Email, problem(page), rejectedEmail)
			}
			if page, err := e.svc.ListUsers(ctx, admin, auth.UserQuery{Query: "typo"}); err != nil || page.Users[0].Email != fixed || problem(page) {
				t.Errorf("after: got %+v, %v; want %s without a mail problem", page, err, fixed)
			}
		})

		t.Run("company_user", func(t *testing.T) {
			// A temporary password changes the user and lifts their login
			// throttle in one commit. The admin is read first, then the user.
			admin := e.company(t)
			u := e.user(t, admin.User.CompanyID, gatehouse.RoleMember)
			e.failLogins(t, u.Email, 5)
			svc, ran := interleave(t, e, "User", 1, func() {
				if _, err := e.svc.SetTemporaryPassword(ctx, admin, u.ID, "", e.client()); err != nil {
					t.Errorf("temporary password between the reads: %v", err)
				}
			})
			d, err := svc.CompanyUser(ctx, admin, u.ID)
			ran()
			if err != nil {
				t.Fatal(err)
			}
			if d.LockedUntil.IsZero() || d.MustChangePassword {
				t.Errorf("temporary password set between the reads: got locked until %v, temporary %v; want locked, not temporary (before)",
					d.LockedUntil, d.MustChangePassword)
			}
			if d, err := e.svc.CompanyUser(ctx, admin, u.ID); err != nil || !d.LockedUntil.IsZero() || !d.MustChangePassword {
				t.Errorf("after: got locked until %v, temporary %v, %v; want unlocked, temporary", d.LockedUntil, d.MustChangePassword, err)
			}
		})
	})
}

// The setup creates the first company and uses its link up in one commit:
// a check of the link on either side of it is of the link before (usable)
// or the setup done, never an invalid link.
func TestSetupCheckSeesOneCommit(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		link, err := e.svc.SetupLink(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		token := u.Query().Get("token")
		svc, ran := interleave(t, e, "CompanyCount", 0, func() {
			_, err := e.svc.Setup(ctx, token, auth.NewCompany{Name: "First", AdminName: "Ada", AdminEmail: "ada@example.com",
				Password: goodPW, Confirm: goodPW}, e.client())
			if err != nil {
				t.Errorf("setup between the reads: %v", err)
			}
		})
		err = svc.CheckSetupToken(ctx, token)
		ran()
		wantCode(t, "setup between the reads (before: the link usable)", err, "")
		wantCode(t, "after", e.svc.CheckSetupToken(ctx, token), gatehouse.ESetupDone)
	})
}
