package browser_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestConnectedAppPages visits the pages of signing in to an app in each
// language: the consent page of a third-party app, then
// /settings/connected-apps listing it, each checked for accessibility
// (axe-core and our checks) as every page state is. The app's callback is
// a server on loopback that answers with a page of its own.
func TestConnectedAppPages(t *testing.T) {
	t.Parallel()
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>CRM</title></head><body><main><h1>CRM</h1></main></body></html>`))
	}))
	defer callback.Close()
	s := startAcme(t)
	app, err := s.Service().OperatorCreateApplication(context.Background(), s.CompanyID,
		auth.NewApplication{Name: "CRM", RedirectURIs: []string{callback.URL + "/callback"}}, auth.Client{})
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	verifier := "a-verifier-of-forty-three-characters-or-more-0123"
	sum := sha256.Sum256([]byte(verifier))
	authorize := "/authorize?" + url.Values{
		"client_id": {app.Application.ClientID}, "redirect_uri": {callback.URL + "/callback"},
		"response_type": {"code"}, "scope": {"openid email"}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
	for _, lang := range []string{"en", "id", "tr"} {
		t.Run(lang, func(t *testing.T) {
			// A user of each language, since a consent is remembered.
			email := "user-" + lang + "@acme.example"
			s.addUser(t, "User "+lang, email, goodPW, gatehouse.RoleMember)
			p := browsertest.NewPage(t, s.URL, browsertest.AcceptLanguage(lang))
			login(p, email, goodPW, "/settings/profile")
			p.Open(authorize)
			p.WaitPath("/authorize/consent")
			p.CheckAccessibility("consent")
			p.Submit(`button[name=action][value=allow]`)
			p.WaitPath("/callback")
			p.Open("/settings/connected-apps")
			p.CheckAccessibility("connected apps")
		})
	}
}
