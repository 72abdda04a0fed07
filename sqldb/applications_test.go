package sqldb_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The application queries on every database: an app comes back whole
// (hosts aggregated in its row), a company's lookups see only its own
// apps, a host belongs to one app (the unique key answers
// forward_auth_host_taken), and deleting frees the hosts.
func TestApplicationQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		var a *gatehouse.Application
		s.update(t, func(tx gatehouse.Tx) error {
			a = &gatehouse.Application{ID: gatehouse.NewID(tx.Now()), ClientID: "client-a", CompanyID: "co-a", Name: "Wiki",
				RedirectURIs: []string{"https://wiki.example.com/cb", "http://127.0.0.1:9/cb"}, PostLogoutRedirectURIs: []string{"https://wiki.example.com/"},
				ForwardAuthHosts: []string{"a.example.com", "b.example.com"}, RequireRole: gatehouse.RoleAdmin, RequireMFA: true,
				SecretHash: gatehouse.HashToken("secret"), CreatedAt: tx.Now(), UpdatedAt: tx.Now()}
			if err := tx.CreateApplication(a); err != nil {
				return err
			}
			op := &gatehouse.Application{ID: gatehouse.NewID(tx.Now()), ClientID: "client-op", Name: "Product", Public: true,
				FirstParty: true, CreatedAt: tx.Now(), UpdatedAt: tx.Now()}
			return tx.CreateApplication(op)
		})
		s.view(t, func(tx gatehouse.Tx) error {
			for _, lookup := range []func() (*gatehouse.Application, error){
				func() (*gatehouse.Application, error) { return tx.ApplicationByClientID("client-a") },
				func() (*gatehouse.Application, error) { return tx.CompanyApplication("co-a", "client-a") },
				func() (*gatehouse.Application, error) { return tx.ApplicationByHost("b.example.com") },
			} {
				got, err := lookup()
				if err != nil {
					return err
				}
				if got.ID != a.ID || got.Name != a.Name || !slices.Equal(got.RedirectURIs, a.RedirectURIs) ||
					!slices.Equal(got.PostLogoutRedirectURIs, a.PostLogoutRedirectURIs) || !slices.Equal(got.ForwardAuthHosts, a.ForwardAuthHosts) ||
					got.RequireRole != a.RequireRole || !got.RequireMFA || got.Public || !slices.Equal(got.SecretHash, a.SecretHash) ||
					!got.CreatedAt.Equal(a.CreatedAt) {
					t.Errorf("got %+v, want %+v", got, a)
				}
			}
			for what, err := range map[string]error{
				"another company's":             second(tx.CompanyApplication("co-b", "client-a")),
				"the operator's as a company's": second(tx.CompanyApplication("co-a", "client-op")),
				"an unknown host":               second(tx.ApplicationByHost("c.example.com")),
			} {
				if gatehouse.ErrorCode(err) != gatehouse.ENotFound {
					t.Errorf("%s: got %v, want not_found", what, err)
				}
			}
			// As an OpenID Connect client: all of it but the hosts.
			if got, err := tx.OIDCClient("client-a"); err != nil || got.ID != a.ID || got.CompanyID != "co-a" ||
				!slices.Equal(got.RedirectURIs, a.RedirectURIs) || !slices.Equal(got.PostLogoutRedirectURIs, a.PostLogoutRedirectURIs) ||
				got.RequireRole != a.RequireRole || !got.RequireMFA || got.Public || !slices.Equal(got.SecretHash, a.SecretHash) ||
				got.ForwardAuthHosts != nil {
				t.Errorf("as a client: got %+v, %v; want %+v without hosts", got, err, a)
			}
			if _, err := tx.OIDCClient("client-x"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("an unknown client: got %v, want not_found", err)
			}
			op, err := tx.CompanyApplication("", "client-op")
			if err != nil || !op.Public || !op.FirstParty || op.SecretHash != nil || op.ForwardAuthHosts != nil {
				t.Errorf("the operator's app: got %+v, %v", op, err)
			}
			if list, err := tx.Applications("co-a"); err != nil || len(list) != 1 {
				t.Errorf("co-a's apps: got %d, %v; want 1", len(list), err)
			}
			if list, err := tx.AllApplications(); err != nil || len(list) != 2 {
				t.Errorf("all apps: got %d, %v; want 2", len(list), err)
			}
			return nil
		})
		err := s.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
			return tx.CreateApplication(&gatehouse.Application{ID: gatehouse.NewID(tx.Now()), ClientID: "client-c", CompanyID: "co-c",
				Name: "Thief", ForwardAuthHosts: []string{"a.example.com"}, CreatedAt: tx.Now(), UpdatedAt: tx.Now()})
		})
		if gatehouse.ErrorCode(err) != gatehouse.EForwardAuthHostTaken {
			t.Fatalf("a taken host: got %v, want forward_auth_host_taken", err)
		}
		s.update(t, func(tx gatehouse.Tx) error {
			if ok, err := tx.DeleteApplication("co-b", a.ID); ok || err != nil {
				t.Errorf("another company deletes: got %v, %v; want false", ok, err)
			}
			a.ForwardAuthHosts, a.Name = []string{"c.example.com"}, "Renamed"
			if err := tx.UpdateApplication(a); err != nil {
				return err
			}
			if got, err := tx.ApplicationByHost("c.example.com"); err != nil || got.Name != "Renamed" {
				t.Errorf("after update: got %+v, %v", got, err)
			}
			if _, err := tx.ApplicationByHost("a.example.com"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("a host the update dropped: got %v, want not_found", err)
			}
			if ok, err := tx.DeleteApplication("co-a", a.ID); !ok || err != nil {
				t.Errorf("delete: got %v, %v; want true", ok, err)
			}
			_, err := tx.ApplicationByHost("c.example.com")
			if gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				t.Errorf("a deleted app's host: got %v, want not_found", err)
			}
			return nil
		})
	})
}

func second[T any](_ T, err error) error { return err }

// The forward-auth check's one statement on every database: the host's app
// and the token's session, user and company with the fields the check
// reads, the same as the lookups one by one give, and no other (not the
// app's names and secret's hash, the session's token hash and company,
// the password's hash); not_found when either the host or the session is
// unknown.
func TestForwardAuthCheck(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *store) {
		c := s.company(t, "Acme")
		ada := s.user(t, c.ID, "ada@example.com", "Ada")
		_, hash := gatehouse.NewToken()
		s.update(t, func(tx gatehouse.Tx) error {
			if err := tx.CreateApplication(&gatehouse.Application{ID: gatehouse.NewID(tx.Now()), ClientID: "client-w", CompanyID: c.ID,
				Name: "Wiki", ForwardAuthHosts: []string{"wiki.example.com", "w.example.com"}, RequireRole: gatehouse.RoleAdmin,
				RequireMFA: true, SecretHash: gatehouse.HashToken("secret"), CreatedAt: tx.Now(), UpdatedAt: tx.Now()}); err != nil {
				return err
			}
			if err := tx.SetUserTOTP(ada.ID, []byte("sealed"), 0); err != nil {
				return err
			}
			if err := tx.SetUserDisabled(ada.ID, tx.Now().Add(time.Hour)); err != nil {
				return err
			}
			return tx.CreateSession(&gatehouse.Session{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, UserID: ada.ID, CompanyID: c.ID,
				CreatedAt: tx.Now(), LastSeenAt: tx.Now().Add(time.Minute), ExpiresAt: tx.Now().Add(time.Hour),
				Methods: []string{gatehouse.MethodPassword, gatehouse.MethodOTP, gatehouse.MethodMFA}})
		})
		s.view(t, func(tx gatehouse.Tx) error {
			a, sess, u, co, err := tx.ForwardAuthCheck("w.example.com", hash)
			if err != nil {
				return err
			}
			wantApp, err := tx.ApplicationByHost("w.example.com")
			if err != nil {
				return err
			}
			wantSess, wantUser, wantCo, err := tx.SessionByTokenHash(hash)
			if err != nil {
				return err
			}
			if a.CompanyID != wantApp.CompanyID || a.CompanyID != c.ID || a.RequireRole != gatehouse.RoleAdmin || !a.RequireMFA ||
				a.ID != "" || a.ClientID != "" || a.Name != "" || a.SecretHash != nil {
				t.Errorf("app: got %+v, want the company and requirements of %+v alone", a, wantApp)
			}
			if sess.ID != wantSess.ID || sess.UserID != ada.ID || !sess.CreatedAt.Equal(wantSess.CreatedAt) ||
				!sess.LastSeenAt.Equal(wantSess.LastSeenAt) || !sess.ExpiresAt.Equal(wantSess.ExpiresAt) ||
				!slices.Equal(sess.Methods, wantSess.Methods) || sess.TokenHash != nil || sess.CompanyID != "" {
				t.Errorf("session: got %+v, want the fields of %+v without the token's hash and company", sess, wantSess)
			}
			if u.ID != ada.ID || u.CompanyID != c.ID || u.Email != "ada@example.com" || u.Name != "Ada" || u.Role != gatehouse.RoleMember ||
				!u.TOTPEnabledAt.Equal(wantUser.TOTPEnabledAt) || u.TOTPEnabledAt.IsZero() || !u.DisabledAt.Equal(wantUser.DisabledAt) ||
				u.DisabledAt.IsZero() || u.Passkeys != wantUser.Passkeys || u.PasswordHash != "" || !u.TOTPEnabled() || !slices.Equal(u.TOTPSecret, wantUser.TOTPSecret) {
				t.Errorf("user: got %+v, want the fields of %+v without the password's hash", u, wantUser)
			}
			if co.ID != wantCo.ID || co.RequireTOTP != wantCo.RequireTOTP {
				t.Errorf("company: got %+v, want %+v", co, wantCo)
			}
			for what, err := range map[string]error{
				"an unknown host":    fifth(tx.ForwardAuthCheck("other.example.com", hash)),
				"an unknown session": fifth(tx.ForwardAuthCheck("w.example.com", gatehouse.HashToken("unknown"))),
			} {
				wantCode(t, what, err, gatehouse.ENotFound)
			}
			return nil
		})
	})
}

func fifth[A, B, C, D any](_ A, _ B, _ C, _ D, err error) error { return err }
