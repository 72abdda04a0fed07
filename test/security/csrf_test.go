package security_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Threat: another site makes the victim's browser act — a form, a
// text/plain "JSON" post, a fetch — with the victim's cookie; or signs the
// victim in as the attacker (login CSRF); or a link sends the victim on to
// a site of the attacker's after login (open redirect). And a GET that
// changes state would be reachable from any <img> or link.

// crossSite are the ways a browser marks a request made by another site:
// Fetch Metadata, and the Origin of browsers without it.
var crossSite = []map[string]string{
	{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
	{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.acme.example"}, // a sibling subdomain
	{"Origin": "https://evil.example"},
	{"Origin": "null"}, // a sandboxed frame or a redirect chain
}

// TestCrossSiteRequestsChangeNothing sends every state-changing route a
// cross-site request carrying the victim's cookie — as a form, as JSON in
// text/plain (which needs no preflight), as JSON — and wants 403 with
// nothing changed and no cookie set.
func TestCrossSiteRequestsChangeNothing(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		victim := w.browser(t, "ada@acme.example")
		sessions := victim.Get("/api/v1/me/sessions").JSON(t)["sessions"].([]any)
		v := ids{User: w.mia, Session: sessions[0].(map[string]any)["id"].(string)}
		cookie := sessionCookieHeader(victim.SessionCookie())
		before := w.s.Snapshot(t)
		bodies := []struct{ contentType, body string }{
			{"application/x-www-form-urlencoded", "email=eve%40evil.example&password=" + url.QueryEscape(pw) + "&name=Eve&role=admin&disabled=true"},
			{"text/plain", `{"email":"eve@evil.example","password":"` + pw + `","name":"Eve","role":"admin","disabled":true}`},
			{"application/json", `{"name":"Eve"}`},
		}
		n := 0
		for _, r := range append(apiRoutes(), pageRoutes()...) {
			if !changesState(r.Method) {
				continue
			}
			for _, h := range crossSite {
				for _, b := range bodies {
					header := map[string]string{"Cookie": cookie}
					for k, v := range h {
						header[k] = v
					}
					resp := send(t, w.s, r.Method, r.path(v), b.contentType, []byte(b.body), header)
					if resp.StatusCode != 403 {
						t.Errorf("%s from %v as %s: got %d %s, want 403", r, h, b.contentType, resp.StatusCode, clip(resp.Body))
					}
					if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
						t.Errorf("%s from %v: a refused request set cookies %v", r, h, c)
					}
					n++
				}
			}
		}
		if after := w.s.Snapshot(t); after != before {
			t.Errorf("cross-site requests changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if n < 100 {
			t.Fatalf("only %d cross-site requests: the route list looks wrong", n)
		}
		// The victim's session is intact, and the same requests from the
		// site itself still work.
		wantStatus(t, "victim after the attacks", victim.Get("/api/v1/me"), 200)
		formLogin(t, w.s.Client(t), "mia@acme.example", pw)
	})
}

// A program's JSON endpoints take application/json only: without browser
// headers (nothing to check an origin by) a text/plain body, which a
// cross-site form could send, is refused before anything happens.
func TestJSONEndpointsRefuseSimpleContentTypes(t *testing.T) {
	w := newWorld(t)
	victim := w.browser(t, "ada@acme.example")
	cookie := sessionCookieHeader(victim.SessionCookie())
	before := w.s.Snapshot(t)
	for _, r := range apiRoutes() {
		if !changesState(r.Method) {
			continue
		}
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			resp := send(t, w.s, r.Method, r.path(ids{User: w.mia, Session: "x"}), ct, []byte(`{"name":"Eve"}`), map[string]string{"Cookie": cookie})
			if resp.StatusCode != 415 && resp.StatusCode != 401 {
				t.Errorf("%s as %s with a cookie: got %d %s, want 415", r, ct, resp.StatusCode, clip(resp.Body))
			}
		}
	}
	if after := w.s.Snapshot(t); after != before {
		t.Errorf("simple content types changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestGETChangesNothing fetches every GET route as a signed-in admin, as
// a browser in the middle of a login, and with live reset and setup links:
// no GET changes data (the audit export records itself, and only that),
// and a link opened (by a person or a mail scanner) still works after.
func TestGETChangesNothing(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		ada := w.api(t, "ada@acme.example")
		adaWeb := w.browser(t, "ada@acme.example")
		secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
		pending := w.s.Client(t) // Mia's browser, between password and code
		wantStatus(t, "Mia's password step", pending.PostForm("/login", map[string]string{"email": "mia@acme.example", "password": pw}), 303)
		wantStatus(t, "reset request", w.s.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": "ben@bolt.example"}), 202)
		token := testenv.LinkToken(t, w.s.SMTP.WaitFor(t, "ben@bolt.example", "Reset").Text)
		w.s.WaitQuiet(t)
		challengeCookie := cookieValue(pending, w.s.URL, httpx.ChallengeCookieName)

		before := w.s.Snapshot(t)
		v := ids{User: w.mia, Session: "x"}
		for _, r := range apiRoutes() {
			if r.Method == "GET" && !strings.HasSuffix(r.Pattern, "/export") {
				ada.Get(r.path(v))
			}
		}
		for _, r := range pageRoutes() {
			if r.Method != "GET" {
				continue
			}
			for _, c := range []*servertest.Client{adaWeb, pending} {
				c.Get(r.path(v))
				c.Get(r.path(v) + "?token=" + token + "&next=/settings/sessions&recovery=1")
			}
		}
		if after := w.s.Snapshot(t); after != before {
			t.Errorf("GET requests changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		wantStatus(t, "export", ada.Get("/api/v1/company/audit-events/export"), 200)
		after := w.s.Snapshot(t)
		if strip(after, "audit_events=") != strip(before, "audit_events=") {
			t.Errorf("the export changed more than the audit log:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		// The link still works, and so does Mia's login in progress.
		r := w.s.Client(t).Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token, "new_password": otherPW, "confirm_password": otherPW})
		wantStatus(t, "the link after every GET", r, 204)
		// (A page of another step drops the browser's challenge cookie; the
		// challenge itself must still be there.)
		pending.HTTP.Jar.SetCookies(mustURL(t, w.s.URL), []*http.Cookie{{Name: httpx.ChallengeCookieName, Value: challengeCookie, Path: "/"}})
		alignClock(w.s)
		r = pending.PostForm("/login/2fa", map[string]string{"code": codeAt(w.s, secret, 0)})
		if r.StatusCode != 303 || r.Header.Get("Location") != "/settings/profile" {
			t.Errorf("Mia's code after every GET: got %d to %q, want 303 to /settings/profile", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

// strip removes the line that starts with prefix from a snapshot.
func strip(snapshot, prefix string) string {
	var out []string
	for _, l := range strings.Split(snapshot, "\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Login CSRF: another site posts the attacker's credentials to the login
// form so that the victim works in the attacker's account. Refused, and
// no session cookie reaches the victim's browser.
func TestLoginCSRFIsRefused(t *testing.T) {
	w := newWorld(t)
	form := "email=bob%40bolt.example&password=" + url.QueryEscape(pw)
	for _, h := range crossSite {
		r := send(t, w.s, "POST", "/login", "application/x-www-form-urlencoded", []byte(form), h)
		if r.StatusCode != 403 || len(r.Header.Values("Set-Cookie")) > 0 {
			t.Errorf("cross-site login from %v: got %d with cookies %v, want 403 and none", h, r.StatusCode, r.Header.Values("Set-Cookie"))
		}
	}
}

// Open redirects through the 2FA step: the target given at the password
// step travels on to the code step, and every evil one is dropped on the
// way (TestRedirectsStayOnSite in package web tries them on the login
// form itself and on the language switch).
func TestRedirectsAfterTheSecondFactorStayOnSite(t *testing.T) {
	w := newWorld(t)
	secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
	for _, next := range []string{"//evil.example", "/\\evil.example", "%2F%5Cevil.example", "/%2F%5Cevil.example", "javascript:alert(1)",
		"https://evil.example", "/\t/evil.example", "\\/evil.example", "/settings/sessions"} {
		alignClock(w.s)
		c := w.s.Client(t)
		r := c.PostForm("/login", map[string]string{"email": "mia@acme.example", "password": pw, "next": next})
		step := r.Header.Get("Location")
		if !strings.HasPrefix(step, "/login/2fa") {
			t.Fatalf("password step with next %q: got %d to %q, want the 2FA page", next, r.StatusCode, step)
		}
		carried := ""
		if u, err := url.Parse(step); err == nil {
			carried = u.Query().Get("next")
		}
		r = c.PostForm("/login/2fa", map[string]string{"code": codeAt(w.s, secret, 0), "next": carried})
		loc := r.Header.Get("Location")
		want := "/settings/profile"
		if next == "/settings/sessions" {
			want = next
		}
		if r.StatusCode != 303 || loc != want {
			t.Errorf("code step with next %q: got %d to %q, want 303 to %q", next, r.StatusCode, loc, want)
		}
		w.s.Clock.Advance(30e9)
	}
}
