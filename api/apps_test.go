package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// The company's applications through the API: create answers the client
// secret once, list never shows it, the rules answer their codes, another
// company's app is not found, members are refused, and delete frees the
// host for forward auth at once.
func TestCompanyApps(t *testing.T) {
	s := servertest.Start(t)
	acme, _ := s.Company(t, "Acme", "ada@example.com", goodPW)
	s.Company(t, "Beta", "bea@example.com", goodPW)
	s.AddUser(t, acme, "mo@example.com", goodPW, gatehouse.RoleMember)
	ada, bea, mo := s.Client(t), s.Client(t), s.Client(t)
	ada.Token, bea.Token, mo.Token = ada.Login("ada@example.com", goodPW), bea.Login("bea@example.com", goodPW), mo.Login("mo@example.com", goodPW)

	r := ada.Do("POST", "/api/v1/company/apps", map[string]any{"name": "Wiki", "forward_auth_hosts": []string{"Wiki.Example.com"},
		"redirect_uris": []string{"https://wiki.example.com/cb"}, "require_role": "admin", "require_mfa": true})
	if r.StatusCode != 201 {
		t.Fatalf("create: got %d %s", r.StatusCode, r.Body)
	}
	created := r.JSON(t)
	clientID, secret := created["client_id"].(string), created["client_secret"].(string)
	if clientID == "" || len(secret) != 43 || r.Header.Get("Location") != "/api/v1/company/apps/"+clientID ||
		created["forward_auth_hosts"].([]any)[0] != "wiki.example.com" || created["require_role"] != "admin" || created["require_mfa"] != true {
		t.Fatalf("create answered %s", r.Body)
	}
	pub := ada.Do("POST", "/api/v1/company/apps", map[string]any{"name": "SPA", "public": true, "redirect_uris": []string{"http://localhost:5173/cb"}})
	if pub.StatusCode != 201 || pub.JSON(t)["client_secret"] != nil {
		t.Fatalf("create public: got %d %s, want 201 with a null client_secret", pub.StatusCode, pub.Body)
	}

	for _, tt := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no name", map[string]any{"forward_auth_hosts": []string{"x.example.com"}}, 400, gatehouse.EInvalidRequest},
		{"host with a scheme", map[string]any{"name": "x", "forward_auth_hosts": []string{"https://x.example.com"}}, 400, gatehouse.EInvalidForwardAuthHost},
		{"host with a port", map[string]any{"name": "x", "forward_auth_hosts": []string{"x.example.com:443"}}, 400, gatehouse.EInvalidForwardAuthHost},
		{"taken host", map[string]any{"name": "x", "forward_auth_hosts": []string{"WIKI.example.com"}}, 409, gatehouse.EForwardAuthHostTaken},
		{"http redirect", map[string]any{"name": "x", "redirect_uris": []string{"http://x.example.com/cb"}}, 400, gatehouse.EInvalidRedirectURI},
		{"fragment", map[string]any{"name": "x", "post_logout_redirect_uris": []string{"https://x.example.com/#a"}}, 400, gatehouse.EInvalidRedirectURI},
		{"member role", map[string]any{"name": "x", "require_role": "member"}, 400, gatehouse.EInvalidRequest},
		{"first party", map[string]any{"name": "x", "first_party": true}, 400, gatehouse.EInvalidRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, tt.name, ada.Do("POST", "/api/v1/company/apps", tt.body), tt.status, tt.code)
		})
	}
	wantProblem(t, "a member lists", mo.Get("/api/v1/company/apps"), 403, gatehouse.EForbidden)
	wantProblem(t, "a member creates", mo.Do("POST", "/api/v1/company/apps", map[string]any{"name": "x"}), 403, gatehouse.EForbidden)

	list := ada.Get("/api/v1/company/apps")
	if list.StatusCode != 200 || strings.Contains(string(list.Body), secret) || strings.Contains(string(list.Body), "secret") ||
		len(list.JSON(t)["apps"].([]any)) != 2 {
		t.Fatalf("list: got %d %s", list.StatusCode, list.Body)
	}
	if l := bea.Get("/api/v1/company/apps"); len(l.JSON(t)["apps"].([]any)) != 0 {
		t.Errorf("another company lists %s", l.Body)
	}
	wantProblem(t, "another company deletes", bea.Do("DELETE", "/api/v1/company/apps/"+clientID, nil), 404, gatehouse.ENotFound)
	wantProblem(t, "an unknown app", ada.Do("DELETE", "/api/v1/company/apps/nope", nil), 404, gatehouse.ENotFound)
	if r := ada.Do("DELETE", "/api/v1/company/apps/"+clientID, nil); r.StatusCode != 204 {
		t.Fatalf("delete: got %d %s", r.StatusCode, r.Body)
	}
	if r := bea.Do("POST", "/api/v1/company/apps", map[string]any{"name": "Beta wiki", "forward_auth_hosts": []string{"wiki.example.com"}}); r.StatusCode != 201 {
		t.Fatalf("the freed host: got %d %s", r.StatusCode, r.Body)
	}

	events := ada.Get("/api/v1/company/audit-events")
	for _, want := range []string{gatehouse.EventApplicationCreated, gatehouse.EventApplicationDeleted} {
		if !strings.Contains(string(events.Body), `"`+want+`"`) {
			t.Errorf("audit events lack %s: %s", want, events.Body)
		}
	}
}

// PATCH /api/v1/company/apps/{client_id} on both databases: the members
// sent change and the rest stay, under the rules of a registration (a
// refused change changes nothing); public cannot change; the answer never
// holds the secret, which keeps working; another company's app is not
// found; the change is audited and forward auth follows it at the next
// request.
func TestCompanyAppUpdate(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		acme, _ := s.Company(t, "Acme", "ada@example.com", goodPW)
		s.Company(t, "Beta", "bea@example.com", goodPW)
		s.AddUser(t, acme, "mo@example.com", goodPW, gatehouse.RoleMember)
		ada, bea, mo := s.Client(t), s.Client(t), s.Client(t)
		ada.Token, bea.Token = ada.Login("ada@example.com", goodPW), bea.Login("bea@example.com", goodPW)
		moSession := mo.Login("mo@example.com", goodPW)
		mo.Token = moSession

		r := ada.Do("POST", "/api/v1/company/apps", map[string]any{"name": "Wiki", "forward_auth_hosts": []string{"wiki.example.com"},
			"redirect_uris": []string{"https://wiki.example.com/cb"}})
		if r.StatusCode != 201 {
			t.Fatalf("create: got %d %s", r.StatusCode, r.Body)
		}
		clientID, secret := r.Str(t, "client_id"), r.Str(t, "client_secret")
		if r := ada.Do("POST", "/api/v1/company/apps", map[string]any{"name": "Docs", "forward_auth_hosts": []string{"docs.example.com"}}); r.StatusCode != 201 {
			t.Fatalf("create docs: got %d %s", r.StatusCode, r.Body)
		}
		path := "/api/v1/company/apps/" + clientID
		admitted := func(host string) int {
			t.Helper()
			c := s.Client(t)
			c.Header = map[string]string{"Cookie": "gatehouse_session=" + moSession, "X-Original-URL": "https://" + host + "/page",
				"X-Original-Method": "GET"}
			return c.Get("/authz/auth-request").StatusCode
		}
		if got := admitted("wiki.example.com"); got != 200 {
			t.Fatalf("before the change, a member at the wiki: %d, want 200", got)
		}

		for _, tt := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"empty name", map[string]any{"name": " "}, 400, gatehouse.EInvalidRequest},
			{"nothing", map[string]any{}, 400, gatehouse.EInvalidRequest},
			{"made public", map[string]any{"name": "Renamed", "public": true}, 400, gatehouse.EInvalidRequest},
			{"host with a port", map[string]any{"forward_auth_hosts": []string{"wiki.example.com:443"}}, 400, gatehouse.EInvalidForwardAuthHost},
			{"http redirect", map[string]any{"redirect_uris": []string{"http://wiki.example.com/cb"}}, 400, gatehouse.EInvalidRedirectURI},
			{"member role", map[string]any{"require_role": "member"}, 400, gatehouse.EInvalidRequest},
			{"role not a string", map[string]any{"require_role": 7}, 400, gatehouse.EInvalidRequest},
			{"first party", map[string]any{"first_party": true}, 400, gatehouse.EInvalidRequest},
			{"client id", map[string]any{"client_id": "mine"}, 400, gatehouse.EInvalidRequest},
			{"taken host", map[string]any{"name": "Renamed", "forward_auth_hosts": []string{"docs.example.com"}}, 409, gatehouse.EForwardAuthHostTaken},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantProblem(t, tt.name, ada.Do("PATCH", path, tt.body), tt.status, tt.code)
			})
		}
		if p := ada.Do("PATCH", path, map[string]any{"public": true}); !strings.Contains(p.Str(t, "title"), "public setting cannot change") {
			t.Errorf("a change of public is not explained: %s", p.Body)
		}
		wantProblem(t, "another company's app", bea.Do("PATCH", path, map[string]any{"name": "Mine"}), 404, gatehouse.ENotFound)
		wantProblem(t, "an unknown app", ada.Do("PATCH", "/api/v1/company/apps/nope", map[string]any{"name": "x"}), 404, gatehouse.ENotFound)
		wantProblem(t, "an unknown app, no body", ada.Do("PATCH", "/api/v1/company/apps/nope", nil), 400, gatehouse.EInvalidRequest)
		wantProblem(t, "a member", mo.Do("PATCH", path, map[string]any{"name": "x"}), 403, gatehouse.EForbidden)
		if got := ada.Get("/api/v1/company/apps").JSON(t)["apps"].([]any)[0].(map[string]any); got["name"] != "Wiki" ||
			got["require_role"] != nil || got["updated_at"] != got["created_at"] {
			t.Fatalf("refused changes changed the app: %v", got)
		}

		// public sent as it is, and the rest changed.
		s.Clock.Advance(time.Second)
		u := ada.Do("PATCH", path, map[string]any{"name": "Team wiki", "public": false, "require_role": "admin",
			"forward_auth_hosts": []string{"Wiki.Example.com", "kb.example.com"}})
		if u.StatusCode != 200 || strings.Contains(string(u.Body), "secret") {
			t.Fatalf("change: got %d %s", u.StatusCode, u.Body)
		}
		got := u.JSON(t)
		if got["name"] != "Team wiki" || got["require_role"] != "admin" || got["client_id"] != clientID ||
			fmt.Sprint(got["forward_auth_hosts"]) != "[kb.example.com wiki.example.com]" ||
			fmt.Sprint(got["redirect_uris"]) != "[https://wiki.example.com/cb]" || got["updated_at"] == got["created_at"] {
			t.Errorf("change answered %s", u.Body)
		}
		if got := admitted("kb.example.com"); got != 403 {
			t.Errorf("after require_role admin, a member at the new host: %d, want 403", got)
		}
		// null admits every role again; an empty list clears.
		u = ada.Do("PATCH", path, map[string]any{"require_role": nil, "redirect_uris": []string{}})
		if u.StatusCode != 200 || u.JSON(t)["require_role"] != nil || len(u.JSON(t)["redirect_uris"].([]any)) != 0 {
			t.Fatalf("clear: got %d %s", u.StatusCode, u.Body)
		}
		if got := admitted("kb.example.com"); got != 200 {
			t.Errorf("after require_role null, a member: %d, want 200", got)
		}
		all, err := s.Service().OperatorApplications(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.ClientID == clientID && !auth.CheckClientSecret(a, secret) {
				t.Errorf("the secret no longer checks after the changes")
			}
		}

		events := ada.Get("/api/v1/company/audit-events?type=" + gatehouse.EventApplicationUpdated)
		if n := len(events.JSON(t)["events"].([]any)); n != 2 || !strings.Contains(string(events.Body), clientID) {
			t.Errorf("want 2 application.updated events naming %s: %s", clientID, events.Body)
		}
	})
}
