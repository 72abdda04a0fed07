package auth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The rules of applications on both databases: what may be registered,
// by whom, who sees which app, that a forward-auth host belongs to one
// app at a time (also when two registrations race), that the secret is
// stored hashed, and that every change is audited in its transaction.

func TestApplicationRules(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		tests := []struct {
			name string
			na   auth.NewApplication
			code string
		}{
			{"no name", auth.NewApplication{Name: "  "}, gatehouse.EInvalidRequest},
			{"long name", auth.NewApplication{Name: strings.Repeat("n", auth.MaxApplicationNameLen+1)}, gatehouse.EInvalidRequest},
			{"control in name", auth.NewApplication{Name: "a\x07b"}, gatehouse.EInvalidRequest},
			{"first party by a company", auth.NewApplication{Name: "x", FirstParty: true}, gatehouse.EFirstPartyOperatorOnly},
			{"member role", auth.NewApplication{Name: "x", RequireRole: gatehouse.RoleMember}, gatehouse.EInvalidRequest},
			{"unknown role", auth.NewApplication{Name: "x", RequireRole: "owner"}, gatehouse.EInvalidRequest},
		}
		for _, u := range []string{"http://app.example.com/cb", "https://app.example.com/cb#frag", "https://app.example.com/cb#",
			"/cb", "//app.example.com/cb", "app.example.com/cb", "javascript:alert(1)", "https://user:pw@app.example.com/cb",
			"https://app.example.com/c b", "https://app.example.com\\@evil.example/cb", "ftp://app.example.com/cb", "https:///cb",
			"https://app.example.com/\x00", "https://app.example.com/é", "https://" + strings.Repeat("a", 2000) + ".com/"} {
			tests = append(tests, struct {
				name string
				na   auth.NewApplication
				code string
			}{"redirect " + u, auth.NewApplication{Name: "x", RedirectURIs: []string{u}}, gatehouse.EInvalidRedirectURI},
				struct {
					name string
					na   auth.NewApplication
					code string
				}{"post-logout " + u, auth.NewApplication{Name: "x", PostLogoutRedirectURIs: []string{u}}, gatehouse.EInvalidRedirectURI})
		}
		for _, h := range []string{"", "https://wiki.example.com", "wiki.example.com/path", "wiki.example.com:443", "wiki..example.com",
			"-wiki.example.com", "wiki-.example.com", "wiki.example.com.", "wi_ki.example.com", "wiki example.com", "*.example.com",
			"user@wiki.example.com", "[::1]", "wïki.example.com", strings.Repeat("a", 64) + ".com", "wiki.example.com?x"} {
			tests = append(tests, struct {
				name string
				na   auth.NewApplication
				code string
			}{"host " + h, auth.NewApplication{Name: "x", ForwardAuthHosts: []string{h}}, gatehouse.EInvalidForwardAuthHost})
		}
		for _, tt := range tests {
			_, err := e.svc.CreateApplication(ctx, admin, tt.na, e.client())
			if got := gatehouse.ErrorCode(err); got != tt.code {
				t.Errorf("%s: got %v (code %q), want %q", tt.name, err, got, tt.code)
			}
		}
		if list, _ := e.svc.Applications(ctx, admin); len(list) != 0 {
			t.Fatalf("refused apps were stored: %d apps", len(list))
		}

		// Accepted forms: hosts are lower-cased and sorted, duplicates dropped.
		created, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: " Wiki ",
			RedirectURIs:     []string{"https://wiki.example.com/cb", "http://127.0.0.1:8765/cb", "http://localhost/cb", "http://[::1]/cb", "https://wiki.example.com/cb"},
			ForwardAuthHosts: []string{"Wiki.Example.COM", "b.example.com", "wiki.example.com", "10.0.0.7"},
			RequireRole:      gatehouse.RoleAdmin, RequireMFA: true}, e.client())
		wantCode(t, "create", err, "")
		a := created.Application
		if a.Name != "Wiki" || !slices.Equal(a.ForwardAuthHosts, []string{"10.0.0.7", "b.example.com", "wiki.example.com"}) ||
			len(a.RedirectURIs) != 4 || a.CompanyID != admin.User.CompanyID || a.RequireRole != gatehouse.RoleAdmin || !a.RequireMFA {
			t.Errorf("created %+v", a)
		}
		if len(created.ClientSecret) != 43 || !auth.CheckClientSecret(a, created.ClientSecret) || auth.CheckClientSecret(a, created.ClientSecret[1:]) {
			t.Errorf("client secret %q does not check against its hash", created.ClientSecret)
		}
		got, err := e.svc.Application(ctx, admin, a.ClientID)
		wantCode(t, "get", err, "")
		if !slices.Equal(got.SecretHash, gatehouse.HashToken(created.ClientSecret)) || !slices.Equal(got.ForwardAuthHosts, a.ForwardAuthHosts) ||
			!slices.Equal(got.RedirectURIs, a.RedirectURIs) || got.CreatedAt.IsZero() {
			t.Errorf("stored %+v, want %+v with the secret's SHA-256", got, a)
		}

		// A host belongs to one app, whatever its case.
		_, err = e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Other", ForwardAuthHosts: []string{"WIKI.example.com"}}, e.client())
		wantCode(t, "a taken host", err, gatehouse.EForwardAuthHostTaken)
		other := e.company(t)
		_, err = e.svc.CreateApplication(ctx, other, auth.NewApplication{Name: "Other", ForwardAuthHosts: []string{"b.example.com"}}, e.client())
		wantCode(t, "a host taken by another company", err, gatehouse.EForwardAuthHostTaken)

		// A public app has no secret.
		pub, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "SPA", Public: true,
			RedirectURIs: []string{"https://spa.example.com/cb"}}, e.client())
		wantCode(t, "public", err, "")
		if pub.ClientSecret != "" || pub.Application.SecretHash != nil || auth.CheckClientSecret(pub.Application, "") {
			t.Errorf("a public app got a secret: %+v", pub)
		}
	})
}

func TestApplicationTenancy(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		a, b := e.company(t), e.company(t)
		created, err := e.svc.CreateApplication(ctx, a, auth.NewApplication{Name: "A's", ForwardAuthHosts: []string{"a.example.com"}}, e.client())
		wantCode(t, "create", err, "")
		clientID := created.Application.ClientID
		op, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "Product", FirstParty: true,
			RedirectURIs: []string{"https://product.example.com/cb"}}, cli)
		wantCode(t, "operator create", err, "")

		// Another company's admin, and the operator's app, are not found.
		for _, id := range []string{clientID, op.Application.ClientID, "", strings.Repeat("x", 100)} {
			_, err = e.svc.Application(ctx, b, id)
			wantCode(t, "b reads "+id, err, gatehouse.ENotFound)
			err = e.svc.DeleteApplication(ctx, b, id, e.client())
			wantCode(t, "b deletes "+id, err, gatehouse.ENotFound)
			_, err = e.svc.UpdateApplication(ctx, b, id, auth.ApplicationChange{Name: ptr("mine")}, e.client())
			wantCode(t, "b changes "+id, err, gatehouse.ENotFound)
		}
		if list, _ := e.svc.Applications(ctx, b); len(list) != 0 {
			t.Errorf("b lists %d apps, want 0", len(list))
		}
		_, err = e.svc.Application(ctx, a, op.Application.ClientID)
		wantCode(t, "a reads the operator's app", err, gatehouse.ENotFound)

		// Members may not manage apps.
		m := e.member(t, a)
		_, err = e.svc.Applications(ctx, m)
		wantCode(t, "member lists", err, gatehouse.EForbidden)
		_, err = e.svc.CreateApplication(ctx, m, auth.NewApplication{Name: "x"}, e.client())
		wantCode(t, "member creates", err, gatehouse.EForbidden)
		err = e.svc.DeleteApplication(ctx, m, clientID, e.client())
		wantCode(t, "member deletes", err, gatehouse.EForbidden)

		// The operator may make first-party apps and apps for a company, never
		// a first-party one for a company, nor one for an unknown company.
		_, err = e.svc.OperatorCreateApplication(ctx, a.User.CompanyID, auth.NewApplication{Name: "x", FirstParty: true}, cli)
		wantCode(t, "operator first-party company app", err, gatehouse.EFirstPartyOperatorOnly)
		_, err = e.svc.OperatorCreateApplication(ctx, "nope", auth.NewApplication{Name: "x"}, cli)
		wantCode(t, "unknown company", err, gatehouse.ENotFound)
		forA, err := e.svc.OperatorCreateApplication(ctx, a.User.CompanyID, auth.NewApplication{Name: "For A"}, cli)
		wantCode(t, "operator company app", err, "")
		if list, _ := e.svc.Applications(ctx, a); len(list) != 2 {
			t.Errorf("a lists %d apps, want its own 2", len(list))
		}
		all, err := e.svc.OperatorApplications(ctx)
		if err != nil || len(all) != 3 {
			t.Errorf("the operator lists %d apps (%v), want 3", len(all), err)
		}

		// Change, then delete: the host is free again.
		upd, err := e.svc.UpdateApplication(ctx, a, clientID, auth.ApplicationChange{Name: ptr("A's wiki"),
			ForwardAuthHosts: []string{"a.example.com", "a2.example.com"}}, e.client())
		wantCode(t, "update", err, "")
		if upd.Name != "A's wiki" || len(upd.ForwardAuthHosts) != 2 {
			t.Errorf("updated %+v", upd)
		}
		_, err = e.svc.UpdateApplication(ctx, a, clientID, auth.ApplicationChange{RequireMFA: ptr(true)}, e.client())
		wantCode(t, "update again", err, "")
		_, err = e.svc.UpdateApplication(ctx, m, clientID, auth.ApplicationChange{Name: ptr("x")}, e.client())
		wantCode(t, "member changes", err, gatehouse.EForbidden)
		wantCode(t, "delete", e.svc.DeleteApplication(ctx, a, clientID, e.client()), "")
		wantCode(t, "delete again", e.svc.DeleteApplication(ctx, a, clientID, e.client()), gatehouse.ENotFound)
		_, err = e.svc.CreateApplication(ctx, b, auth.NewApplication{Name: "B's", ForwardAuthHosts: []string{"a.example.com", "a2.example.com"}}, e.client())
		wantCode(t, "b takes the freed hosts", err, "")
		wantCode(t, "operator deletes", e.svc.OperatorDeleteApplication(ctx, forA.Application.ClientID, cli), "")
		wantCode(t, "operator deletes unknown", e.svc.OperatorDeleteApplication(ctx, "nope", cli), gatehouse.ENotFound)

		// Every change audited in the company's log.
		want := []string{gatehouse.EventApplicationCreated, gatehouse.EventApplicationCreated, gatehouse.EventApplicationUpdated,
			gatehouse.EventApplicationUpdated, gatehouse.EventApplicationDeleted, gatehouse.EventApplicationDeleted}
		var got []string
		for _, ev := range e.events(t, a.User.CompanyID) {
			if strings.HasPrefix(ev, "application.") {
				got = append(got, ev)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("a's application events: got %v, want %v", got, want)
		}
		var opEvents []*gatehouse.AuditEvent
		e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
			opEvents, err = tx.AuditEvents(gatehouse.AuditFilter{CompanyID: "", Type: gatehouse.EventApplicationCreated, Limit: 10})
			return err
		})
		if len(opEvents) != 1 || !opEvents[0].ByOperator() || !strings.Contains(opEvents[0].Detail, "client_id="+op.Application.ClientID) {
			t.Errorf("the operator's app's creation: got %+v", opEvents)
		}
	})
}

// A change to an application: what is set changes and the rest stays,
// under exactly the rules of a registration (a refused change changes
// nothing); public cannot change either way; the secret stays; the
// operator may change any app, first-party for its own only; each change
// audited.
func TestApplicationChange(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		created, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Wiki", ForwardAuthHosts: []string{"wiki.example.com"},
			RedirectURIs: []string{"https://wiki.example.com/cb"}, PostLogoutRedirectURIs: []string{"https://wiki.example.com/bye"}}, e.client())
		wantCode(t, "create", err, "")
		clientID := created.Application.ClientID
		pub, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "SPA", Public: true}, e.client())
		wantCode(t, "create public", err, "")
		_, err = e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Other", ForwardAuthHosts: []string{"other.example.com"}}, e.client())
		wantCode(t, "create other", err, "")
		stored := func() *gatehouse.Application {
			t.Helper()
			a, err := e.svc.Application(ctx, admin, clientID)
			wantCode(t, "get", err, "")
			return a
		}
		before := stored()

		role := gatehouse.RoleMember
		for _, tt := range []struct {
			name string
			ch   auth.ApplicationChange
			code string
		}{
			{"no name", auth.ApplicationChange{Name: ptr("  ")}, gatehouse.EInvalidRequest},
			{"control in name", auth.ApplicationChange{Name: ptr("a\x07b")}, gatehouse.EInvalidRequest},
			{"first party by a company", auth.ApplicationChange{FirstParty: ptr(true)}, gatehouse.EFirstPartyOperatorOnly},
			{"member role", auth.ApplicationChange{RequireRole: &role}, gatehouse.EInvalidRequest},
			{"http redirect", auth.ApplicationChange{RedirectURIs: []string{"http://wiki.example.com/cb"}}, gatehouse.EInvalidRedirectURI},
			{"fragment", auth.ApplicationChange{PostLogoutRedirectURIs: []string{"https://wiki.example.com/#x"}}, gatehouse.EInvalidRedirectURI},
			{"host with a port", auth.ApplicationChange{ForwardAuthHosts: []string{"wiki.example.com:443"}}, gatehouse.EInvalidForwardAuthHost},
			{"taken host", auth.ApplicationChange{Name: ptr("Renamed"), ForwardAuthHosts: []string{"OTHER.example.com"}}, gatehouse.EForwardAuthHostTaken},
			{"made public", auth.ApplicationChange{Name: ptr("Renamed"), Public: ptr(true)}, gatehouse.EInvalidRequest},
			{"nothing", auth.ApplicationChange{}, gatehouse.EInvalidRequest},
		} {
			_, err := e.svc.UpdateApplication(ctx, admin, clientID, tt.ch, e.client())
			wantCode(t, tt.name, err, tt.code)
		}
		if got := stored(); got.Name != before.Name || !got.UpdatedAt.Equal(before.UpdatedAt) || !slices.Equal(got.ForwardAuthHosts, before.ForwardAuthHosts) {
			t.Fatalf("refused changes changed the app: %+v", got)
		}
		_, err = e.svc.UpdateApplication(ctx, admin, pub.Application.ClientID, auth.ApplicationChange{Public: ptr(false)}, e.client())
		wantCode(t, "made confidential", err, gatehouse.EInvalidRequest)
		if got, _ := e.svc.Application(ctx, admin, pub.Application.ClientID); !got.Public || got.SecretHash != nil {
			t.Errorf("a refused change made the public app %+v", got)
		}

		// Only what is set changes; hosts take the stored form; the secret stays.
		e.clock.Advance(time.Second)
		upd, err := e.svc.UpdateApplication(ctx, admin, clientID, auth.ApplicationChange{Name: ptr(" Wiki 2 "), Public: ptr(false),
			ForwardAuthHosts: []string{"Docs.Example.com", "wiki.example.com"}, RequireRole: ptr(gatehouse.RoleAdmin)}, e.client())
		wantCode(t, "change", err, "")
		got := stored()
		if got.Name != "Wiki 2" || !slices.Equal(got.ForwardAuthHosts, []string{"docs.example.com", "wiki.example.com"}) ||
			got.RequireRole != gatehouse.RoleAdmin || got.RequireMFA || !slices.Equal(got.RedirectURIs, before.RedirectURIs) ||
			!slices.Equal(got.PostLogoutRedirectURIs, before.PostLogoutRedirectURIs) || !got.UpdatedAt.After(before.UpdatedAt) ||
			!got.CreatedAt.Equal(before.CreatedAt) || upd.Name != got.Name {
			t.Errorf("after the change: %+v", got)
		}
		if !auth.CheckClientSecret(got, created.ClientSecret) {
			t.Error("the change lost the client secret")
		}
		// An empty list clears; the freed host may be taken by another app.
		_, err = e.svc.UpdateApplication(ctx, admin, clientID, auth.ApplicationChange{ForwardAuthHosts: []string{}, PostLogoutRedirectURIs: []string{}}, e.client())
		wantCode(t, "clear", err, "")
		if got := stored(); len(got.ForwardAuthHosts) != 0 || len(got.PostLogoutRedirectURIs) != 0 || len(got.RedirectURIs) != 1 {
			t.Errorf("after clearing: %+v", got)
		}
		other := e.company(t)
		_, err = e.svc.CreateApplication(ctx, other, auth.NewApplication{Name: "Docs", ForwardAuthHosts: []string{"docs.example.com"}}, e.client())
		wantCode(t, "the freed host", err, "")

		// The operator changes any app; first-party only for its own.
		_, err = e.svc.OperatorUpdateApplication(ctx, clientID, auth.ApplicationChange{FirstParty: ptr(true)}, cli)
		wantCode(t, "operator: first-party company app", err, gatehouse.EFirstPartyOperatorOnly)
		_, err = e.svc.OperatorUpdateApplication(ctx, "nope", auth.ApplicationChange{Name: ptr("x")}, cli)
		wantCode(t, "operator: unknown app", err, gatehouse.ENotFound)
		opApp, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "Product"}, cli)
		wantCode(t, "operator create", err, "")
		opUpd, err := e.svc.OperatorUpdateApplication(ctx, opApp.Application.ClientID, auth.ApplicationChange{FirstParty: ptr(true)}, cli)
		wantCode(t, "operator: first-party", err, "")
		if !opUpd.FirstParty || opUpd.Name != "Product" {
			t.Errorf("the operator's change: %+v", opUpd)
		}
		_, err = e.svc.OperatorUpdateApplication(ctx, clientID, auth.ApplicationChange{Name: ptr("By the operator")}, cli)
		wantCode(t, "operator: company app", err, "")

		var changes []*gatehouse.AuditEvent
		e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
			changes, err = tx.AuditEvents(gatehouse.AuditFilter{CompanyID: admin.User.CompanyID, Type: gatehouse.EventApplicationUpdated, Limit: 10})
			return err
		})
		if len(changes) != 3 || !changes[0].ByOperator() || changes[1].ActorID != admin.User.ID ||
			!strings.Contains(changes[1].Detail, "client_id="+clientID) {
			t.Errorf("the company's application.updated events: %+v", changes)
		}
	})
}

// Two registrations of one host at once: exactly one wins, on both
// databases (the check before the insert cannot see the other's row; the
// unique key decides).
func TestForwardAuthHostRace(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		const n = 8
		admins := make([]*auth.Identity, n)
		for i := range admins {
			admins[i] = e.company(t)
		}
		errs := concurrently(n, func(i int) error {
			_, err := e.svc.CreateApplication(ctx, admins[i], auth.NewApplication{Name: fmt.Sprint("App ", i),
				ForwardAuthHosts: []string{"race.example.com"}}, e.client())
			return err
		})
		codes := countCodes(errs)
		if codes[""] != 1 || codes[gatehouse.EForwardAuthHostTaken] != n-1 {
			t.Fatalf("racing registrations of one host: got %v, want 1 success and %d forward_auth_host_taken", codes, n-1)
		}
	})
}

// The company's limit holds.
func TestApplicationLimit(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		for i := range auth.MaxApplicationsPerCompany {
			_, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: fmt.Sprint("App ", i)}, e.client())
			wantCode(t, "create", err, "")
		}
		_, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "one too many"}, e.client())
		wantCode(t, "over the limit", err, gatehouse.EInvalidRequest)
	})
}

// The forward-auth check on both databases: the host decides the app
// (any case, any port), the session the user, the app whom it admits; a
// login for an app that requires a second factor sets one up first.
func TestForwardAuthCheck(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		member := e.member(t, admin)
		other := e.company(t)
		mk := func(id *auth.Identity, na auth.NewApplication) {
			if _, err := e.svc.CreateApplication(ctx, id, na, e.client()); err != nil {
				t.Fatal(err)
			}
		}
		mk(admin, auth.NewApplication{Name: "Wiki", ForwardAuthHosts: []string{"wiki.example.com"}})
		mk(admin, auth.NewApplication{Name: "Admin", ForwardAuthHosts: []string{"admin.example.com"}, RequireRole: gatehouse.RoleAdmin})
		mk(admin, auth.NewApplication{Name: "Vault", ForwardAuthHosts: []string{"vault.example.com"}, RequireMFA: true})
		mk(other, auth.NewApplication{Name: "Other", ForwardAuthHosts: []string{"other.example.com"}})
		if _, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "Product",
			ForwardAuthHosts: []string{"product.example.com"}}, cli); err != nil {
			t.Fatal(err)
		}
		token := func(id *auth.Identity) string {
			// The identities of the harness hold no token: sign in again.
			res, err := e.svc.Login(ctx, id.User.Email, goodPW, e.client())
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("login %s: %+v %v", id.User.Email, res, err)
			}
			return res.SessionToken
		}
		adminTok, memberTok := token(admin), token(member)
		for _, tt := range []struct {
			host, token string
			want        auth.ForwardAuthOutcome
			reason      string
		}{
			{"wiki.example.com", adminTok, auth.ForwardAuthAllowed, ""},
			{"Wiki.Example.com:443", memberTok, auth.ForwardAuthAllowed, ""},
			{"product.example.com", memberTok, auth.ForwardAuthAllowed, ""},
			{"admin.example.com", adminTok, auth.ForwardAuthAllowed, ""},
			{"admin.example.com", memberTok, auth.ForwardAuthNotAdmitted, "role"},
			{"vault.example.com", memberTok, auth.ForwardAuthNotAdmitted, "mfa"},
			{"other.example.com", adminTok, auth.ForwardAuthNotAdmitted, "company"},
			{"nobody.example.com", adminTok, auth.ForwardAuthUnknownHost, ""},
			{"wiki.example.com:x", adminTok, auth.ForwardAuthUnknownHost, ""},
			{"", adminTok, auth.ForwardAuthUnknownHost, ""},
			{"wiki.example.com", "", auth.ForwardAuthUnauthenticated, ""},
			{"wiki.example.com", "x", auth.ForwardAuthUnauthenticated, ""},
		} {
			res, err := e.svc.ForwardAuth(ctx, tt.host, tt.token)
			if err != nil || res.Outcome != tt.want || res.Reason != tt.reason {
				t.Errorf("%s with %.8s: got %+v, %v; want outcome %d %q", tt.host, tt.token, res, err, tt.want, tt.reason)
			}
		}

		// The member signs in for the vault: setup first, then admitted.
		done := e.loginForMFAApp(t, member.User.Email)
		if fa, err := e.svc.ForwardAuth(ctx, "vault.example.com", done.SessionToken); err != nil || fa.Outcome != auth.ForwardAuthAllowed {
			t.Fatalf("the vault after the setup: got %+v, %v", fa, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }
