package sqldb_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// store is one database under test: the store, its clock, and a raw
// connection for checking what the store's methods cannot show.
type store struct {
	*sqldb.DB
	cfg   sqldb.Config
	clock *testenv.Clock
	raw   *sql.DB
}

// forEachStore runs f on SQLite, on a fresh PostgreSQL database, and on a
// PostgreSQL database whose collation is ICU en-US (strings in human
// order, as many production databases are configured).
func forEachStore(t *testing.T, f func(t *testing.T, s *store)) {
	for _, kind := range storeKinds() {
		t.Run(kind, func(t *testing.T) { f(t, openStore(t, kind)) })
	}
}

// storeKinds names the databases forEachStore runs on.
func storeKinds() []string {
	kinds := []string{"sqlite"}
	if slices.Contains(testenv.Databases(), "postgres") {
		kinds = append(kinds, "postgres", "postgres-icu")
	}
	return kinds
}

// openStore opens a fresh store of the given kind, closed when t ends.
func openStore(t testing.TB, kind string) *store {
	t.Helper()
	clock := &testenv.Clock{}
	cfg := testenv.StoreConfig(t, kind, clock)
	return &store{DB: testenv.OpenStore(t, cfg), cfg: cfg, clock: clock, raw: testenv.OpenSQL(t, cfg.URL, cfg.DataDir)}
}

// update runs fn in a write transaction and fails the test on error.
func (s *store) update(t testing.TB, fn func(tx gatehouse.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in a read transaction and fails the test on error.
func (s *store) view(t testing.TB, fn func(tx gatehouse.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// company inserts a company and returns it.
func (s *store) company(t testing.TB, name string) *gatehouse.Company {
	t.Helper()
	c := &gatehouse.Company{ID: gatehouse.NewID(s.clock.Now()), Name: name, CreatedAt: s.clock.Now()}
	s.update(t, func(tx gatehouse.Tx) error { return tx.CreateCompany(c) })
	return c
}

// user inserts an active member of the company and returns it.
func (s *store) user(t testing.TB, companyID, email, name string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{ID: gatehouse.NewID(s.clock.Now()), CompanyID: companyID, Email: email, Name: name,
		Role: gatehouse.RoleMember, PasswordHash: "$argon2id$fake", CreatedAt: s.clock.Now()}
	s.update(t, func(tx gatehouse.Tx) error { return tx.CreateUser(u) })
	return u
}

// concurrently runs fn n times at once, each in its own write transaction,
// and returns the errors in the order of i.
func (s *store) concurrently(n int, fn func(i int, tx gatehouse.Tx) error) []error {
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			errs[i] = s.Update(context.Background(), func(tx gatehouse.Tx) error { return fn(i, tx) })
		})
	}
	start.Done()
	wg.Wait()
	return errs
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		ctx := context.Background()
		v1, err := s.SchemaVersion(ctx)
		if err != nil || v1 < 1 {
			t.Fatalf("schema version: got %d, %v; want at least 1", v1, err)
		}
		s.company(t, "Acme")
		again, err := sqldb.Open(ctx, s.cfg)
		if err != nil {
			t.Fatalf("second open: %v", err)
		}
		defer again.Close()
		if err := again.Migrate(ctx); err != nil {
			t.Fatalf("third migration: %v", err)
		}
		v2, err := again.SchemaVersion(ctx)
		if err != nil || v2 != v1 {
			t.Fatalf("schema version after reopening: got %d, %v; want %d", v2, err, v1)
		}
		var applied int
		if err := s.raw.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&applied); err != nil {
			t.Fatal(err)
		}
		// Numbers may have gaps (each branch takes its own), so the rows
		// are counted against the files, not the version.
		files, err := os.ReadDir("migrations/sqlite")
		if err != nil {
			t.Fatal(err)
		}
		if applied != len(files) {
			t.Errorf("schema_migrations rows: got %d, want %d (one per migration)", applied, len(files))
		}
		err = again.View(ctx, func(tx gatehouse.Tx) error {
			n, err := tx.CompanyCount()
			if n != 1 {
				return fmt.Errorf("companies after reopening: got %d, want 1", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestCompanies(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		s.update(t, func(tx gatehouse.Tx) error {
			got, err := tx.Company(c.ID)
			if err != nil {
				return err
			}
			if got.Name != "Acme" || got.RequireTOTP || !got.CreatedAt.Equal(c.CreatedAt) {
				return fmt.Errorf("company: got %+v, want %+v", got, c)
			}
			got.Name, got.RequireTOTP = "Acme Ltd", true
			if err := tx.UpdateCompany(got); err != nil {
				return err
			}
			if err := tx.LockCompany(c.ID); err != nil {
				return err
			}
			again, err := tx.Company(c.ID)
			if err != nil {
				return err
			}
			if again.Name != "Acme Ltd" || !again.RequireTOTP {
				return fmt.Errorf("updated company: got %+v, want name Acme Ltd and 2FA required", again)
			}
			if n, err := tx.CompanyCount(); err != nil || n != 1 {
				return fmt.Errorf("count: got %d, %v; want 1", n, err)
			}
			return nil
		})
		s.view(t, func(tx gatehouse.Tx) error {
			_, err := tx.Company("nope")
			wantCode(t, "unknown company", err, gatehouse.ENotFound)
			return nil
		})
		err := s.Update(context.Background(), func(tx gatehouse.Tx) error {
			return tx.UpdateCompany(&gatehouse.Company{ID: "nope", Name: "x"})
		})
		wantCode(t, "update unknown company", err, gatehouse.ENotFound)
		err = s.Update(context.Background(), func(tx gatehouse.Tx) error { return tx.LockCompany("nope") })
		wantCode(t, "lock unknown company", err, gatehouse.ENotFound)
	})
}

func TestUsers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		acme, other := s.company(t, "Acme"), s.company(t, "Other")
		ada := s.user(t, acme.ID, "ada@example.com", "Ada")

		// Emails are unique across companies: the unique index decides,
		// read by the driver's error code.
		dup := &gatehouse.User{ID: gatehouse.NewID(s.clock.Now()), CompanyID: other.ID, Email: "ada@example.com",
			Name: "Other Ada", Role: gatehouse.RoleMember, CreatedAt: s.clock.Now()}
		err := s.Update(context.Background(), func(tx gatehouse.Tx) error { return tx.CreateUser(dup) })
		wantCode(t, "duplicate email", err, gatehouse.EEmailTaken)

		bob := s.user(t, acme.ID, "bob@example.com", "Bob")
		err = s.Update(context.Background(), func(tx gatehouse.Tx) error {
			return tx.SetUserProfile(bob.ID, "Bob", "ada@example.com", gatehouse.RoleMember)
		})
		wantCode(t, "profile with a taken email", err, gatehouse.EEmailTaken)
		err = s.Update(context.Background(), func(tx gatehouse.Tx) error {
			return tx.SetUserProfile("nope", "X", "x@example.com", gatehouse.RoleMember)
		})
		wantCode(t, "profile of an unknown user", err, gatehouse.ENotFound)

		s.update(t, func(tx gatehouse.Tx) error {
			got, err := tx.UserByEmail("ada@example.com")
			if err != nil {
				return err
			}
			if got.ID != ada.ID || got.Name != "Ada" || got.Role != gatehouse.RoleMember || got.Status() != gatehouse.StatusActive {
				return fmt.Errorf("user by email: got %+v, want %+v", got, ada)
			}
			if err := tx.SetUserProfile(ada.ID, "Ada L.", "ada.l@example.com", gatehouse.RoleAdmin); err != nil {
				return err
			}
			if err := tx.SetUserPassword(ada.ID, "hash-2", true, tx.Now().Add(time.Hour)); err != nil {
				return err
			}
			if err := tx.SetUserLastLogin(ada.ID, tx.Now()); err != nil {
				return err
			}
			got, err = tx.User(ada.ID)
			if err != nil {
				return err
			}
			if got.Email != "ada.l@example.com" || got.Name != "Ada L." || got.Role != gatehouse.RoleAdmin ||
				got.PasswordHash != "hash-2" || !got.MustChangePassword || !got.TempPasswordExpiresAt.Equal(tx.Now().Add(time.Hour)) ||
				!got.PasswordChangedAt.Equal(tx.Now()) || !got.LastLoginAt.Equal(tx.Now()) {
				return fmt.Errorf("after updates: got %+v", got)
			}
			if _, err := tx.UserByEmail("ada@example.com"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return fmt.Errorf("old email: got %v, want not found", err)
			}
			return nil
		})

		// A hash upgrade lands only on the hash it replaces.
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.ReplacePasswordHash(ada.ID, "stale", "hash-3"); err != nil {
				return err
			}
			if u, _ := tx.User(ada.ID); u.PasswordHash != "hash-2" {
				return fmt.Errorf("upgrade of a stale hash: got hash %q, want hash-2 kept", u.PasswordHash)
			}
			if err := tx.ReplacePasswordHash(ada.ID, "hash-2", "hash-3"); err != nil {
				return err
			}
			if u, _ := tx.User(ada.ID); u.PasswordHash != "hash-3" {
				return fmt.Errorf("upgrade: got hash %q, want hash-3", u.PasswordHash)
			}
			return nil
		})

		// Active admins: with a password and not disabled.
		s.update(t, func(tx gatehouse.Tx) error {
			invited := &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: acme.ID, Email: "new@example.com",
				Name: "New", Role: gatehouse.RoleAdmin, CreatedAt: tx.Now()}
			if err := tx.CreateUser(invited); err != nil {
				return err
			}
			if n, err := tx.CountActiveAdmins(acme.ID); err != nil || n != 1 {
				return fmt.Errorf("active admins: got %d, %v; want 1 (the invited admin has no password)", n, err)
			}
			if err := tx.SetUserDisabled(ada.ID, tx.Now()); err != nil {
				return err
			}
			if n, err := tx.CountActiveAdmins(acme.ID); err != nil || n != 0 {
				return fmt.Errorf("active admins after disabling: got %d, %v; want 0", n, err)
			}
			if u, _ := tx.User(ada.ID); u.Status() != gatehouse.StatusDisabled {
				return fmt.Errorf("status: got %s, want disabled", u.Status())
			}
			if err := tx.SetUserDisabled(ada.ID, time.Time{}); err != nil {
				return err
			}
			if u, _ := tx.User(invited.ID); u.Status() != gatehouse.StatusInvited {
				return fmt.Errorf("status: got %s, want invited", u.Status())
			}
			return nil
		})
	})
}

func TestUserTOTPAndRecoveryCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		u := s.user(t, s.company(t, "Acme").ID, "ada@example.com", "Ada")
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.SetUserTOTPPending(u.ID, []byte("pending")); err != nil {
				return err
			}
			secret, at, err := tx.UserTOTPPending(u.ID)
			if err != nil || string(secret) != "pending" || !at.Equal(tx.Now()) {
				return fmt.Errorf("pending: got %q at %v, %v", secret, at, err)
			}
			if err := tx.SetUserTOTP(u.ID, []byte("sealed"), 100); err != nil {
				return err
			}
			got, err := tx.User(u.ID)
			if err != nil {
				return err
			}
			if !got.TOTPEnabled() || string(got.TOTPSecret) != "sealed" || got.TOTPLastStep != 100 || !got.TOTPEnabledAt.Equal(tx.Now()) {
				return fmt.Errorf("totp: got %+v", got)
			}
			if secret, _, _ := tx.UserTOTPPending(u.ID); secret != nil {
				return fmt.Errorf("pending after confirming: got %q, want none", secret)
			}
			for _, c := range []struct {
				step int64
				want bool
			}{{100, false}, {99, false}, {101, true}, {101, false}} {
				if ok, err := tx.UseTOTPStep(u.ID, c.step); err != nil || ok != c.want {
					return fmt.Errorf("use step %d: got %v, %v; want %v", c.step, ok, err, c.want)
				}
			}
			if err := tx.ReplaceRecoveryCodes(u.ID, [][]byte{[]byte("a"), []byte("b")}); err != nil {
				return err
			}
			if err := tx.ReplaceRecoveryCodes(u.ID, [][]byte{[]byte("c"), []byte("d"), []byte("e")}); err != nil {
				return err
			}
			if n, err := tx.CountRecoveryCodes(u.ID); err != nil || n != 3 {
				return fmt.Errorf("recovery codes: got %d, %v; want 3", n, err)
			}
			for _, c := range []struct {
				code string
				want bool
			}{{"a", false}, {"c", true}, {"c", false}} {
				if ok, err := tx.UseRecoveryCode(u.ID, []byte(c.code)); err != nil || ok != c.want {
					return fmt.Errorf("use recovery code %s: got %v, %v; want %v", c.code, ok, err, c.want)
				}
			}
			if err := tx.SetUserTOTP(u.ID, nil, 0); err != nil {
				return err
			}
			if got, _ := tx.User(u.ID); got.TOTPEnabled() || !got.TOTPEnabledAt.IsZero() {
				return fmt.Errorf("after removing 2FA: got %+v", got)
			}
			return nil
		})

		// Two logins with the same code: one wins.
		errs := s.concurrently(10, func(_ int, tx gatehouse.Tx) error {
			ok, err := tx.UseTOTPStep(u.ID, 500)
			if err == nil && !ok {
				return gatehouse.Errorf(gatehouse.EInvalidCode, "used")
			}
			return err
		})
		if won := countNil(errs); won != 1 {
			t.Errorf("concurrent uses of one TOTP step: got %d winners, want 1 (%v)", won, errs)
		}
	})
}

func countNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

func TestListUsersPagesAndSearches(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		acme, other := s.company(t, "Acme"), s.company(t, "Other")
		users := []struct{ email, name string }{
			{"a.b@example.com", "Alice Percent 50% off"},
			{"a-c@example.com", "Alan 5000 off"},
			{"a_d@example.com", "Under Score"},
			{"axd@example.com", "Ex Dee"},
			{"bob@example.com", "Bob Backslash \\ Smith"},
			{"carol@example.com", "CAROL Upper"},
			{"dave@example.com", "Dave"},
			{"omer@example.com", "Ömer Çelik"},
		}
		for _, u := range users {
			s.user(t, acme.ID, u.email, u.name)
		}
		s.user(t, other.ID, "zed@example.com", "Alice Elsewhere")

		list := func(f gatehouse.UserFilter) []string {
			t.Helper()
			var emails []string
			s.view(t, func(tx gatehouse.Tx) error {
				got, err := tx.ListUsers(f)
				for _, u := range got {
					if u.CompanyID != acme.ID {
						t.Errorf("user of another company listed: %s", u.Email)
					}
					emails = append(emails, u.Email)
				}
				return err
			})
			return emails
		}

		// Pages follow the email order in this database's collation; their
		// concatenation is every user once.
		var all []string
		after := ""
		for range 10 {
			page := list(gatehouse.UserFilter{CompanyID: acme.ID, After: after, Limit: 3})
			if len(page) > 3 {
				t.Fatalf("page: got %d users, want at most 3", len(page))
			}
			all = append(all, page...)
			if len(page) < 3 {
				break
			}
			after = page[len(page)-1]
		}
		whole := list(gatehouse.UserFilter{CompanyID: acme.ID, Limit: 100})
		if !slices.Equal(all, whole) {
			t.Errorf("pages: got %v, want %v", all, whole)
		}
		sorted := slices.Clone(whole)
		sort.Strings(sorted)
		var want []string
		for _, u := range users {
			want = append(want, u.email)
		}
		sort.Strings(want)
		if !slices.Equal(sorted, want) {
			t.Errorf("users: got %v, want %v", sorted, want)
		}

		for _, c := range []struct {
			query string
			want  []string
		}{
			{"50%", []string{"a.b@example.com"}},           // % is a character, not a wildcard
			{"a_d", []string{"a_d@example.com"}},           // _ too
			{"\\", []string{"bob@example.com"}},            // and the escape character
			{"carol upper", []string{"carol@example.com"}}, // case-insensitive
			{"ALICE", []string{"a.b@example.com"}},         // only this company
			{"  dave  ", []string{"dave@example.com"}},
			{"ömer ç", []string{"omer@example.com"}}, // beyond ASCII too
			{"ÖMER", []string{"omer@example.com"}},
			{"nobody", nil},
		} {
			got := list(gatehouse.UserFilter{CompanyID: acme.ID, Query: c.query})
			sort.Strings(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("query %q: got %v, want %v", c.query, got, c.want)
			}
		}
	})
}

func TestSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		ada, bob := s.user(t, c.ID, "ada@example.com", "Ada"), s.user(t, c.ID, "bob@example.com", "Bob")
		var ids []string
		for i, u := range []*gatehouse.User{ada, ada, ada, bob} {
			s.clock.Advance(time.Second)
			_, hash := gatehouse.NewToken()
			sess := &gatehouse.Session{ID: gatehouse.NewID(s.clock.Now()), TokenHash: hash, UserID: u.ID, CompanyID: c.ID,
				CreatedAt: s.clock.Now(), LastSeenAt: s.clock.Now(), ExpiresAt: s.clock.Now().Add(time.Hour),
				IP: fmt.Sprintf("192.0.2.%d", i), UserAgent: "test"}
			s.update(t, func(tx gatehouse.Tx) error { return tx.CreateSession(sess) })
			ids = append(ids, sess.ID)
			s.view(t, func(tx gatehouse.Tx) error {
				got, gotUser, gotCompany, err := tx.SessionByTokenHash(hash)
				if err != nil {
					return err
				}
				if got.ID != sess.ID || gotUser.ID != u.ID || got.IP != sess.IP || !got.ExpiresAt.Equal(sess.ExpiresAt) {
					return fmt.Errorf("session by token: got %+v of %s, want %+v of %s", got, gotUser.ID, sess, u.ID)
				}
				if gotCompany.ID != c.ID || gotCompany.Name != c.Name || gotCompany.RequireTOTP != c.RequireTOTP ||
					!gotCompany.CreatedAt.Equal(c.CreatedAt) {
					return fmt.Errorf("session by token: got company %+v, want %+v", gotCompany, c)
				}
				return nil
			})
		}
		s.view(t, func(tx gatehouse.Tx) error {
			_, _, _, err := tx.SessionByTokenHash([]byte("unknown"))
			wantCode(t, "unknown session", err, gatehouse.ENotFound)
			list, err := tx.Sessions(ada.ID)
			if err != nil {
				return err
			}
			var got []string
			for _, s := range list {
				got = append(got, s.ID)
			}
			if want := []string{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
				return fmt.Errorf("sessions: got %v, want newest first %v", got, want)
			}
			return nil
		})
		s.update(t, func(tx gatehouse.Tx) error {
			at := tx.Now().Add(time.Minute)
			if err := tx.TouchSession(ids[0], at); err != nil {
				return err
			}
			list, _ := tx.Sessions(ada.ID)
			if !list[2].LastSeenAt.Equal(at) {
				return fmt.Errorf("touched: got last seen %v, want %v", list[2].LastSeenAt, at)
			}
			if err := tx.TouchSession(ids[0], at.Add(-time.Second)); err != nil {
				return err
			}
			list, _ = tx.Sessions(ada.ID)
			if !list[2].LastSeenAt.Equal(at) {
				return fmt.Errorf("touched earlier: got last seen %v, want it kept at %v", list[2].LastSeenAt, at)
			}
			if ok, err := tx.DeleteSession(bob.ID, ids[0]); err != nil || ok {
				return fmt.Errorf("delete another user's session: got %v, %v; want false", ok, err)
			}
			if ok, err := tx.DeleteSession(ada.ID, ids[0]); err != nil || !ok {
				return fmt.Errorf("delete session: got %v, %v; want true", ok, err)
			}
			if n, err := tx.DeleteSessions(ada.ID, ids[2]); err != nil || n != 1 {
				return fmt.Errorf("delete other sessions: got %d, %v; want 1", n, err)
			}
			list, _ = tx.Sessions(ada.ID)
			if len(list) != 1 || list[0].ID != ids[2] {
				return fmt.Errorf("left: got %d sessions, want only %s", len(list), ids[2])
			}
			if n, _ := tx.DeleteSessions(ada.ID, ""); n != 1 {
				return fmt.Errorf("delete all sessions: got %d, want 1", n)
			}
			if list, _ := tx.Sessions(bob.ID); len(list) != 1 {
				return fmt.Errorf("bob's sessions: got %d, want 1 untouched", len(list))
			}
			return nil
		})
	})
}

func TestChallenges(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		u := s.user(t, s.company(t, "Acme").ID, "ada@example.com", "Ada")
		_, hash := gatehouse.NewToken()
		ch := &gatehouse.Challenge{ID: gatehouse.NewID(s.clock.Now()), TokenHash: hash, UserID: u.ID, Passed: gatehouse.StepPassword,
			CreatedAt: s.clock.Now(), ExpiresAt: s.clock.Now().Add(10 * time.Minute), IP: "192.0.2.1", UserAgent: "test"}
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.CreateChallenge(ch); err != nil {
				return err
			}
			for want := 1; want <= 3; want++ {
				if n, err := tx.AddChallengeFailure(ch.ID); err != nil || n != want {
					return fmt.Errorf("failure %d: got %d, %v", want, n, err)
				}
			}
			if err := tx.SetChallengePendingSecret(ch.ID, []byte("sealed")); err != nil {
				return err
			}
			got, err := tx.ChallengeByTokenHash(hash)
			if err != nil {
				return err
			}
			if got.ID != ch.ID || got.Failures != 3 || got.Passed != gatehouse.StepPassword || string(got.TOTPPendingSecret) != "sealed" ||
				!got.ExpiresAt.Equal(ch.ExpiresAt) {
				return fmt.Errorf("challenge: got %+v", got)
			}
			return nil
		})
		errs := s.concurrently(10, func(_ int, tx gatehouse.Tx) error {
			ok, err := tx.ConsumeChallenge(ch.ID)
			if err == nil && !ok {
				return gatehouse.Errorf(gatehouse.EInvalidChallenge, "gone")
			}
			return err
		})
		if won := countNil(errs); won != 1 {
			t.Errorf("concurrent consumers: got %d winners, want 1 (%v)", won, errs)
		}
		s.update(t, func(tx gatehouse.Tx) error {
			if _, err := tx.ChallengeByTokenHash(hash); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return fmt.Errorf("consumed challenge: got %v, want not found", err)
			}
			if _, err := tx.AddChallengeFailure(ch.ID); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return fmt.Errorf("failure on a consumed challenge: got %v, want not found", err)
			}
			if err := tx.SetChallengePendingSecret(ch.ID, nil); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return fmt.Errorf("secret on a consumed challenge: got %v, want not found", err)
			}
			// DeleteChallenges ends every login in progress of the user.
			for range 3 {
				_, h := gatehouse.NewToken()
				c := *ch
				c.ID, c.TokenHash = gatehouse.NewID(tx.Now()), h
				if err := tx.CreateChallenge(&c); err != nil {
					return err
				}
			}
			if err := tx.DeleteChallenges(u.ID); err != nil {
				return err
			}
			n, err := tx.DeleteExpired(0)
			if err != nil || n != 0 {
				return fmt.Errorf("nothing left to expire: got %d, %v", n, err)
			}
			return nil
		})
		var left int
		s.raw.QueryRow("SELECT count(*) FROM challenges").Scan(&left)
		if left != 0 {
			t.Errorf("challenges after DeleteChallenges: got %d, want 0", left)
		}
	})
}

func TestTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		u := s.user(t, s.company(t, "Acme").ID, "ada@example.com", "Ada")
		newToken := func(purpose gatehouse.TokenPurpose, userID string, life time.Duration) []byte {
			_, hash := gatehouse.NewToken()
			tok := &gatehouse.Token{ID: gatehouse.NewID(s.clock.Now()), TokenHash: hash, Purpose: purpose, UserID: userID,
				CreatedAt: s.clock.Now(), ExpiresAt: s.clock.Now().Add(life)}
			s.update(t, func(tx gatehouse.Tx) error { return tx.CreateToken(tok) })
			return hash
		}
		reset := newToken(gatehouse.TokenReset, u.ID, time.Hour)
		setup := newToken(gatehouse.TokenSetup, "", time.Hour)

		s.view(t, func(tx gatehouse.Tx) error {
			got, err := tx.TokenByHash(reset)
			if err != nil || got.Purpose != gatehouse.TokenReset || got.UserID != u.ID {
				return fmt.Errorf("token by hash: got %+v, %v", got, err)
			}
			got, err = tx.TokenByHash(setup)
			if err != nil || got.Purpose != gatehouse.TokenSetup || got.UserID != "" {
				return fmt.Errorf("setup token: got %+v, %v", got, err)
			}
			return nil
		})
		// The wrong purpose does not use a token up.
		err := s.Update(context.Background(), func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeToken(reset, gatehouse.TokenSetup, gatehouse.TokenInvitation)
			return err
		})
		wantCode(t, "consume with the wrong purpose", err, gatehouse.ENotFound)

		// Of many racing transactions, exactly one gets the token.
		const racers = 20
		errs := s.concurrently(racers, func(_ int, tx gatehouse.Tx) error {
			got, err := tx.ConsumeToken(reset, gatehouse.TokenReset, gatehouse.TokenInvitation)
			if err == nil && got.UserID != u.ID {
				return fmt.Errorf("consumed token of user %q, want %q", got.UserID, u.ID)
			}
			return err
		})
		won := 0
		for _, err := range errs {
			switch gatehouse.ErrorCode(err) {
			case "":
				won++
			case gatehouse.ENotFound:
			default:
				t.Errorf("racing consumer: got %v, want the token or not found", err)
			}
		}
		if won != 1 {
			t.Errorf("racing consumers: got %d winners, want 1", won)
		}

		// Expired tokens are neither shown nor used.
		short := newToken(gatehouse.TokenInvitation, u.ID, time.Minute)
		s.clock.Advance(time.Minute)
		s.view(t, func(tx gatehouse.Tx) error {
			_, err := tx.TokenByHash(short)
			wantCode(t, "expired token", err, gatehouse.ENotFound)
			return nil
		})
		err = s.Update(context.Background(), func(tx gatehouse.Tx) error {
			_, err := tx.ConsumeToken(short, gatehouse.TokenInvitation)
			return err
		})
		wantCode(t, "consume an expired token", err, gatehouse.ENotFound)

		// DeleteTokens removes the user's tokens of the purposes named.
		r2, inv := newToken(gatehouse.TokenReset, u.ID, time.Hour), newToken(gatehouse.TokenInvitation, u.ID, time.Hour)
		s.update(t, func(tx gatehouse.Tx) error { return tx.DeleteTokens(u.ID, gatehouse.TokenReset) })
		s.view(t, func(tx gatehouse.Tx) error {
			if _, err := tx.TokenByHash(r2); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return fmt.Errorf("deleted reset token: got %v, want not found", err)
			}
			if _, err := tx.TokenByHash(inv); err != nil {
				return fmt.Errorf("invitation kept: got %v", err)
			}
			if _, err := tx.TokenByHash(setup); err != nil {
				return fmt.Errorf("setup token kept: got %v", err)
			}
			return nil
		})
	})
}

func TestConsumeSetupToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		setup := func(life time.Duration) []byte {
			_, hash := gatehouse.NewToken()
			s.update(t, func(tx gatehouse.Tx) error {
				return tx.CreateToken(&gatehouse.Token{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, Purpose: gatehouse.TokenSetup,
					CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(life)})
			})
			return hash
		}
		expired := setup(time.Millisecond)
		s.clock.Advance(time.Second)
		err := s.Update(context.Background(), func(tx gatehouse.Tx) error {
			if ok, err := tx.ConsumeSetupToken(expired); err != nil || ok {
				return fmt.Errorf("expired setup token: got %v, %v; want false", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// Two links, many racing setups: one wins, and both links die.
		links := [][]byte{setup(time.Hour), setup(time.Hour)}
		errs := s.concurrently(10, func(i int, tx gatehouse.Tx) error {
			ok, err := tx.ConsumeSetupToken(links[i%2])
			if err == nil && !ok {
				return gatehouse.Errorf(gatehouse.ESetupDone, "lost")
			}
			return err
		})
		won := 0
		for _, err := range errs {
			switch gatehouse.ErrorCode(err) {
			case "":
				won++
			case gatehouse.ESetupDone:
			default:
				t.Errorf("racing setup: got %v", err)
			}
		}
		if won != 1 {
			t.Errorf("racing setups: got %d winners, want 1", won)
		}
		s.view(t, func(tx gatehouse.Tx) error {
			for _, h := range links {
				if _, err := tx.TokenByHash(h); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
					return fmt.Errorf("setup link after a setup: got %v, want not found", err)
				}
			}
			return nil
		})
	})
}

func TestThrottleCountsEveryConcurrentIncrement(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		const n = 200
		errs := s.concurrently(n, func(_ int, tx gatehouse.Tx) error {
			_, err := tx.UpdateThrottle("account:x", func(th *gatehouse.Throttle) bool {
				th.Failures++
				th.LastAt = tx.Now()
				return true
			})
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatalf("increment: %v", err)
			}
		}
		s.update(t, func(tx gatehouse.Tx) error {
			th, err := tx.Throttle("account:x")
			if err != nil || th.Failures != n {
				return fmt.Errorf("failures: got %d, %v; want %d", th.Failures, err, n)
			}
			// fn returning false saves nothing.
			got, err := tx.UpdateThrottle("account:x", func(th *gatehouse.Throttle) bool {
				th.Failures = 0
				return false
			})
			if err != nil || got.Failures != n {
				return fmt.Errorf("no-op update: got %+v, %v", got, err)
			}
			until := tx.Now().Add(time.Minute)
			got, err = tx.UpdateThrottle("account:x", func(th *gatehouse.Throttle) bool {
				th.BlockedUntil = until
				return true
			})
			if err != nil || !got.BlockedUntil.Equal(until) {
				return fmt.Errorf("block: got %+v, %v", got, err)
			}
			if th, _ := tx.Throttle("account:x"); !th.BlockedUntil.Equal(until) {
				return fmt.Errorf("blocked until: got %v, want %v", th.BlockedUntil, until)
			}
			if err := tx.ClearThrottle("account:x"); err != nil {
				return err
			}
			if th, _ := tx.Throttle("account:x"); th.Failures != 0 || !th.BlockedUntil.IsZero() {
				return fmt.Errorf("cleared: got %+v", th)
			}
			return nil
		})
	})
}

func TestAuditEventsPageAndFilter(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		acme, other := s.company(t, "Acme"), s.company(t, "Other")
		var ids []string
		s.update(t, func(tx gatehouse.Tx) error {
			for i := range 25 {
				typ, actor, target := gatehouse.EventLoginSucceeded, "ada", "ada"
				if i%5 == 0 {
					typ, actor, target = gatehouse.EventPasswordChanged, "admin", "bob"
				}
				e := &gatehouse.AuditEvent{ID: gatehouse.NewID(tx.Now().Add(time.Duration(i) * time.Millisecond)), CompanyID: acme.ID,
					At: tx.Now(), Type: typ, ActorID: actor, TargetID: target, IP: "192.0.2.1", UserAgent: "test", Detail: "n=" + fmt.Sprint(i)}
				if err := tx.AddAuditEvent(e); err != nil {
					return err
				}
				ids = append(ids, e.ID)
			}
			return tx.AddAuditEvent(&gatehouse.AuditEvent{ID: gatehouse.NewID(tx.Now()), CompanyID: other.ID, At: tx.Now(),
				Type: gatehouse.EventLoginSucceeded, ActorID: "ada", TargetID: "ada"})
		})
		list := func(f gatehouse.AuditFilter) []string {
			t.Helper()
			var got []string
			s.view(t, func(tx gatehouse.Tx) error {
				events, err := tx.AuditEvents(f)
				for _, e := range events {
					got = append(got, e.ID)
				}
				return err
			})
			return got
		}
		newestFirst := slices.Clone(ids)
		slices.Reverse(newestFirst)

		var paged []string
		before := ""
		for range 5 {
			page := list(gatehouse.AuditFilter{CompanyID: acme.ID, Before: before, Limit: 10})
			paged = append(paged, page...)
			if len(page) < 10 {
				break
			}
			before = page[len(page)-1]
		}
		if !slices.Equal(paged, newestFirst) {
			t.Errorf("pages: got %d events %v, want %d newest first %v", len(paged), paged, len(newestFirst), newestFirst)
		}
		var changes []string
		for i := 20; i >= 0; i -= 5 {
			changes = append(changes, ids[i])
		}
		if got := list(gatehouse.AuditFilter{CompanyID: acme.ID, Type: gatehouse.EventPasswordChanged}); !slices.Equal(got, changes) {
			t.Errorf("by type: got %v, want %v", got, changes)
		}
		if got := list(gatehouse.AuditFilter{CompanyID: acme.ID, UserID: "bob"}); !slices.Equal(got, changes) {
			t.Errorf("by target: got %v, want %v", got, changes)
		}
		if got := list(gatehouse.AuditFilter{CompanyID: acme.ID, UserID: "admin", Limit: 2}); !slices.Equal(got, changes[:2]) {
			t.Errorf("by actor: got %v, want %v", got, changes[:2])
		}
		if got := list(gatehouse.AuditFilter{CompanyID: other.ID}); len(got) != 1 {
			t.Errorf("other company: got %d events, want 1", len(got))
		}
		s.view(t, func(tx gatehouse.Tx) error {
			events, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: acme.ID, Limit: 1})
			if err != nil || len(events) != 1 {
				return fmt.Errorf("newest: got %v, %v", events, err)
			}
			e := events[0]
			if e.Type != gatehouse.EventLoginSucceeded || e.ActorID != "ada" || e.IP != "192.0.2.1" || e.UserAgent != "test" || e.Detail != "n=24" {
				return fmt.Errorf("event: got %+v", e)
			}
			return nil
		})
	})
}

func TestOutbox(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		var ids []string
		s.update(t, func(tx gatehouse.Tx) error {
			for i := range 12 {
				m := &gatehouse.OutboxMail{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
					Recipient: fmt.Sprintf("u%d@example.com", i), Body: []byte(fmt.Sprintf("sealed %d", i))}
				if err := tx.EnqueueMail(m); err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			// Not due yet.
			return tx.EnqueueMail(&gatehouse.OutboxMail{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
				Recipient: "later@example.com", Body: []byte("later"), NextAttemptAt: tx.Now().Add(time.Hour)})
		})

		// Claimers racing for the same rows never get the same message.
		var mu sync.Mutex
		claimed := map[string]int{}
		errs := s.concurrently(6, func(_ int, tx gatehouse.Tx) error {
			list, err := tx.ClaimMail(3, tx.Now().Add(time.Minute))
			mu.Lock()
			defer mu.Unlock()
			for _, m := range list {
				claimed[m.ID]++
				if m.Attempts != 1 || !bytes.HasPrefix(m.Body, []byte("sealed ")) {
					return fmt.Errorf("claimed %+v, want attempt 1 with its body", m)
				}
			}
			return err
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("message %s claimed %d times, want once", id, n)
			}
		}
		if len(claimed) != 12 {
			t.Errorf("claimed: got %d messages, want the 12 due", len(claimed))
		}

		// Leased messages are not due; an expired lease makes them due again.
		claim := func(n int) []*gatehouse.OutboxMail {
			t.Helper()
			var list []*gatehouse.OutboxMail
			s.update(t, func(tx gatehouse.Tx) (err error) {
				list, err = tx.ClaimMail(n, tx.Now().Add(time.Minute))
				return err
			})
			return list
		}
		if got := claim(100); len(got) != 0 {
			t.Errorf("claim while leased: got %d messages, want 0", len(got))
		}
		s.clock.Advance(time.Minute + time.Millisecond)
		again := claim(100)
		if len(again) != 12 || again[0].Attempts != 2 {
			t.Fatalf("claim after the lease: got %d messages, want 12 at attempt 2", len(again))
		}

		// Outcomes: delivered erases the body; a retry waits; failed erases too.
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.MailDelivered(ids[0]); err != nil {
				return err
			}
			if err := tx.MailFailed(ids[1], gatehouse.MailFailure{Reason: gatehouse.MailRejected, Answer: "550 no such user", Err: "RCPT TO: 550 no such user"}); err != nil {
				return err
			}
			if err := tx.MailRetry(ids[2], tx.Now().Add(10*time.Minute), "451 try later"); err != nil {
				return err
			}
			// The rest in one call, as the worker marks a group.
			if err := tx.MailDelivered(ids[3:]...); err != nil {
				return err
			}
			pending, failed, err := tx.MailCounts()
			if err != nil || pending != 2 || failed != 1 {
				return fmt.Errorf("counts: got %d pending, %d failed, %v; want 2 and 1", pending, failed, err)
			}
			return nil
		})
		for _, id := range []string{ids[0], ids[1]} {
			var body []byte
			if err := s.raw.QueryRow("SELECT body FROM outbox WHERE id = $1", id).Scan(&body); err != nil {
				t.Fatal(err)
			}
			if body != nil {
				t.Errorf("body of finished message %s: got %q, want erased", id, body)
			}
		}
		s.clock.Advance(5 * time.Minute)
		if got := claim(100); len(got) != 0 {
			t.Errorf("claim before the retry is due: got %d messages, want 0", len(got))
		}
		s.clock.Advance(5 * time.Minute)
		if got := claim(100); len(got) != 1 || got[0].ID != ids[2] || got[0].Attempts != 3 {
			t.Errorf("claim when the retry is due: got %v, want %s at attempt 3", got, ids[2])
		}
		s.clock.Advance(time.Hour)
		if got := claim(100); len(got) != 2 {
			t.Errorf("claim later: got %d messages, want the delayed one and the leased retry", len(got))
		}
	})
}

// A held queue gives claims back uncounted; a fixed relay makes every
// waiting message due; mail whose link expired is given up, never sent;
// and the admins see, for each user, why their latest link did not go.
func TestOutboxHoldsExpiresAndTellsAdmins(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		other := s.company(t, "Other")
		ada := s.user(t, c.ID, "ada@example.com", "Ada")
		bob := s.user(t, c.ID, "bob@example.com", "Bob")
		eve := s.user(t, other.ID, "eve@example.com", "Eve")
		enqueue := func(tx gatehouse.Tx, u *gatehouse.User, template string, link time.Duration, at time.Time) string {
			m := &gatehouse.OutboxMail{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(), Recipient: u.Email, Body: []byte("sealed"),
				CompanyID: u.CompanyID, UserID: u.ID, Template: template, NextAttemptAt: at}
			if link > 0 {
				m.LinkExpiresAt = tx.Now().Add(link)
			}
			if err := tx.EnqueueMail(m); err != nil {
				t.Fatal(err)
			}
			return m.ID
		}
		var reset, notice, later string
		s.update(t, func(tx gatehouse.Tx) error {
			reset = enqueue(tx, ada, "password_reset", time.Hour, time.Time{})
			notice = enqueue(tx, ada, "password_changed", 0, time.Time{})
			later = enqueue(tx, bob, "invitation", 7*24*time.Hour, tx.Now().Add(time.Hour)) // backing off
			return nil
		})

		// Claimed, then given back uncounted with the relay's error.
		s.update(t, func(tx gatehouse.Tx) error {
			list, err := tx.ClaimMail(10, tx.Now().Add(time.Minute))
			if err != nil || len(list) != 2 {
				return fmt.Errorf("claim: got %d, %v; want the 2 due", len(list), err)
			}
			return tx.MailRelease("553 sender rejected", reset, notice)
		})
		var attempts int
		var lastErr string
		if err := s.raw.QueryRow("SELECT attempts, last_error FROM outbox WHERE id = $1", reset).Scan(&attempts, &lastErr); err != nil {
			t.Fatal(err)
		}
		if attempts != 0 || lastErr != "553 sender rejected" {
			t.Errorf("released: got %d attempts, last error %q; want 0 and the relay's error", attempts, lastErr)
		}
		s.update(t, func(tx gatehouse.Tx) error {
			if list, err := tx.ClaimMail(10, tx.Now().Add(time.Minute)); err != nil || len(list) != 2 || list[0].Template == "" {
				return fmt.Errorf("claim after release: got %v, %v; want the 2 again, with their templates", list, err)
			}
			return tx.MailRelease("", reset, notice)
		})

		// The relay works again: the one backing off is due too.
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.MailRetryNow(); err != nil {
				return err
			}
			list, err := tx.ClaimMail(10, tx.Now().Add(time.Minute))
			if err != nil || len(list) != 3 {
				return fmt.Errorf("claim after retry now: got %d, %v; want all 3", len(list), err)
			}
			return tx.MailRelease("", reset, notice, later)
		})

		// An hour later the reset link is dead: the reset is given up, the
		// notice (no link) and the invitation (7 days) wait on.
		s.clock.Advance(time.Hour)
		s.update(t, func(tx gatehouse.Tx) error {
			expired, err := tx.ExpireMail(tx.Now().Add(2 * time.Minute))
			if err != nil || len(expired) != 1 || expired[0].ID != reset || expired[0].UserID != ada.ID || expired[0].Template != "password_reset" {
				return fmt.Errorf("expire: got %v, %v; want the reset alone", expired, err)
			}
			if again, err := tx.ExpireMail(tx.Now()); err != nil || len(again) != 0 {
				return fmt.Errorf("expire again: got %v, %v; want nothing", again, err)
			}
			return nil
		})
		var body []byte
		var failure string
		if err := s.raw.QueryRow("SELECT body, failure FROM outbox WHERE id = $1", reset).Scan(&body, &failure); err != nil {
			t.Fatal(err)
		}
		if body != nil || failure != gatehouse.MailExpired {
			t.Errorf("expired: got body %q, failure %q; want erased and expired", body, failure)
		}

		// Bob's invitation is refused; Eve, in another company, has one
		// refused too.
		var eveMail string
		s.update(t, func(tx gatehouse.Tx) error {
			eveMail = enqueue(tx, eve, "invitation", time.Hour, time.Time{})
			if err := tx.MailFailed(eveMail, gatehouse.MailFailure{Reason: gatehouse.MailRejected, Answer: "550 no"}); err != nil {
				return err
			}
			return tx.MailFailed(later, gatehouse.MailFailure{Reason: gatehouse.MailRejected, Answer: "550 5.1.1 User unknown", Err: "smtp: RCPT TO: 550"})
		})
		s.view(t, func(tx gatehouse.Tx) error {
			p, err := tx.MailProblems(c.ID, []string{ada.ID, bob.ID, eve.ID})
			if err != nil {
				return err
			}
			if len(p) != 2 || p[ada.ID] == nil || p[ada.ID].Reason != gatehouse.MailExpired || p[ada.ID].Template != "password_reset" ||
				p[bob.ID] == nil || p[bob.ID].Reason != gatehouse.MailRejected || p[bob.ID].Answer != "550 5.1.1 User unknown" || p[bob.ID].At.IsZero() {
				return fmt.Errorf("problems: got %v, want Ada's expired reset and Bob's refused invitation, not Eve's", p)
			}
			return nil
		})
		// A new link supersedes the failed one.
		s.clock.Advance(time.Second)
		s.update(t, func(tx gatehouse.Tx) error {
			enqueue(tx, bob, "invitation", 7*24*time.Hour, time.Time{})
			return nil
		})
		s.view(t, func(tx gatehouse.Tx) error {
			p, err := tx.MailProblems(c.ID, []string{ada.ID, bob.ID})
			if err != nil || len(p) != 1 || p[ada.ID] == nil {
				return fmt.Errorf("problems after a new invitation: got %v, %v; want Ada's alone", p, err)
			}
			return nil
		})
	})
}

// A claim takes at most n rows however the database plans it. A plain
// "id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)" on a fresh
// PostgreSQL table (no statistics yet) ran the subquery once per outer
// row, and one claim leased the whole outbox.
func TestClaimMailTakesAtMostN(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		const total, n = 300, 50
		s.update(t, func(tx gatehouse.Tx) error {
			for i := range total {
				if err := tx.EnqueueMail(&gatehouse.OutboxMail{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
					Recipient: fmt.Sprintf("u%d@example.com", i), Body: []byte("sealed")}); err != nil {
					return err
				}
				if err := tx.EnqueueResetRequest(&gatehouse.ResetRequest{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
					Email: fmt.Sprintf("u%d@example.com", i), IP: "192.0.2.1"}); err != nil {
					return err
				}
			}
			return nil
		})
		for round := range total / n {
			s.update(t, func(tx gatehouse.Tx) error {
				mails, err := tx.ClaimMail(n, tx.Now().Add(time.Minute))
				if err != nil {
					return err
				}
				reqs, err := tx.TakeResetRequests(n)
				if err != nil {
					return err
				}
				if len(mails) != n || len(reqs) != n {
					t.Errorf("round %d: claimed %d messages and took %d requests, want %d of each", round, len(mails), len(reqs), n)
				}
				return nil
			})
		}
	})
}

func TestResetRequestsAreTakenOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		const total = 40
		s.update(t, func(tx gatehouse.Tx) error {
			for i := range total {
				r := &gatehouse.ResetRequest{ID: gatehouse.NewID(tx.Now()), CreatedAt: tx.Now(),
					Email: fmt.Sprintf("u%d@example.com", i), IP: "192.0.2.1", UserAgent: "test"}
				if err := tx.EnqueueResetRequest(r); err != nil {
					return err
				}
			}
			return nil
		})
		var mu sync.Mutex
		taken := map[string]int{}
		for range 10 {
			errs := s.concurrently(8, func(_ int, tx gatehouse.Tx) error {
				list, err := tx.TakeResetRequests(3)
				mu.Lock()
				defer mu.Unlock()
				for _, r := range list {
					taken[r.Email]++
					if r.IP != "192.0.2.1" || r.UserAgent != "test" {
						return fmt.Errorf("request: got %+v", r)
					}
				}
				return err
			})
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(taken) != total {
			t.Errorf("taken: got %d requests, want %d", len(taken), total)
		}
		for email, n := range taken {
			if n != 1 {
				t.Errorf("request of %s taken %d times, want once", email, n)
			}
		}
	})
}

func TestDeleteExpired(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		u := s.user(t, c.ID, "ada@example.com", "Ada")
		s.update(t, func(tx gatehouse.Tx) error {
			now := tx.Now()
			for _, life := range []time.Duration{time.Minute, 48 * time.Hour} {
				_, h1 := gatehouse.NewToken()
				if err := tx.CreateSession(&gatehouse.Session{ID: gatehouse.NewID(now), TokenHash: h1, UserID: u.ID, CompanyID: c.ID,
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(life)}); err != nil {
					return err
				}
				_, h2 := gatehouse.NewToken()
				if err := tx.CreateChallenge(&gatehouse.Challenge{ID: gatehouse.NewID(now), TokenHash: h2, UserID: u.ID,
					Passed: gatehouse.StepPassword, CreatedAt: now, ExpiresAt: now.Add(life)}); err != nil {
					return err
				}
				_, h3 := gatehouse.NewToken()
				if err := tx.CreateToken(&gatehouse.Token{ID: gatehouse.NewID(now), TokenHash: h3, Purpose: gatehouse.TokenReset,
					UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(life)}); err != nil {
					return err
				}
			}
			for _, id := range []string{"sent", "failed", "pending"} {
				if err := tx.EnqueueMail(&gatehouse.OutboxMail{ID: id, CreatedAt: now, Recipient: "a@example.com", Body: []byte("x")}); err != nil {
					return err
				}
			}
			if err := tx.MailDelivered("sent"); err != nil {
				return err
			}
			if err := tx.MailFailed("failed", gatehouse.MailFailure{Reason: gatehouse.MailGaveUp, Err: "no"}); err != nil {
				return err
			}
			for _, key := range []string{"old", "blocked"} {
				if _, err := tx.UpdateThrottle(key, func(th *gatehouse.Throttle) bool {
					th.Failures, th.LastAt = 1, now
					if key == "blocked" {
						th.BlockedUntil = now.Add(48 * time.Hour)
					}
					return true
				}); err != nil {
					return err
				}
			}
			return nil
		})
		s.clock.Advance(25 * time.Hour)
		s.update(t, func(tx gatehouse.Tx) error {
			n, err := tx.DeleteExpired(24 * time.Hour)
			// A short session, challenge and token, the old throttle, sent and failed mail.
			if err != nil || n != 6 {
				return fmt.Errorf("deleted: got %d, %v; want 6", n, err)
			}
			if th, _ := tx.Throttle("blocked"); th.Failures != 1 {
				return fmt.Errorf("a throttle still blocking: got %+v, want kept", th)
			}
			if pending, failed, _ := tx.MailCounts(); pending != 1 || failed != 0 {
				return fmt.Errorf("mail left: got %d pending, %d failed; want 1 and 0", pending, failed)
			}
			return nil
		})
		for _, table := range []string{"sessions", "challenges", "tokens"} {
			var n int
			if err := s.raw.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%s left: got %d, want the long-lived one", table, n)
			}
		}
	})
}

// A lazy commit is a commit like any other for every reader, rolls back
// the same, and leaves SQLite's writer waiting for the disk again.
func TestUpdateLazy(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		ctx := context.Background()
		err := s.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
			if err := tx.CreateCompany(&gatehouse.Company{ID: "c0", Name: "Gone", CreatedAt: s.clock.Now()}); err != nil {
				return err
			}
			return gatehouse.Errorf(gatehouse.EForbidden, "no")
		})
		wantCode(t, "lazy update that fails", err, gatehouse.EForbidden)
		err = s.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
			return tx.CreateCompany(&gatehouse.Company{ID: "c1", Name: "Acme", CreatedAt: s.clock.Now()})
		})
		if err != nil {
			t.Fatalf("lazy update: %v", err)
		}
		var names []string
		rows, err := s.raw.Query("SELECT name FROM companies")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		rows.Close()
		if !slices.Equal(names, []string{"Acme"}) {
			t.Errorf("companies seen by another connection: got %q, want [Acme]", names)
		}
	})
}

// On SQLite an Update returns only once its commit is on the disk: a flush
// of the log that began after the commit has ended (the group commit of
// walFlusher). Concurrent Updates share flushes; a lazy one does not wait,
// and is flushed soon after.
func TestUpdateWaitsForTheDisk(t *testing.T) {
	s := openStore(t, "sqlite")
	ctx := context.Background()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				var want uint64
				err := s.Update(ctx, func(tx gatehouse.Tx) error {
					// This transaction holds the writer: its commit is the next.
					issued, _, _ := sqldb.WALCommits(s.DB)
					want = issued + 1
					return tx.CreateCompany(&gatehouse.Company{ID: fmt.Sprintf("c%d-%d", w, i), Name: "Acme", CreatedAt: s.clock.Now()})
				})
				if err != nil {
					errs <- err
					return
				}
				if _, flushed, _ := sqldb.WALCommits(s.DB); flushed < want {
					errs <- fmt.Errorf("update returned with commit %d not flushed (flushed up to %d)", want, flushed)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	issued, flushed, flushes := sqldb.WALCommits(s.DB)
	t.Logf("%d commits, %d flushes", issued, flushes)
	if flushed != issued {
		t.Errorf("after the updates: %d of %d commits flushed", flushed, issued)
	}

	err := s.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
		return tx.CreateCompany(&gatehouse.Company{ID: "lazy", Name: "Lazy", CreatedAt: s.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, "the lazy commit flushed", func() bool {
		issued, flushed, _ := sqldb.WALCommits(s.DB)
		return flushed == issued
	})
}

func TestTransactions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		ctx := context.Background()
		c := &gatehouse.Company{ID: "c1", Name: "Acme", CreatedAt: s.clock.Now()}
		err := s.Update(ctx, func(tx gatehouse.Tx) error {
			if err := tx.CreateCompany(c); err != nil {
				return err
			}
			return gatehouse.Errorf(gatehouse.EForbidden, "no")
		})
		wantCode(t, "update that fails", err, gatehouse.EForbidden)
		s.view(t, func(tx gatehouse.Tx) error {
			if n, _ := tx.CompanyCount(); n != 0 {
				return fmt.Errorf("after rollback: got %d companies, want 0", n)
			}
			if err := tx.CreateCompany(c); err == nil {
				return fmt.Errorf("write inside View: got no error, want one")
			}
			return nil
		})
		if err := s.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		s.Close()
		if err := s.Ping(ctx); err == nil {
			t.Errorf("ping after close: got no error, want one")
		}
	})
}

// ViewSnapshot holds a connection of the read pool for its transaction:
// with every connection so held, a statement not yet prepared runs as it
// is on the transaction's connection, where preparing it on the pool
// waited for a connection that none of them would give back (ten setups
// at once, each checking its link from a snapshot, hung on SQLite's four
// connections). Here the pool has one.
func TestViewSnapshotOnAFullPool(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind, func(t *testing.T) {
			cfg := testenv.StoreConfig(t, kind, &testenv.Clock{})
			cfg.MaxConns = 1
			// Closed only when it did not hang: closing waits for the
			// connection a hung transaction holds.
			db, err := sqldb.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- db.ViewSnapshot(context.Background(), func(tx gatehouse.Tx) error {
					_, err := tx.CompanyCount()
					return err
				})
			}()
			select {
			case err := <-done:
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Minute):
				t.Fatal("ViewSnapshot did not return within a minute: the read pool waits on itself")
			}
		})
	}
}
