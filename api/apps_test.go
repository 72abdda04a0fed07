package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
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
