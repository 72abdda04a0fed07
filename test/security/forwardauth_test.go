package security_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Forward auth (docs/SECURITY.md): a reverse proxy asks before each
// request to a protected app. An attacker controls the original request:
// its cookie, its Accept, and (through a careless proxy) the forwarded
// headers. Nothing of it may open an app to someone it does not admit,
// the login page is the only place a caller without a session is sent,
// and no answer but a 200 carries an identity.

var identityHeaderNames = []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups", "Remote-User-Id", "Remote-Company-Id"}

// proxyAsk sends a proxy route the request headers for the original URL
// original, with the session cookie token (none when empty) and extra
// headers.
func proxyAsk(t *testing.T, s *servertest.Server, r route, original, token string, extra map[string]string) *servertest.Response {
	t.Helper()
	h := map[string]string{}
	if i := strings.Index(original, "://"); i >= 0 {
		proto, rest, _ := strings.Cut(original, "://")
		host, uri := rest, "/"
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			host, uri = rest[:j], rest[j:]
		}
		if r.Pattern == "/authz/auth-request" {
			h["X-Original-URL"], h["X-Original-Method"] = original, "GET"
		} else {
			h["X-Forwarded-Proto"], h["X-Forwarded-Host"], h["X-Forwarded-Uri"], h["X-Forwarded-Method"] = proto, host, uri, "GET"
		}
	}
	if token != "" {
		h["Cookie"] = "gatehouse_session=" + token
	}
	for k, v := range extra {
		h[k] = v
	}
	return send(t, s, r.Method, r.Pattern, "", nil, h)
}

func wantNoIdentity(t *testing.T, what string, r *servertest.Response) {
	t.Helper()
	for _, h := range identityHeaderNames {
		if v := r.Header.Values(h); len(v) != 0 {
			t.Errorf("%s: a %d carries %s: %q", what, r.StatusCode, h, v)
		}
	}
}

// forwardAuthWorld registers Acme's tool and Bolt's tool.
func forwardAuthWorld(t *testing.T, w *world) {
	t.Helper()
	for company, host := range map[string]string{w.acme: "tool.acme.example", w.bolt: "tool.bolt.example"} {
		if _, err := w.s.Service().OperatorCreateApplication(context.Background(), company,
			auth.NewApplication{Name: host, ForwardAuthHosts: []string{host}}, auth.Client{}); err != nil {
			t.Fatal(err)
		}
	}
}

// Nothing but a completed login of a user the app admits passes: not a
// challenge of a login in progress (as the cookie), not the session of
// another company's user, of a disabled user, or a session sent as a
// bearer token (the proxy forwards the app's own Authorization).
func TestForwardAuthAdmitsOnlyALiveSessionOfTheApp(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		forwardAuthWorld(t, w)
		mia := w.api(t, "mia@acme.example") // before pendingLogins turns her 2FA on
		pending := pendingLogins(t, w)
		bob := w.api(t, "bob@bolt.example")
		before := w.s.Snapshot(t)
		const tool = "https://tool.acme.example/x"
		for _, r := range proxyRoutes() {
			for state, ch := range pending {
				resp := proxyAsk(t, w.s, r, tool, ch, nil)
				if resp.StatusCode != 401 {
					t.Errorf("%s with a %s challenge as the cookie: got %d, want 401", r, state, resp.StatusCode)
				}
				wantNoIdentity(t, r.String(), resp)
			}
			for what, c := range map[string]struct {
				token  string
				header map[string]string
				status int
			}{
				"another company's session":        {bob.Token, nil, 403},
				"the session as a bearer token":    {"", map[string]string{"Authorization": "Bearer " + mia.Token}, 401},
				"the session under the other name": {"", map[string]string{"Cookie": "__Host-gatehouse_session=" + mia.Token}, 401},
				"a forged identity header":         {"", map[string]string{"Remote-User": "ada@acme.example"}, 401},
			} {
				resp := proxyAsk(t, w.s, r, tool, c.token, c.header)
				if resp.StatusCode != c.status {
					t.Errorf("%s with %s: got %d %s, want %d", r, what, resp.StatusCode, clip(resp.Body), c.status)
				}
				wantNoIdentity(t, r.String()+" with "+what, resp)
			}
			if resp := proxyAsk(t, w.s, r, tool, mia.Token, nil); resp.StatusCode != 200 || resp.Header.Get("Remote-User") != "mia@acme.example" {
				t.Errorf("%s with Mia's session: got %d %q, want 200 as Mia", r, resp.StatusCode, resp.Header.Get("Remote-User"))
			}
		}
		if after := w.s.Snapshot(t); after != before {
			t.Errorf("the checks changed the data:\nbefore %s\nafter %s", before, after)
		}
	})
}

// Hostile forwarded headers: a clear 4xx problem, never a 500, never an
// identity, and the login page is the only place a redirect goes.
func TestForwardAuthHostileHeaders(t *testing.T) {
	w := newWorld(t)
	forwardAuthWorld(t, w)
	mia := w.api(t, "mia@acme.example")
	before := w.s.Snapshot(t)
	long := strings.Repeat("a", 64<<10)
	for _, r := range proxyRoutes() {
		for _, original := range []string{
			"https://tool.acme.example/" + long, "https://" + long + ".example/", "https://tool.acme.example:99999/",
			"https://tool.acme.example:-1/", "https://[::1]/", "https://tool.acme.example%2F@evil.example/",
			"https://evil.example#@tool.acme.example/", "https://evil.example\\@tool.acme.example/", "https://tool.acme.example,evil.example/",
			"https://tóol.acme.example/", "https:///", "https://@/", "javascript://tool.acme.example/", "//tool.acme.example/",
			"gopher://tool.acme.example/", "", "https://TOOL.ACME.EXAMPLE.:443/",
		} {
			for _, token := range []string{"", mia.Token} {
				resp := proxyAsk(t, w.s, r, original, token, map[string]string{"Accept": "text/html"})
				what := fmt.Sprintf("%s for %q (signed in %v)", r, clip([]byte(original)), token != "")
				switch {
				case resp.StatusCode == 200:
					if !strings.HasPrefix(strings.ToLower(original), "https://tool.acme.example") || token == "" {
						t.Errorf("%s: got 200", what)
					}
					continue
				case resp.StatusCode >= 500 || resp.StatusCode < 300:
					t.Errorf("%s: got %d %s", what, resp.StatusCode, clip(resp.Body))
				}
				if loc := resp.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, w.s.URL+"/login") {
					t.Errorf("%s: Location %q, want only the login page", what, loc)
				}
				wantNoIdentity(t, what, resp)
			}
		}
	}
	if after := w.s.Snapshot(t); after != before {
		t.Errorf("the checks changed the data:\nbefore %s\nafter %s", before, after)
	}
}
