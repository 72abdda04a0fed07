package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// With --cookie-domain the session cookie is set for the domain (named
// __Secure-, since __Host- forbids a Domain) and cleared for it; forward
// auth reads it; the other cookies stay on Gatehouse's host.
func TestCookieDomain(t *testing.T) {
	s := servertest.Start(t, servertest.WithOptions(func(o *server.Options) {
		o.PublicURL, o.CookieDomain = "https://login.example.com", "example.com"
	}))
	companyID, _ := s.Company(t, "Acme", "ada@example.com", testenv.GoodPassword)
	if _, err := s.Service().OperatorCreateApplication(context.Background(), companyID,
		auth.NewApplication{Name: "Wiki", ForwardAuthHosts: []string{"wiki.example.com"}}, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	c := s.Client(t)
	r := c.Do("POST", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": testenv.GoodPassword})
	var session *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == "__Secure-gatehouse_session" {
			session = ck
		}
	}
	if session == nil || session.Domain != "example.com" || !session.Secure || !session.HttpOnly ||
		session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Fatalf("login's session cookie: got %v, want __Secure-gatehouse_session for example.com, Secure, HttpOnly, Lax", r.Header.Values("Set-Cookie"))
	}

	check := func(cookie string) int {
		req, _ := http.NewRequest("GET", s.URL+"/authz/forward-auth", nil)
		req.Header.Set("X-Forwarded-Host", "wiki.example.com")
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := check("__Secure-gatehouse_session=" + session.Value); got != 200 {
		t.Errorf("forward auth with the domain cookie: got %d, want 200", got)
	}
	if got := check("__Host-gatehouse_session=" + session.Value); got != 401 {
		t.Errorf("forward auth with the host cookie's name: got %d, want 401", got)
	}

	c.Token = r.Str(t, "session_token")
	out := c.Do("POST", "/api/v1/logout", nil)
	cleared := false
	for _, v := range out.Header.Values("Set-Cookie") {
		cleared = cleared || strings.HasPrefix(v, "__Secure-gatehouse_session=;") && strings.Contains(v, "Domain=example.com") &&
			strings.Contains(v, "Max-Age=0")
	}
	if !cleared {
		t.Errorf("logout: got Set-Cookie %q, want the domain cookie cleared", out.Header.Values("Set-Cookie"))
	}
	if got := check("__Secure-gatehouse_session=" + session.Value); got != 401 {
		t.Errorf("forward auth after logout: got %d, want 401", got)
	}
}

func TestCheckCookieDomain(t *testing.T) {
	for _, tt := range []struct {
		domain, host string
		ok           bool
	}{
		{"example.com", "login.example.com", true},
		{"example.com", "example.com", true},
		{"corp.example.com", "auth.corp.example.com", true},
		{"example.com", "login.example.org", false},
		{"example.com", "loginexample.com", false},
		{".example.com", "login.example.com", false},
		{"Example.com", "login.example.com", false},
		{"com", "example.com", false},
		{"example.com:443", "login.example.com", false},
		{"https://example.com", "login.example.com", false},
		{"", "login.example.com", false},
	} {
		if err := server.CheckCookieDomain(tt.domain, tt.host); (err == nil) != tt.ok {
			t.Errorf("CheckCookieDomain(%q, %q): got %v, want ok %v", tt.domain, tt.host, err, tt.ok)
		}
	}
}
