package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// /settings/apps without JavaScript: register an app (its secret shown
// once), a refusal keeps the form, delete asks on a page of its own
// first; members and other companies reach nothing.
func TestAppsPage(t *testing.T) {
	s := servertest.Start(t)
	acme, _ := s.Company(t, "Acme", "ada@example.com", goodPW)
	s.Company(t, "Beta", "bea@example.com", goodPW)
	s.AddUser(t, acme, "mo@example.com", goodPW, gatehouse.RoleMember)
	ada, bea, mo := s.Client(t), s.Client(t), s.Client(t)
	loginForm(t, ada, "ada@example.com", goodPW)
	loginForm(t, bea, "bea@example.com", goodPW)
	loginForm(t, mo, "mo@example.com", goodPW)

	wantPage(t, "empty list", ada.Get("/settings/apps"), 200, "Applications", "No applications yet.")
	created := ada.PostForm("/settings/apps", map[string]string{"name": "Wiki", "forward_auth_hosts": "Wiki.Example.com\r\ndocs.example.com\r\n",
		"require_admin": "1", "require_mfa": "1"})
	page := wantPage(t, "registered", created, 200, "Wiki is registered", "wiki.example.com", "docs.example.com", "Admins only",
		"Two-factor authentication required")
	secret := regexp.MustCompile(`id="client-secret">([A-Za-z0-9_-]{43})<`).FindStringSubmatch(string(created.Body))
	if secret == nil {
		t.Fatalf("no client secret on the page:\n%s", page)
	}
	clientID := regexp.MustCompile(`<code>([0-9a-z]{26})</code>`).FindStringSubmatch(string(created.Body))[1]
	if again := ada.Get("/settings/apps"); strings.Contains(string(again.Body), secret[1]) {
		t.Errorf("the secret is shown again")
	}

	refused := ada.PostForm("/settings/apps", map[string]string{"name": "Other", "forward_auth_hosts": "wiki.example.com"})
	wantPage(t, "taken host", refused, 409, "Another application already uses this host", `value="Other"`)
	wantPage(t, "bad host", ada.PostForm("/settings/apps", map[string]string{"name": "x", "forward_auth_hosts": "https://x.example.com/"}),
		400, "no https://", `aria-invalid="true"`)

	if r := mo.Get("/settings/apps"); r.StatusCode != 403 {
		t.Errorf("a member's page: got %d, want 403", r.StatusCode)
	}
	if r := bea.PostForm("/settings/apps/"+clientID+"/delete", map[string]string{"confirmed": "1"}); r.StatusCode != 404 {
		t.Errorf("another company deletes: got %d, want 404", r.StatusCode)
	}
	wantPage(t, "confirm", ada.PostForm("/settings/apps/"+clientID+"/delete", nil), 200, "Delete this application?", `name="confirmed"`)
	wantRedirect(t, "delete", ada.PostForm("/settings/apps/"+clientID+"/delete", map[string]string{"confirmed": "1"}), "/settings/apps")
	wantPage(t, "after delete", ada.Get("/settings/apps"), 200, "Application deleted.", "No applications yet.")
}
