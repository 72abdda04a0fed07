package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// rdWorld is a server with Acme's wiki (wiki.example.com) and vault
// (vault.example.com, a second factor required) behind forward auth.
func rdWorld(t *testing.T) (s *servertest.Server, companyID, adaID string) {
	t.Helper()
	s = servertest.Start(t)
	companyID, adaID = s.Company(t, "Acme", "ada@example.com", goodPW)
	for _, na := range []auth.NewApplication{
		{Name: "Wiki", ForwardAuthHosts: []string{"wiki.example.com"}},
		{Name: "Vault", ForwardAuthHosts: []string{"vault.example.com"}, RequireMFA: true},
	} {
		if _, err := s.Service().OperatorCreateApplication(context.Background(), companyID, na, auth.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	return s, companyID, adaID
}

func withRD(path, rd string) string { return path + "?" + url.Values{"rd": {rd}}.Encode() }

// /login?rd= returns to the address after the login only when its host is
// exactly a registered forward-auth host and its scheme http or https;
// every other rd is ignored (the login goes home), and the login page
// does not even carry it.
func TestLoginReturnAddress(t *testing.T) {
	s, _, _ := rdWorld(t)
	for _, tt := range []struct {
		rd     string
		back   bool
		refuse int // the login form's status when the whole form is refused
	}{
		{"https://wiki.example.com/page?x=1#top", true, 0},
		{"http://wiki.example.com/", true, 0},
		{"https://WIKI.example.com:8443/x", true, 0},
		{"https://evil.example.com/", false, 0},
		{"https://example.com/", false, 0},
		{"https://wiki.example.com.evil.example/", false, 0},
		{"https://x.wiki.example.com/", false, 0},
		{"//wiki.example.com/x", false, 0},
		{"///wiki.example.com/x", false, 0},
		{"https:wiki.example.com/x", false, 0},
		{"https:\\\\wiki.example.com/x", false, 0},
		{"https://wiki.example.com\\@evil.example.com/", false, 0},
		{"https://evil.example.com\\@wiki.example.com/", false, 0},
		{"https://user@wiki.example.com/", false, 0},
		{"https://wiki.example.com@evil.example.com/", false, 0},
		{"https://evil.example.com#@wiki.example.com/", false, 0},
		{"javascript:alert(1)//wiki.example.com", false, 0},
		{"javascript://wiki.example.com/%0aalert(1)", false, 0},
		{"ftp://wiki.example.com/", false, 0},
		{"https://wiki.example.com/\x00", false, 400},
		{"https://wiki.example.com/\r\nSet-Cookie: x=1", false, 0},
		{"\thttps://wiki.example.com/", false, 0},
		{"https://wiki.example.com/" + strings.Repeat("a", 64<<10), false, 413},
	} {
		t.Run(tt.rd[:min(len(tt.rd), 40)], func(t *testing.T) {
			c := s.Client(t)
			page := c.Get(withRD("/login", tt.rd))
			carried := strings.Contains(string(page.Body), `name="rd"`)
			if page.StatusCode != 200 || carried != tt.back {
				t.Fatalf("login page: got %d, rd carried %v; want 200, %v", page.StatusCode, carried, tt.back)
			}
			// The form may end at rd's origin (CSP form-action holds redirects after a POST), and at no other.
			if csp := page.Header.Get("Content-Security-Policy"); tt.back {
				u, _ := url.Parse(tt.rd)
				if !strings.Contains(csp, "form-action 'self' "+strings.ToLower(u.Scheme)+"://"+u.Host+";") {
					t.Errorf("CSP %q does not let the login end at %s", csp, u.Host)
				}
			} else if !strings.Contains(csp, "form-action 'self';") {
				t.Errorf("CSP %q: want form-action 'self' alone", csp)
			}
			if tt.refuse != 0 {
				r := c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": goodPW, "rd": tt.rd})
				if r.StatusCode != tt.refuse || c.SessionCookie() != "" {
					t.Fatalf("login: got %d, session %q; want %d and no session", r.StatusCode, c.SessionCookie(), tt.refuse)
				}
				return
			}
			want := "/settings/profile"
			if tt.back {
				want = tt.rd
			}
			wantRedirect(t, "login", c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": goodPW, "rd": tt.rd}), want)
			if tt.back {
				// Signed in already: the login page goes straight back.
				wantRedirect(t, "login page when signed in", c.Get(withRD("/login", tt.rd)), tt.rd)
			}
		})
	}
}

// rd is carried through every login step: the code of 2FA, a forced
// password change, and the forced 2FA setup that an app requiring a
// second factor asks of a user without one.
func TestLoginReturnThroughSteps(t *testing.T) {
	s, companyID, adaID := rdWorld(t)
	const wiki = "https://wiki.example.com/docs?page=2"
	const vault = "https://vault.example.com/secrets"

	// Bob has no second factor: the wiki lets him straight in, the vault
	// first makes him set one up, and its page says so.
	s.AddUser(t, companyID, "bob@example.com", goodPW, gatehouse.RoleMember)
	c := s.Client(t)
	if page := wantPage(t, "login page for the wiki", c.Get(withRD("/login", wiki)), 200, "Welcome back."); strings.Contains(page, "requires two-factor") {
		t.Errorf("the wiki's login page says a second factor is required:\n%s", page)
	}
	wantRedirect(t, "bob to the wiki", c.PostForm("/login", map[string]string{"email": "bob@example.com", "password": goodPW, "rd": wiki}), wiki)
	// His password-only session is not the vault's: the login page for
	// the vault shows the form (this login asks for a factor) where going
	// straight back would meet the vault's 403.
	wantPage(t, "login page for the vault when signed in without a factor", c.Get(withRD("/login", vault)), 200,
		`name="rd" value="`+vault+`"`, "Vault requires two-factor authentication. Log in")
	c = s.Client(t)
	wantRedirect(t, "bob to the vault", c.PostForm("/login", map[string]string{"email": "bob@example.com", "password": goodPW, "rd": vault}),
		withRD("/login/setup-2fa", vault))
	if c.SessionCookie() != "" {
		t.Fatal("a session before the second factor was set up")
	}
	page := c.Get(withRD("/login/setup-2fa", vault))
	wantPage(t, "setup page", page, 200, "Set up two-factor authentication", "Vault requires two-factor authentication.")
	m := secretPattern.FindStringSubmatch(string(page.Body))
	if m == nil || !strings.Contains(string(page.Body), `name="rd" value="`+vault+`"`) {
		t.Fatalf("the setup page has no secret or does not carry rd:\n%s", page.Body)
	}
	// A new QR code keeps rd too.
	if r := c.PostForm("/login/setup-2fa/start", map[string]string{"rd": vault}); r.Header.Get("Location") != withRD("/login/setup-2fa", vault) {
		t.Fatalf("new QR code: got %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	m = secretPattern.FindStringSubmatch(string(c.Get("/login/setup-2fa").Body))
	codes := c.PostForm("/login/setup-2fa", map[string]string{"code": codeAt(t, s, m[1]), "rd": vault})
	wantPage(t, "recovery codes", codes, 200, "Save your recovery codes", `href="`+vault+`"`)
	if r := forwardAuth(t, s, c.SessionCookie(), "vault.example.com"); r.StatusCode != 200 {
		t.Fatalf("bob into the vault after the setup: got %d", r.StatusCode)
	}

	// Ada changes a temporary password, then gives her code: rd all along.
	temp, err := s.App.Hasher.Hash(context.Background(), "temporary password 1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
		return tx.SetUserPassword(adaID, temp, true, tx.Now().Add(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	c = s.Client(t)
	wantRedirect(t, "ada's temporary password", c.PostForm("/login", map[string]string{"email": "ada@example.com",
		"password": "temporary password 1", "rd": wiki}), withRD("/login/change-password", wiki))
	wantPage(t, "change page", c.Get(withRD("/login/change-password", wiki)), 200, `name="rd" value="`+wiki+`"`)
	wantRedirect(t, "ada's new password", c.PostForm("/login/change-password", map[string]string{"new_password": otherPW,
		"confirm_password": otherPW, "rd": wiki}), wiki)

	// Bob's next login asks for his code, and returns.
	s.Clock.Advance(30 * time.Second)
	c = s.Client(t)
	wantRedirect(t, "bob's password", c.PostForm("/login", map[string]string{"email": "bob@example.com", "password": goodPW, "rd": vault}),
		withRD("/login/2fa", vault))
	twofa := c.Get(withRD("/login/2fa", vault))
	wantPage(t, "2fa page", twofa, 200, `name="rd" value="`+vault+`"`)
	if !strings.Contains(string(twofa.Body), `href="/login/2fa?rd=`+url.QueryEscape(vault)+`&amp;recovery=1"`) {
		t.Errorf("the recovery-code link does not carry rd:\n%s", twofa.Body)
	}
	wantPage(t, "wrong code", c.PostForm("/login/2fa", map[string]string{"code": "000000", "rd": vault}), 401, `name="rd" value="`+vault+`"`)
	wantRedirect(t, "bob's code", c.PostForm("/login/2fa", map[string]string{"code": codeAt(t, s, m[1]), "rd": vault}), vault)
}

func forwardAuth(t *testing.T, s *servertest.Server, token, host string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/authz/forward-auth", nil)
	req.Header.Set("X-Forwarded-Host", host)
	req.Header.Set("Cookie", "gatehouse_session="+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
