package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestAPIKeys is an admin's API key journey in each language: create a key
// (shown once, with a copy button) beside one that expires, see its last
// use after a program used it, and delete it after the dialog, after which
// the program is refused. Each page is checked for accessibility, and the
// screenshots are docs/screenshots/api-key*.png.
func TestAPIKeys(t *testing.T) {
	inEachLanguage(t, nil, func(t *testing.T, s *acme, p *browsertest.Page, T func(string, ...any) string, lang string) {
		_, err := s.Service().OperatorCreateAPIKey(context.Background(), s.CompanyID,
			auth.NewAPIKey{Name: "Payroll export", ExpiresAt: time.Now().AddDate(0, 3, 0)}, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}

		p.Click(`.sidebar a[href="/settings/api-keys"]`)
		p.WaitPath("/settings/api-keys")
		p.WaitText("Payroll export")
		p.WaitText(T("api_keys.never_used"))
		p.CheckAccessibility("api keys, one")
		p.Fill("#name", "HR sync")
		p.Submit(`form[action="/settings/api-keys"] button[type=submit]`)
		p.WaitVisible("#api-key")
		key := p.Text("#api-key")
		if !strings.HasPrefix(key, "gh_") {
			t.Fatalf("key on the page: %q", key)
		}
		p.WaitVisible(`[data-copy="#api-key"]`)
		p.CheckAccessibility("api keys, created")
		p.Screenshot(shotName("api-key-created", lang))

		// A program uses the key; the list shows when.
		c := s.Client(t)
		c.Token = key
		if r := c.Get("/api/v1/company/users"); r.StatusCode != 200 {
			t.Fatalf("the key on the API: %d %s", r.StatusCode, r.Body)
		}
		p.Open("/settings/api-keys")
		p.WaitText("HR sync")
		if got := p.Text("tbody tr:last-child td:nth-child(3)"); strings.Contains(got, T("api_keys.never_used")) {
			t.Errorf("the used key's last use says %q", got)
		}
		p.CheckAccessibility("api keys, list")
		p.Screenshot(shotName("api-keys", lang))

		// Delete, after the dialog: the program is refused at once.
		p.Click(`tbody tr:last-child form[action$="/delete"] button`)
		p.WaitVisible("#confirm-dialog")
		if got := p.Text("#confirm-dialog"); !strings.Contains(got, "HR sync") {
			t.Errorf("the dialog says %q, want the key's name", got)
		}
		p.Screenshot(shotName("api-key-delete-dialog", lang))
		p.Submit("#confirm-dialog-ok")
		p.WaitPath("/settings/api-keys")
		p.WaitToast(T("flash.api_key_deleted"))
		if r := c.Get("/api/v1/company/users"); r.StatusCode != 401 {
			t.Errorf("the deleted key: got %d, want 401", r.StatusCode)
		}
	})
}
