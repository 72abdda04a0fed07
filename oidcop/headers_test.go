package oidcop_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Every answer that carries a token, a client's secret or a user's claims
// tells caches not to keep it (RFC 6749 5.1, OpenID Connect Core 3.1.3.3),
// refusals included.
func TestTokenAnswersAreNotStored(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config(oidc.ScopeOfflineAccess, "email")
		tok := r.signIn(t, r.signedIn(t, r.email), cfg)
		basic := basicAuth(cfg.ClientID, cfg.ClientSecret)
		bearer := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
		send := func(method, path string, form url.Values, header http.Header) *http.Response {
			resp, _ := call(t, r, method, path, form, header)
			return resp
		}
		for _, c := range []struct {
			name       string
			resp       *http.Response
			wantStatus int
		}{
			{"refresh", send("POST", "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, basic), 200},
			{"refused refresh", send("POST", "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nonsense"}}, basic), 400},
			{"userinfo GET", send("GET", "/userinfo", nil, bearer), 200},
			{"userinfo POST", send("POST", "/userinfo", url.Values{"access_token": {tok.AccessToken}}, nil), 200},
			{"introspection", send("POST", "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, basic), 200},
			{"revocation", send("POST", "/oauth/revoke", url.Values{"token": {tok.AccessToken}}, basic), 200},
		} {
			if c.resp.StatusCode != c.wantStatus {
				t.Errorf("%s: got %d, want %d", c.name, c.resp.StatusCode, c.wantStatus)
			}
			if h := c.resp.Header; h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
				t.Errorf("%s: Cache-Control %q, Pragma %q; want no-store, no-cache", c.name, h.Get("Cache-Control"), h.Get("Pragma"))
			}
		}
	})
}

// A single-page app's browser asks before it sends an Authorization
// header or a form across origins (CORS preflight), and may go on only
// when the answer allows it.
func TestCORSPreflight(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		for _, c := range []struct{ path, method string }{
			{"/oauth/token", "POST"},
			{"/userinfo", "GET"},
			{"/userinfo", "POST"},
			{"/oauth/introspect", "POST"},
			{"/oauth/revoke", "POST"},
		} {
			resp, _ := call(t, r, "OPTIONS", c.path, nil, http.Header{"Origin": {"https://spa.example.com"},
				"Access-Control-Request-Method": {c.method}, "Access-Control-Request-Headers": {"authorization, content-type"}})
			h := resp.Header
			if resp.StatusCode/100 != 2 || h.Get("Access-Control-Allow-Origin") != "https://spa.example.com" ||
				!strings.Contains(h.Get("Access-Control-Allow-Methods"), c.method) ||
				!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
				t.Errorf("preflight of %s %s: got %d %v, want the CORS answer allowing it", c.method, c.path, resp.StatusCode, h)
			}
		}
	})
}
