package web_test

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

const (
	goodPW  = testenv.GoodPassword
	otherPW = testenv.OtherPassword
)

// startAcme starts a server with the company Acme and its admin
// ada@example.com, whose password is goodPW.
func startAcme(t *testing.T, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, opts...)
	s.Company(t, "Acme", "ada@example.com", goodPW)
	return s
}

// text is a page's body with HTML entities decoded, for looking up words.
func text(r *servertest.Response) string { return html.UnescapeString(string(r.Body)) }

// wantPage fails unless r is an HTML page with this status holding every
// one of words, and returns the page's text.
func wantPage(t *testing.T, what string, r *servertest.Response, status int, words ...string) string {
	t.Helper()
	if r.StatusCode != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s: got %d %s, want %d HTML\n%s", what, r.StatusCode, r.Header.Get("Content-Type"), status, r.Body)
	}
	for _, w := range words {
		if !strings.Contains(text(r), w) {
			t.Fatalf("%s: the page does not say %q:\n%s", what, w, r.Body)
		}
	}
	return text(r)
}

// wantRedirect fails unless r is a 303 to location.
func wantRedirect(t *testing.T, what string, r *servertest.Response, location string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != location {
		t.Fatalf("%s: got %d to %q, want 303 to %q\n%s", what, r.StatusCode, r.Header.Get("Location"), location, r.Body)
	}
}

// loginForm logs in through the login page and fails unless it succeeds.
func loginForm(t *testing.T, c *servertest.Client, email, pw string) {
	t.Helper()
	wantRedirect(t, "login", c.PostForm("/login", map[string]string{"email": email, "password": pw}), "/settings/profile")
	if c.SessionCookie() == "" {
		t.Fatalf("login: no session cookie")
	}
}
