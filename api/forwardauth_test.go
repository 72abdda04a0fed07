package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// faWorld is a server with apps for forward auth: Acme's wiki (every Acme
// user), its admin panel (admins only), its vault (a second factor
// required), and Beta's tool; Ada is Acme's admin, Bob a member.
type faWorld struct {
	s                   *servertest.Server
	acme, beta          string
	ada, bob            string // session tokens
	adaID, bobID        string
	wiki, admin, vault  *gatehouse.Application
	betaTool            *gatehouse.Application
	adaClient, bobAgent *servertest.Client
}

func newFAWorld(t *testing.T, opts ...servertest.Option) *faWorld {
	t.Helper()
	w := &faWorld{s: servertest.Start(t, opts...)}
	w.acme, w.adaID = w.s.Company(t, "Acme", "ada@example.com", goodPW)
	w.beta, _ = w.s.Company(t, "Beta", "bea@example.com", goodPW)
	w.bobID = w.s.AddUser(t, w.acme, "bob@example.com", goodPW, gatehouse.RoleMember)
	svc := w.s.Service()
	mk := func(company, name string, na auth.NewApplication) *gatehouse.Application {
		na.Name = name
		created, err := svc.OperatorCreateApplication(context.Background(), company, na, auth.Client{})
		if err != nil {
			t.Fatalf("create app %s: %v", name, err)
		}
		return created.Application
	}
	w.wiki = mk(w.acme, "Wiki", auth.NewApplication{ForwardAuthHosts: []string{"wiki.example.com"}})
	w.admin = mk(w.acme, "Admin", auth.NewApplication{ForwardAuthHosts: []string{"admin.example.com"}, RequireRole: gatehouse.RoleAdmin})
	w.vault = mk(w.acme, "Vault", auth.NewApplication{ForwardAuthHosts: []string{"vault.example.com"}, RequireMFA: true})
	w.betaTool = mk(w.beta, "Beta tool", auth.NewApplication{ForwardAuthHosts: []string{"beta.example.com"}})
	w.adaClient = w.s.Client(t)
	w.ada = w.adaClient.Login("ada@example.com", goodPW)
	w.bobAgent = w.s.Client(t)
	w.bob = w.bobAgent.Login("bob@example.com", goodPW)
	return w
}

// check asks an endpoint as a proxy would, with the session token as the
// cookie when it is not empty.
func (w *faWorld) check(t *testing.T, path, token string, header map[string]string) *servertest.Response {
	t.Helper()
	h := map[string]string{}
	for k, v := range header {
		h[k] = v
	}
	if token != "" {
		h["Cookie"] = "gatehouse_session=" + token
	}
	req, err := http.NewRequest("GET", w.s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	servertest.CheckExchange(t, req, nil, resp, b)
	return &servertest.Response{Response: resp, Body: b}
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func forwarded(method, proto, host, uri, accept string) map[string]string {
	h := map[string]string{"X-Forwarded-Method": method, "X-Forwarded-Host": host, "X-Forwarded-Uri": uri}
	if proto != "" { // "": a proxy that sends none
		h["X-Forwarded-Proto"] = proto
	}
	if accept != "" {
		h["Accept"] = accept
	}
	return h
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

var identityHeaders = []string{api.HeaderRemoteUser, api.HeaderRemoteEmail, api.HeaderRemoteName, api.HeaderRemoteGroups,
	api.HeaderRemoteUserID, api.HeaderRemoteCompanyID}

// wantIdentity fails unless r is a 200 with every identity header, once,
// holding the user's values.
func wantIdentity(t *testing.T, what string, r *servertest.Response, want map[string]string) {
	t.Helper()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%s: got %d %s, want 200", what, r.StatusCode, r.Body)
	}
	for _, h := range identityHeaders {
		if got := r.Header.Values(h); len(got) != 1 || got[0] != want[h] {
			t.Errorf("%s: %s: got %q, want exactly [%q]", what, h, got, want[h])
		}
	}
}

func TestForwardAuth(t *testing.T) {
	w := newFAWorld(t)
	adaHeaders := map[string]string{api.HeaderRemoteUser: "ada@example.com", api.HeaderRemoteEmail: "ada@example.com",
		api.HeaderRemoteName: "ada", api.HeaderRemoteGroups: "admin", api.HeaderRemoteUserID: w.adaID, api.HeaderRemoteCompanyID: w.acme}
	bobHeaders := map[string]string{api.HeaderRemoteUser: "bob@example.com", api.HeaderRemoteEmail: "bob@example.com",
		api.HeaderRemoteName: w.userName(t, w.bobID), api.HeaderRemoteGroups: "member", api.HeaderRemoteUserID: w.bobID,
		api.HeaderRemoteCompanyID: w.acme}

	const fa, ar = "/authz/forward-auth", "/authz/auth-request"
	for _, tt := range []struct {
		name   string
		path   string
		token  string
		header map[string]string
		status int
		want   map[string]string // identity headers of a 200
	}{
		{"admin into the wiki", fa, w.ada, forwarded("GET", "https", "wiki.example.com", "/", browserAccept), 200, adaHeaders},
		{"member into the wiki", fa, w.bob, forwarded("POST", "https", "wiki.example.com", "/api/x", "application/json"), 200, bobHeaders},
		{"host in capitals with a port", fa, w.ada, forwarded("GET", "https", "WIKI.Example.COM:8443", "/", ""), 200, adaHeaders},
		{"the client's own Remote-User is not echoed", fa, w.bob, merge(forwarded("GET", "https", "wiki.example.com", "/", ""),
			map[string]string{"Remote-User": "ada@example.com", "Remote-Groups": "admin"}), 200, bobHeaders},
		{"admin into the admin panel", fa, w.ada, forwarded("GET", "https", "admin.example.com", "/", ""), 200, adaHeaders},
		{"member into the admin panel", fa, w.bob, forwarded("GET", "https", "admin.example.com", "/", browserAccept), 403, nil},
		{"no second factor into the vault", fa, w.ada, forwarded("GET", "https", "vault.example.com", "/", browserAccept), 403, nil},
		{"another company's app", fa, w.ada, forwarded("GET", "https", "beta.example.com", "/", browserAccept), 403, nil},
		{"an unknown host", fa, w.ada, forwarded("GET", "https", "unknown.example.com", "/", browserAccept), 403, nil},
		{"an unknown host, signed out", fa, "", forwarded("GET", "https", "unknown.example.com", "/", browserAccept), 403, nil},
		{"a suffix of a host", fa, w.ada, forwarded("GET", "https", "example.com", "/", ""), 403, nil},
		{"a subdomain of a host", fa, w.ada, forwarded("GET", "https", "x.wiki.example.com", "/", ""), 403, nil},
		{"two hosts", fa, w.ada, forwarded("GET", "https", "wiki.example.com, evil.example.com", "/", ""), 403, nil},
		{"user@host", fa, w.ada, forwarded("GET", "https", "evil@wiki.example.com", "/", ""), 403, nil},
		{"a bad port", fa, w.ada, forwarded("GET", "https", "wiki.example.com:http", "/", ""), 403, nil},
		{"a garbage cookie", fa, "garbage", forwarded("GET", "https", "wiki.example.com", "/", ""), 401, nil},
		{"no host", fa, w.ada, forwarded("GET", "https", "", "/", ""), 400, nil},
		{"a bad proto", fa, w.ada, forwarded("GET", "gopher", "wiki.example.com", "/", ""), 400, nil},
		{"a bad uri", fa, w.ada, forwarded("GET", "https", "wiki.example.com", "http://evil.example.com/", ""), 400, nil},
		{"nothing forwarded", fa, w.ada, nil, 400, nil},

		{"nginx: admin into the wiki", ar, w.ada, map[string]string{"X-Original-URL": "https://wiki.example.com/x?y=1", "X-Original-Method": "GET"}, 200, adaHeaders},
		{"nginx: member into the admin panel", ar, w.bob, map[string]string{"X-Original-URL": "https://admin.example.com/"}, 403, nil},
		{"nginx: an unknown host", ar, w.ada, map[string]string{"X-Original-URL": "https://unknown.example.com/"}, 403, nil},
		{"nginx: user@host", ar, w.ada, map[string]string{"X-Original-URL": "https://evil@wiki.example.com/"}, 403, nil},
		{"nginx: no URL", ar, w.ada, nil, 400, nil},
		{"nginx: a relative URL", ar, w.ada, map[string]string{"X-Original-URL": "/x"}, 400, nil},
		{"nginx: //host", ar, w.ada, map[string]string{"X-Original-URL": "//wiki.example.com/x"}, 400, nil},
		{"nginx: javascript:", ar, w.ada, map[string]string{"X-Original-URL": "javascript:alert(1)"}, 400, nil},
		{"nginx: no host", ar, w.ada, map[string]string{"X-Original-URL": "https:///x"}, 400, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := w.check(t, tt.path, tt.token, tt.header)
			if tt.status == 200 {
				wantIdentity(t, tt.name, r, tt.want)
				if r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control: got %q, want no-store", r.Header.Get("Cache-Control"))
				}
				// Only the proxy reads a 200: it carries no header
				// meant for a browser.
				for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
					if v := r.Header.Get(h); v != "" {
						t.Errorf("a 200 carries %s: %q", h, v)
					}
				}
				return
			}
			if r.StatusCode != tt.status || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("got %d %s %s, want %d problem", r.StatusCode, r.Header.Get("Content-Type"), r.Body, tt.status)
			}
			// Traefik and Caddy hand any other answer to the browser.
			if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("a %d lacks the security headers: %v", r.StatusCode, r.Header)
			}
			for _, h := range identityHeaders {
				if r.Header.Get(h) != "" {
					t.Errorf("a %d carries %s: %q", r.StatusCode, h, r.Header.Get(h))
				}
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func (w *faWorld) userName(t *testing.T, id string) string {
	t.Helper()
	var name string
	err := w.s.App.DB.View(context.Background(), func(tx gatehouse.Tx) error {
		u, err := tx.User(id)
		if err == nil {
			name = u.Name
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// Without a session: a browser's navigation is sent to the login page
// (302 for forward-auth), anything else answers 401; nginx's endpoint
// always answers 401, with the login page in Location. The login page
// carries the original URL as rd, unless it is too long to carry.
func TestForwardAuthSignedOut(t *testing.T) {
	w := newFAWorld(t)
	login := func(original string) string {
		return w.s.URL + "/login?" + url.Values{"rd": {original}}.Encode()
	}
	for _, tt := range []struct {
		name     string
		path     string
		header   map[string]string
		status   int
		location string
	}{
		{"browser GET", "/authz/forward-auth", forwarded("GET", "https", "wiki.example.com", "/page?x=1&y=%2F", browserAccept), 302,
			login("https://wiki.example.com/page?x=1&y=%2F")},
		{"browser HEAD", "/authz/forward-auth", forwarded("HEAD", "http", "Wiki.example.com:8080", "/", browserAccept), 302,
			login("http://Wiki.example.com:8080/")},
		{"browser POST", "/authz/forward-auth", forwarded("POST", "https", "wiki.example.com", "/form", browserAccept), 401,
			login("https://wiki.example.com/form")},
		{"fetch of JSON", "/authz/forward-auth", forwarded("GET", "https", "wiki.example.com", "/api", "application/json"), 401,
			login("https://wiki.example.com/api")},
		{"no Accept", "/authz/forward-auth", forwarded("GET", "https", "wiki.example.com", "/", ""), 401, login("https://wiki.example.com/")},
		{"no proto means https", "/authz/forward-auth", forwarded("GET", "", "wiki.example.com", "/", browserAccept), 302,
			login("https://wiki.example.com/")},
		{"a 64 KB URI", "/authz/forward-auth", forwarded("GET", "https", "wiki.example.com", "/"+strings.Repeat("a", 64<<10), browserAccept), 302,
			w.s.URL + "/login"},
		{"nginx GET", "/authz/auth-request", map[string]string{"X-Original-URL": "https://wiki.example.com/x", "X-Original-Method": "GET",
			"Accept": browserAccept}, 401, login("https://wiki.example.com/x")},
		{"nginx POST", "/authz/auth-request", map[string]string{"X-Original-URL": "https://wiki.example.com/x", "X-Original-Method": "POST"}, 401,
			login("https://wiki.example.com/x")},
		{"nginx: a 64 KB URL", "/authz/auth-request", map[string]string{"X-Original-URL": "https://wiki.example.com/" + strings.Repeat("a", 64<<10)},
			401, w.s.URL + "/login"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := w.check(t, tt.path, "", tt.header)
			if r.StatusCode != tt.status || r.Header.Get("Location") != tt.location {
				t.Fatalf("got %d Location %q, want %d %q", r.StatusCode, r.Header.Get("Location"), tt.status, tt.location)
			}
			if tt.status == 401 && r.Code(t) != gatehouse.EUnauthenticated {
				t.Errorf("401's code: got %q", r.Code(t))
			}
			for _, h := range identityHeaders {
				if r.Header.Get(h) != "" {
					t.Errorf("a %d carries %s", r.StatusCode, h)
				}
			}
		})
	}
}

// A session that ends is refused at the very next check: nothing is
// cached past a logout, a password change, a disabled account, and an app
// deleted stops admitting at once.
func TestForwardAuthRevocation(t *testing.T) {
	w := newFAWorld(t)
	wiki := forwarded("GET", "https", "wiki.example.com", "/", "")
	want := func(what, token string, status int) {
		t.Helper()
		for range 2 { // the second check after the first one's state
			if r := w.check(t, "/authz/forward-auth", token, wiki); r.StatusCode != status {
				t.Fatalf("%s: got %d %s, want %d", what, r.StatusCode, r.Body, status)
			}
		}
	}
	want("signed in", w.ada, 200)

	// Logout.
	w.adaClient.Token = w.ada
	if r := w.adaClient.Do("POST", "/api/v1/logout", nil); r.StatusCode != 204 {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	want("after logout", w.ada, 401)

	// A password change ends the other sessions.
	other := w.s.Client(t).Login("bob@example.com", goodPW)
	want("bob signed in twice", other, 200)
	w.bobAgent.Token = w.bob
	if r := w.bobAgent.Do("POST", "/api/v1/me/password", map[string]string{"current_password": goodPW, "new_password": otherPW,
		"confirm_password": otherPW}); r.StatusCode != 204 {
		t.Fatalf("password change: %d %s", r.StatusCode, r.Body)
	}
	want("bob's other session after his password change", other, 401)

	// Disabled by an admin.
	ada := w.s.Client(t)
	ada.Token = ada.Login("ada@example.com", goodPW)
	bob := w.s.Client(t).Login("bob@example.com", otherPW)
	want("bob signed in again", bob, 200)
	if r := ada.Do("PATCH", "/api/v1/company/users/"+w.bobID, map[string]any{"disabled": true}); r.StatusCode != 200 {
		t.Fatalf("disable: %d %s", r.StatusCode, r.Body)
	}
	want("bob disabled", bob, 401)

	// The app deleted.
	want("ada before the app is deleted", ada.Token, 200)
	if err := w.s.Service().OperatorDeleteApplication(context.Background(), w.wiki.ClientID, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	want("the app deleted", ada.Token, 403)
}

// An app that requires MFA asks how the session signed in: Bob's
// password-only session stays out of the vault after he turns on an
// authenticator app elsewhere (403 pointing at the login page, which asks
// for the code), and a session that gave the code gets in.
func TestForwardAuthMFAIsTheSessions(t *testing.T) {
	w := newFAWorld(t)
	vault := forwarded("GET", "https", "vault.example.com", "/secrets", browserAccept)
	elsewhere := w.s.Client(t)
	elsewhere.Token = elsewhere.Login("bob@example.com", goodPW)
	secret, _ := enableTOTP(t, w.s, elsewhere)
	for _, tt := range []struct{ what, token string }{
		{"the session from before", w.bob},
		{"the session that enrolled", elsewhere.Token},
	} {
		r := w.check(t, "/authz/forward-auth", tt.token, vault)
		login := w.s.URL + "/login?" + url.Values{"rd": {"https://vault.example.com/secrets"}}.Encode()
		if r.StatusCode != 403 || r.Code(t) != gatehouse.EForbidden || !strings.Contains(r.Str(t, "title"), login) {
			t.Errorf("%s: got %d %s, want 403 naming %s", tt.what, r.StatusCode, r.Body, login)
		}
	}
	withCode := loginWithCode(t, w.s, "bob@example.com", secret)
	if r := w.check(t, "/authz/forward-auth", withCode, vault); r.StatusCode != 200 {
		t.Fatalf("a session that gave the code: got %d %s, want 200", r.StatusCode, r.Body)
	}
	if r := w.check(t, "/authz/auth-request", withCode, map[string]string{"X-Original-URL": "https://vault.example.com/"}); r.StatusCode != 200 {
		t.Fatalf("nginx, a session that gave the code: got %d %s, want 200", r.StatusCode, r.Body)
	}
}
