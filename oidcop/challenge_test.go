package oidcop_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// call sends one request to the provider and returns its answer with the
// body read.
func call(t *testing.T, r *rig, method, path string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// basicAuth is the header of a client authenticating with HTTP Basic
// (client_secret_basic: both parts form-encoded first, RFC 6749 2.3.1).
func basicAuth(id, secret string) http.Header {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header
}

// Userinfo refuses as a bearer resource (RFC 6750 3, 3.1): 401 with
// WWW-Authenticate: Bearer, error="invalid_token" when a token came and
// no error code when none did; a revoked token is invalid_token too.
func TestUserinfoChallenge(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config("email")
		tok := r.signIn(t, r.signedIn(t, r.email), cfg)
		bearer := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
		realm := `Bearer realm="` + r.srv.URL + `"`
		invalid := realm + `, error="invalid_token", error_description="The access token is invalid, expired or revoked."`

		if resp, _ := call(t, r, "GET", "/userinfo", nil, bearer(tok.AccessToken)); resp.StatusCode != 200 || resp.Header.Get("WWW-Authenticate") != "" {
			t.Fatalf("userinfo with a live token: got %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		check := func(name string, resp *http.Response, body, want string) {
			t.Helper()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
				t.Errorf("%s: got %d, WWW-Authenticate %q (body %q); want 401, %q", name, resp.StatusCode,
					resp.Header.Get("WWW-Authenticate"), body, want)
			}
		}
		resp, body := call(t, r, "GET", "/userinfo", nil, nil)
		check("no token", resp, body, realm)
		resp, body = call(t, r, "GET", "/userinfo", nil, bearer("nonsense"))
		check("a token that is not one", resp, body, invalid)
		resp, body = call(t, r, "POST", "/userinfo", url.Values{"access_token": {"nonsense"}}, nil)
		check("a token that is not one, in the form", resp, body, invalid)

		if resp, _ := call(t, r, "POST", "/oauth/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {cfg.ClientID},
			"client_secret": {cfg.ClientSecret}}, nil); resp.StatusCode != 200 {
			t.Fatalf("revoke: got %d", resp.StatusCode)
		}
		for _, c := range []struct {
			name   string
			method string
			form   url.Values
			header http.Header
		}{
			{"revoked token", "GET", nil, bearer(tok.AccessToken)},
			{"revoked token, in the form", "POST", url.Values{"access_token": {tok.AccessToken}}, nil},
		} {
			resp, body := call(t, r, c.method, "/userinfo", c.form, c.header)
			check(c.name, resp, body, invalid)
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e); e.Error != "invalid_token" {
				t.Errorf("%s: body %q, want error invalid_token", c.name, body)
			}
		}
	})
}

// A client's failed authentication at the token, revocation and
// introspection endpoints is 401 invalid_client in OAuth's JSON with
// WWW-Authenticate: Basic (RFC 6749 5.2, which RFC 7009 2.2.1 and RFC 7662
// 2.3 refer to), whichever way the client sent its credentials.
func TestClientAuthChallenge(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config("offline_access")
		tok := r.signIn(t, r.signedIn(t, r.email), cfg)
		basic := basicAuth
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
		withSecret := func(form url.Values, id, secret string) url.Values {
			f := url.Values{"client_id": {id}, "client_secret": {secret}}
			for k, v := range form {
				f[k] = v
			}
			return f
		}
		access := url.Values{"token": {tok.AccessToken}}
		want := `Basic realm="` + r.srv.URL + `"`
		for _, c := range []struct {
			name, path string
			form       url.Values
			header     http.Header
		}{
			{"token, wrong secret, Basic", "/oauth/token", refresh, basic(cfg.ClientID, "wrong")},
			{"token, unknown client, Basic", "/oauth/token", refresh, basic("nope", "wrong")},
			{"token, wrong secret, form", "/oauth/token", withSecret(refresh, cfg.ClientID, "wrong"), nil},
			{"token, no client", "/oauth/token", refresh, nil},
			{"revocation, wrong secret, Basic", "/oauth/revoke", access, basic(cfg.ClientID, "wrong")},
			{"revocation, no client", "/oauth/revoke", access, nil},
			{"introspection, wrong secret, Basic", "/oauth/introspect", access, basic(cfg.ClientID, "wrong")},
			{"introspection, unknown client, Basic", "/oauth/introspect", access, basic("nope", "wrong")},
			{"introspection, no client", "/oauth/introspect", access, nil},
		} {
			resp, body := call(t, r, "POST", c.path, c.form, c.header)
			var e struct{ Error string }
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || e.Error != "invalid_client" {
				t.Errorf("%s: got %d, WWW-Authenticate %q, %s %q; want 401, %q, JSON invalid_client", c.name, resp.StatusCode,
					resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"), body, want)
			}
		}
		// The right secret still works everywhere.
		if resp, body := call(t, r, "POST", "/oauth/introspect", access, basic(cfg.ClientID, cfg.ClientSecret)); resp.StatusCode != 200 ||
			!strings.Contains(body, `"active":true`) {
			t.Errorf("introspection with the right secret: got %d %s", resp.StatusCode, body)
		}
		if resp, body := call(t, r, "POST", "/oauth/token", refresh, basic(cfg.ClientID, cfg.ClientSecret)); resp.StatusCode != 200 {
			t.Errorf("refresh with the right secret: got %d %s", resp.StatusCode, body)
		}
	})
}

// A revocation or an introspection without its token, a REQUIRED
// parameter (RFC 7009 2.1, RFC 7662 2.1), is 400 invalid_request.
func TestTokenParameterRequired(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config()
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
		for _, path := range []string{"/oauth/revoke", "/oauth/introspect"} {
			for _, form := range []url.Values{{}, {"token": {""}}, {"token_type_hint": {"access_token"}}} {
				resp, body := call(t, r, "POST", path, form, req.Header)
				var e struct{ Error string }
				json.Unmarshal([]byte(body), &e)
				if resp.StatusCode != http.StatusBadRequest || e.Error != "invalid_request" {
					t.Errorf("%s with %v: got %d %q, want 400 invalid_request", path, form, resp.StatusCode, body)
				}
			}
		}
	})
}
