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
	ada, bea, mo := appsAdmins(t)

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

// Changing an app without JavaScript: the list links each app to its
// page, whose form holds the app's settings; saving returns to the list
// with a toast; a refusal shows the form again with the error and what
// was posted, changing nothing; public is not in the form; another
// company's app is not found, a member is refused, and a post from
// another site is refused as every form's.
func TestAppEditPage(t *testing.T) {
	ada, bea, mo := appsAdmins(t)

	created := ada.PostForm("/settings/apps", map[string]string{"name": "Wiki", "forward_auth_hosts": "wiki.example.com",
		"redirect_uris": "https://wiki.example.com/cb", "require_admin": "1"})
	wantPage(t, "registered", created, 200, "Wiki is registered")
	clientID := regexp.MustCompile(`<code>([0-9a-z]{26})</code>`).FindStringSubmatch(string(created.Body))[1]
	ada.PostForm("/settings/apps", map[string]string{"name": "Docs", "forward_auth_hosts": "docs.example.com"})
	path := "/settings/apps/" + clientID

	wantPage(t, "the list links the page", ada.Get("/settings/apps"), 200, `href="`+path+`"`, "Edit")
	page := wantPage(t, "the app's page", ada.Get(path), 200, "Change Wiki", clientID, `value="Wiki"`,
		">wiki.example.com</textarea>", ">https://wiki.example.com/cb</textarea>", `name="require_admin" value="1" checked`,
		"keeps its client secret")
	if strings.Contains(page, `name="public"`) || strings.Contains(page, `name="require_mfa" value="1" checked`) {
		t.Errorf("the form offers public, or checks a box the app lacks:\n%s", page)
	}

	wantPage(t, "taken host", ada.PostForm(path, map[string]string{"name": "Team wiki", "forward_auth_hosts": "docs.example.com"}),
		409, "Another application already uses this host", `value="Team wiki"`, ">docs.example.com</textarea>", `aria-invalid="true"`)
	wantPage(t, "empty name", ada.PostForm(path, map[string]string{"name": " ", "forward_auth_hosts": "wiki.example.com"}), 400, `aria-invalid="true"`)
	if l := wantPage(t, "unchanged after refusals", ada.Get("/settings/apps"), 200, ">Wiki<"); strings.Count(l, "Admins only") != 2 {
		t.Errorf("a refused change changed who gets in")
	}

	wantRedirect(t, "save", ada.PostForm(path, map[string]string{"name": "Team wiki", "forward_auth_hosts": "wiki.example.com\r\nKB.example.com\r\n",
		"require_mfa": "1"}), "/settings/apps")
	list := wantPage(t, "after saving", ada.Get("/settings/apps"), 200, "Application saved.", ">Team wiki<", "kb.example.com",
		"Everyone in the company", "Two-factor authentication required")
	if n := strings.Count(list, "Admins only"); n != 1 { // the registration form's box
		t.Errorf("the unticked box still requires admins (%d mentions)", n)
	}
	// Cleared fields clear: the redirect URIs are gone.
	wantPage(t, "cleared", ada.Get(path), 200, `id="redirect_uris" name="redirect_uris" rows="2" spellcheck="false" aria-describedby="redirect-hint"></textarea>`)

	for _, r := range []*servertest.Response{bea.Get(path), bea.PostForm(path, map[string]string{"name": "Mine"}), ada.Get("/settings/apps/nope")} {
		if r.StatusCode != 404 {
			t.Errorf("another company's app or an unknown one: got %d, want 404", r.StatusCode)
		}
	}
	if r := mo.PostForm(path, map[string]string{"name": "Mine"}); r.StatusCode != 403 {
		t.Errorf("a member saves: got %d, want 403", r.StatusCode)
	}
	ada.Header = map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	if r := ada.PostForm(path, map[string]string{"name": "Evil"}); r.StatusCode != 403 {
		t.Errorf("a post from another site: got %d, want 403", r.StatusCode)
	}
	ada.Header = nil
	wantPage(t, "unchanged by the others", ada.Get("/settings/apps"), 200, ">Team wiki<")
}

// appsAdmins starts a server with Acme (Ada its admin, Mo a member) and
// Beta (Bea its admin), each signed in through the login form.
func appsAdmins(t *testing.T) (ada, bea, mo *servertest.Client) {
	s := servertest.Start(t)
	acme, _ := s.Company(t, "Acme", "ada@example.com", goodPW)
	s.Company(t, "Beta", "bea@example.com", goodPW)
	s.AddUser(t, acme, "mo@example.com", goodPW, gatehouse.RoleMember)
	ada, bea, mo = s.Client(t), s.Client(t), s.Client(t)
	loginForm(t, ada, "ada@example.com", goodPW)
	loginForm(t, bea, "bea@example.com", goodPW)
	loginForm(t, mo, "mo@example.com", goodPW)
	return ada, bea, mo
}
