package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

func TestSecurityHeaders(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	token := testenv.LinkToken(t, mustSetupLikeResetLink(t, s))
	for _, path := range []string{"/login", "/forgot-password", "/reset-password?token=" + token, "/settings/profile",
		"/api/v1/me", "/api/v1/openapi.json", "/api/v1/nope", "/static/app.js", "/healthz"} {
		r := c.Get(path)
		h := r.Header
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s: %s: got %q, want %q", path, name, got, want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		for _, part := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, part) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, part)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: Content-Security-Policy allows inline code: %q", path, csp)
		}
		wantReferrer := "same-origin"
		if strings.HasPrefix(path, "/reset-password") {
			wantReferrer = "no-referrer"
		}
		if got := h.Get("Referrer-Policy"); got != wantReferrer {
			t.Errorf("%s: Referrer-Policy: got %q, want %q", path, got, wantReferrer)
		}
	}
	if got := c.Get("/setup?token=" + token).Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("/setup: Referrer-Policy: got %q, want no-referrer", got)
	}
}

// mustSetupLikeResetLink mails a reset link to ada and returns it.
func mustSetupLikeResetLink(t *testing.T, s *servertest.Server) string {
	t.Helper()
	s.Client(t).PostForm("/forgot-password", map[string]string{"email": "ada@example.com"})
	return testenv.Link(t, s.SMTP.WaitFor(t, "ada@example.com", "Reset").Text)
}

func TestCrossOriginFormPostsAreRefused(t *testing.T) {
	s := startAcme(t)
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
		{"Origin": "null"},
	} {
		for _, path := range []string{"/login", "/forgot-password", "/settings/password", "/logout", "/api/v1/login", "/api/v1/password-reset"} {
			before := s.Snapshot(t)
			req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader("email=ada%40example.com&password=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if strings.HasPrefix(path, "/api/") {
				req = mustJSON(t, s.URL+path, `{"email":"ada@example.com","password":"x"}`)
			}
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Errorf("POST %s with %v: got %d, want 403", path, h, resp.StatusCode)
			}
			if after := s.Snapshot(t); after != before {
				t.Errorf("POST %s with %v changed data", path, h)
			}
		}
	}
	// The same form from this site, and a program without browser headers, pass.
	loginForm(t, s.Client(t), "ada@example.com", goodPW)
	s.Client(t).Login("ada@example.com", goodPW)
}

func mustJSON(t *testing.T, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// setCookie returns the Set-Cookie line of the named cookie.
func setCookie(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s in %v", name, resp.Header.Values("Set-Cookie"))
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		s := startAcme(t)
		for _, path := range []string{"/login", "/api/v1/login"} {
			var resp *servertest.Response
			if path == "/login" {
				resp = s.Client(t).PostForm(path, map[string]string{"email": "ada@example.com", "password": goodPW})
			} else {
				resp = s.Client(t).Do("POST", path, map[string]string{"email": "ada@example.com", "password": goodPW})
			}
			ck := setCookie(t, resp.Response, "gatehouse_session")
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure || ck.Domain != "" {
				t.Errorf("%s: cookie %s, want HttpOnly, SameSite=Lax, Path=/, no Domain", path, ck.String())
			}
		}
	})
	t.Run("https", func(t *testing.T) {
		s := startAcme(t, servertest.WithOptions(func(o *server.Options) { o.PublicURL = "https://login.example.com" }))
		// A browser behind the TLS proxy: the Origin is the public one.
		req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader("email=ada%40example.com&password="+url.QueryEscape(goodPW)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://login.example.com")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 {
			t.Fatalf("login: got %d, want 303", resp.StatusCode)
		}
		ck := setCookie(t, resp, "__Host-gatehouse_session")
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("cookie %s, want HttpOnly, Secure, SameSite=Lax, Path=/, no Domain", ck.String())
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got == "" {
			t.Errorf("Strict-Transport-Security: none, want one behind https")
		}
		// The prefixed cookie authenticates; the plain name does not.
		for name, want := range map[string]int{"__Host-gatehouse_session": 200, "gatehouse_session": 303} {
			req, _ := http.NewRequest("GET", s.URL+"/settings/profile", nil)
			req.AddCookie(&http.Cookie{Name: name, Value: ck.Value})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("profile with cookie %s: got %d, want %d", name, resp.StatusCode, want)
			}
		}
	})
}

// evilNexts are redirect targets that leave the site, as typed into
// ?next= (before URL encoding).
var evilNexts = []string{
	"//evil.example",
	"//evil.example/settings",
	"/\\evil.example",
	"\\\\evil.example",
	"/\\/evil.example",
	"%2F%5Cevil.example",
	"%2F%2Fevil.example",
	"javascript:alert(1)",
	"JaVaScRiPt:alert(1)",
	"https://evil.example",
	"http:evil.example",
	"https:/evil.example",
	"/\t/evil.example",
	"/\r\n/evil.example",
	" //evil.example",
	"///evil.example",
	"/%2F/evil.example",
	"/login?next=//evil.example",
	"evil.example",
	"data:text/html,<script>alert(1)</script>",
}

// onSite reports whether a Location stays on base.
func onSite(base, location string) bool {
	if location == "" || !strings.HasPrefix(location, "/") || strings.HasPrefix(location, "//") || strings.ContainsAny(location, "\\\t\r\n") {
		return false
	}
	b, _ := url.Parse(base)
	u, err := b.Parse(location)
	return err == nil && u.Scheme == b.Scheme && u.Host == b.Host
}

func TestRedirectsStayOnSite(t *testing.T) {
	s := startAcme(t)
	for _, next := range evilNexts {
		c := s.Client(t)
		r := c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": goodPW, "next": next})
		if loc := r.Header.Get("Location"); r.StatusCode != 303 || loc != "/settings/profile" {
			t.Errorf("login with next %q: got %d to %q, want 303 to /settings/profile", next, r.StatusCode, loc)
		}
		page := c.Get("/login?next=" + url.QueryEscape(next))
		if !strings.Contains(string(page.Body), `<input type="hidden" name="next" value="">`) {
			t.Errorf("login page with next %q: the form carries the target on", next)
		}
		paths := []string{"/lang/en?next=" + url.QueryEscape(next)}
		if !strings.ContainsAny(next, " \t\r\n<>") {
			paths = append(paths, "/lang/en?next="+next) // as typed, unencoded
		}
		for _, path := range paths {
			r := c.Get(path)
			if loc := r.Header.Get("Location"); !onSite(s.URL, loc) {
				t.Errorf("GET %s: got %d to %q, want a redirect on this site", path, r.StatusCode, loc)
			}
		}
	}
	// Good targets are kept.
	c := s.Client(t)
	if page := c.Get("/login?next=%2Fsettings%2Fsessions"); !strings.Contains(string(page.Body), `name="next" value="/settings/sessions"`) {
		t.Errorf("login page with a good next: the form lost it")
	}
	r := c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": goodPW, "next": "/settings/sessions?x=1"})
	wantRedirect(t, "login with a good next", r, "/settings/sessions?x=1")
}
