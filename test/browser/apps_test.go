package browser_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
	"github.com/gatehouse/gatehouse/internal/testenv/nginxtest"
)

// TestAppsPage is an admin's journey on /settings/apps in each language:
// register an app for forward auth (its client secret shown once, with a
// copy button), change it on its page (a refusal first), then delete it
// after the dialog. Each page is checked for
// accessibility; the screenshots are docs/screenshots/apps*.png.
func TestAppsPage(t *testing.T) {
	inEachLanguage(t, nil, func(t *testing.T, s *acme, p *browsertest.Page, T func(string, ...any) string, lang string) {
		p.Click(`.sidebar a[href="/settings/apps"]`)
		p.WaitPath("/settings/apps")
		p.WaitText(T("apps.none"))
		p.CheckAccessibility("apps, none")
		p.Fill("#name", "Wiki")
		p.Fill("#forward_auth_hosts", "wiki.acme.example")
		p.Click("#require_mfa")
		p.Screenshot(shotName("apps-add", lang))
		p.Submit(`form[action="/settings/apps"] button[type=submit]`)
		p.WaitVisible("#client-secret")
		if secret := p.Text("#client-secret"); len(secret) != 43 {
			t.Fatalf("client secret on the page: %q", secret)
		}
		p.WaitVisible(`[data-copy="#client-secret"]`)
		p.WaitText("wiki.acme.example")
		p.CheckAccessibility("apps, added")
		p.Screenshot(shotName("apps-added", lang))

		// Change it: its page holds its settings; a refusal stays on the
		// form with the error, a save returns to the list with a toast.
		p.Click(`.apps-table a.button`)
		p.WaitText(T("apps.edit_heading", "name", "Wiki"))
		if got := p.Value("#forward_auth_hosts"); got != "wiki.acme.example" {
			t.Fatalf("the form's hosts: %q", got)
		}
		p.CheckAccessibility("app, edit")
		p.Fill("#forward_auth_hosts", "https://wiki.acme.example/")
		p.Submit(`form[action^="/settings/apps/"] button[type=submit]`)
		p.WaitText(T("error.invalid_forward_auth_host"))
		p.CheckAccessibility("app, edit refused")
		p.Fill("#name", "Team wiki")
		p.Fill("#forward_auth_hosts", "wiki.acme.example\nkb.acme.example")
		p.Click("#require_admin")
		p.Screenshot(shotName("apps-edit", lang))
		p.Submit(`form[action^="/settings/apps/"] button[type=submit]`)
		p.WaitPath("/settings/apps")
		p.WaitToast(T("flash.app_updated"))
		p.WaitText("kb.acme.example")
		p.WaitText(T("apps.admins_only") + "; " + T("apps.mfa"))
		p.CheckAccessibility("apps, changed")

		p.Click(`form[action$="/delete"] button`)
		p.WaitVisible("#confirm-dialog")
		if got := p.Text("#confirm-dialog"); !strings.Contains(got, "Team wiki") {
			t.Errorf("the dialog says %q, want the app's name", got)
		}
		p.Screenshot(shotName("apps-delete-dialog", lang))
		p.Submit("#confirm-dialog-ok")
		p.WaitPath("/settings/apps")
		p.WaitToast(T("flash.app_deleted"))
		p.WaitText(T("apps.none"))
	})
}

// TestForwardAuthJourney: a person opens a page of an app behind nginx
// (auth_request to Gatehouse), lands on Gatehouse's login page, signs in
// with their second factor, and arrives back at the page they asked for,
// which knows who they are.
func TestForwardAuthJourney(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	secret, _ := enableTOTP(t, s.Server, adaEmail, goodPW)
	// The app: a page that says whom nginx let in.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Wiki</title></head><body><main><h1>Wiki</h1>`+
			`<p id="who">Signed in as %s (%s)</p><p id="path">%s</p></main></body></html>`,
			html.EscapeString(r.Header.Get("Remote-User")), html.EscapeString(r.Header.Get("Remote-Groups")), html.EscapeString(r.URL.RequestURI()))
	}))
	t.Cleanup(app.Close)
	// Browsers send a host's cookies to every port of it: the app on
	// 127.0.0.1 behind nginx receives Gatehouse's cookie of 127.0.0.1.
	if _, err := s.Service().OperatorCreateApplication(context.Background(), s.CompanyID,
		auth.NewApplication{Name: "Wiki", ForwardAuthHosts: []string{"127.0.0.1"}, RequireMFA: true}, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	proxy := nginxtest.StartT(t, s.URL, app.URL)

	p := browsertest.NewPage(t, "http://"+proxy)
	p.Open("/docs/page?x=1")
	p.WaitPath("/login")
	if !strings.Contains(p.URL(), "rd=") {
		t.Fatalf("the login page's address %q carries no rd", p.URL())
	}
	answerLogin(p, adaEmail, goodPW, "/login/2fa")
	answerCode(p, nextCode(s.Server, secret), "/docs/page")
	p.WaitText("Signed in as " + adaEmail + " (admin)")
	if got := p.URL(); got != "http://"+proxy+"/docs/page?x=1" {
		t.Errorf("arrived at %q, want the page asked for", got)
	}
}
