package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

var apiKeyOnPage = regexp.MustCompile(`id="api-key">(gh_[0-9a-z_]+)<`)

// The API keys page without JavaScript: create a key (shown once, with
// its expiry), see its last use after the API used it, delete it after a
// confirmation page, and the key is refused at once; a bad expiry keeps
// the form; a member gets 403 and no menu entry.
func TestAPIKeyPagesJourney(t *testing.T) {
	s := servertest.Start(t)
	acme, _ := s.Company(t, "Acme", "ada@acme.example", pw)
	ada := signedIn(t, s, "ada@acme.example", pw)

	wantPage(t, "empty list", ada.Get("/settings/api-keys"), 200, "API keys", "No API keys yet.", "Create an API key")
	bad := wantPage(t, "bad expiry", ada.PostForm("/settings/api-keys", map[string]string{"name": "HR sync", "expires_at": "2001-01-01"}), 400,
		"Enter an expiry date after today")
	if !strings.Contains(bad, `value="HR sync"`) {
		t.Errorf("the refused form does not keep the name")
	}
	created := ada.PostForm("/settings/api-keys", map[string]string{"name": "HR sync", "expires_at": "2099-01-31"})
	page := wantPage(t, "created", created, 200, "API key created", "It is shown only now", "HR sync", "2099")
	m := apiKeyOnPage.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no key on the page:\n%s", page)
	}
	key := m[1]
	list := wantPage(t, "list", ada.Get("/settings/api-keys"), 200, "HR sync", ">Never<")
	if strings.Contains(list, key) {
		t.Error("the key is shown again on the list")
	}

	// The API uses it; the page shows the use.
	c := s.Client(t)
	c.Token = key
	if r := c.Get("/api/v1/company/users"); r.StatusCode != 200 {
		t.Fatalf("the key on the API: got %d %s", r.StatusCode, r.Body)
	}
	if strings.Contains(wantPage(t, "used", ada.Get("/settings/api-keys"), 200, "HR sync"), ">Never<") {
		t.Error("the list still says the key was never used")
	}

	// Delete: a confirmation page first, then gone, and refused at once.
	id := strings.Split(strings.TrimPrefix(key, "gh_"), "_")[0]
	wantPage(t, "confirm delete", ada.PostForm("/settings/api-keys/"+id+"/delete", nil), 200, "Delete this API key?", "HR sync")
	if r := c.Get("/api/v1/company/users"); r.StatusCode != 200 {
		t.Fatalf("the key before the confirmation: got %d", r.StatusCode)
	}
	wantRedirect(t, "delete", ada.PostForm("/settings/api-keys/"+id+"/delete", map[string]string{"confirmed": "1"}), "/settings/api-keys")
	if r := c.Get("/api/v1/company/users"); r.StatusCode != 401 {
		t.Errorf("the deleted key: got %d, want 401", r.StatusCode)
	}
	wantPage(t, "deleted again", ada.PostForm("/settings/api-keys/"+id+"/delete", nil), 404)
	wantPage(t, "audit", ada.Get("/settings/audit"), 200, "API key created", "API key deleted")

	// What a key does is in the log with the key as the actor.
	k2 := apiKeyOnPage.FindStringSubmatch(string(ada.PostForm("/settings/api-keys", map[string]string{"name": "Provisioner"}).Body))
	if k2 == nil {
		t.Fatal("no second key")
	}
	c.Token = k2[1]
	if r := c.Do("POST", "/api/v1/company/users", map[string]string{"email": "newhire@acme.example", "name": "New Hire"}); r.StatusCode != 201 {
		t.Fatalf("invite with the key: got %d %s", r.StatusCode, r.Body)
	}
	wantPage(t, "audit names the key", ada.Get("/settings/audit?type=user.invited"), 200, "API key “Provisioner”")

	// A member gets 403, and the page is not in their menu.
	s.AddUser(t, acme, "carl@acme.example", pw, gatehouse.RoleMember)
	carl := signedIn(t, s, "carl@acme.example", pw)
	wantPage(t, "member", carl.Get("/settings/api-keys"), 403)
	wantPage(t, "member creates", carl.PostForm("/settings/api-keys", map[string]string{"name": "x"}), 403)
	if strings.Contains(string(carl.Get("/settings/profile").Body), "/settings/api-keys") {
		t.Error("a member's menu links to the API keys")
	}
}
