package security_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// Threat: taking over an account through "forgot password" — a link
// pointing at the attacker's host, a link mailed to the attacker's
// address, a link used twice, late, after the password changed, or for
// someone else, or a link that leaks from the page it opens.

// poisoned are the headers that trick servers which build links from the
// request into pointing them at the attacker's host.
var poisoned = []map[string]string{
	{"Host": "evil.example", "Origin": "http://evil.example"},
	{"X-Forwarded-Host": "evil.example"},
	{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
	{"Forwarded": "host=evil.example;proto=https"},
	{"X-Host": "evil.example", "X-Original-Host": "evil.example", "X-Forwarded-Server": "evil.example"},
	{"Host": "127.0.0.1:1@evil.example", "Origin": "http://127.0.0.1:1@evil.example"},
}

// TestLinksComeFromThePublicURLOnly asks for reset links — as a user who
// forgot, and as an admin resetting or inviting — with poisoned headers:
// every link in every mail starts with --public-url.
func TestLinksComeFromThePublicURLOnly(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		const public = "https://login.acme.example"
		w := newWorld(t, db, servertest.WithOptions(func(o *server.Options) { o.PublicURL = public }))
		adaToken := w.api(t, "ada@acme.example").Token
		for i, h := range poisoned {
			header := map[string]string{"Content-Type": "application/json"}
			for k, v := range h {
				header[k] = v
			}
			r := send(t, w.s, "POST", "/api/v1/password-reset", "application/json", []byte(`{"email":"mia@acme.example"}`), header)
			if r.StatusCode != 202 && r.StatusCode != 403 {
				t.Errorf("reset request with %v: got %d %s, want 202 (or 403 for an origin that is not the host)", h, r.StatusCode, clip(r.Body))
			}
			form := map[string]string{}
			for k, v := range h {
				form[k] = v
			}
			form["Origin"] = public
			if h["Origin"] != "" {
				form["Origin"] = h["Origin"]
			}
			send(t, w.s, "POST", "/forgot-password", "application/x-www-form-urlencoded", []byte("email=mia%40acme.example"), form)
			header["Authorization"] = "Bearer " + adaToken
			r = send(t, w.s, "POST", "/api/v1/company/users", "application/json",
				[]byte(fmt.Sprintf(`{"email":"new%d@acme.example","name":"New"}`, i)), header)
			if r.StatusCode != 201 && r.StatusCode != 403 {
				t.Errorf("invitation with %v: got %d %s, want 201 (or 403)", h, r.StatusCode, clip(r.Body))
			}
			send(t, w.s, "POST", "/api/v1/company/users/"+w.ben+"/password-reset", "application/json", []byte(`{"method":"email"}`), header)
			w.s.Clock.Advance(time.Hour) // past the per-address mail cap
		}
		w.s.WaitQuiet(t)
		links := regexp.MustCompile(`(?i)(https?:)?//[^\s"'<>]+`)
		n := 0
		for _, m := range w.s.SMTP.Messages() {
			for _, part := range []string{m.Text, m.HTML} {
				for _, l := range links.FindAllString(part, -1) {
					if strings.Contains(l, "token=") {
						n++
						if !strings.HasPrefix(l, public+"/") {
							t.Errorf("mail to %v links to %s, not under %s", m.To, l, public)
						}
					}
					if strings.Contains(l, "evil") {
						t.Errorf("mail to %v names the attacker's host: %s", m.To, l)
					}
				}
			}
		}
		if n < 2*(len(poisoned)-1) {
			t.Fatalf("only %d links arrived; want one per reset and invitation", n)
		}
	})
}

// TestResetMailGoesToTheStoredAddressOnly: an address given as a list,
// with separators, with a second recipient smuggled in, or in Unicode that
// folds onto a user's address (a dotless ı, the Kelvin sign K) is refused,
// and nothing is mailed anywhere but to the address the account has.
func TestResetMailGoesToTheStoredAddressOnly(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		w.s.AddUser(t, w.acme, "kate@acme.example", pw, gatehouse.RoleMember)
		w.s.AddUser(t, w.acme, "admin@acme.example", pw, gatehouse.RoleMember)
		a := &attacker{w: w}
		for _, body := range []string{
			`{"email": ["mia@acme.example", "eve@evil.example"]}`,
			`{"email": {"address": "mia@acme.example", "cc": "eve@evil.example"}}`,
			`{"email": "mia@acme.example", "email": "eve@evil.example"}`,
			`{"email": "mia@acme.example", "Email": "eve@evil.example"}`,
		} {
			wantStatus(t, body, send(t, w.s, "POST", "/api/v1/password-reset", "application/json", []byte(body), nil), 400)
		}
		for _, email := range []string{
			"mia@acme.example,eve@evil.example", "mia@acme.example;eve@evil.example", "mia@acme.example eve@evil.example",
			"mia@acme.example\neve@evil.example", "mia@acme.example\r\nBcc: eve@evil.example", "mia@acme.example%0aBcc:eve@evil.example",
			`"mia@acme.example" <eve@evil.example>`, "Mia <mia@acme.example>, <eve@evil.example>", "eve@evil.example (mia@acme.example)",
			"mia@acme.example@evil.example", "mia%acme.example@evil.example", `mia@acme.example\@evil.example`,
			"k\u0131te@acme.example", "adm\u0131n@acme.example", "\u212Aate@acme.example", "\uff4dia@acme.example", "mia@acme.exa\u0301mple",
			"mia@acme.example\x00eve@evil.example",
		} {
			r := a.next(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": email})
			if r.StatusCode != 400 && r.StatusCode != 202 {
				t.Errorf("reset for %q: got %d %s, want 400 (or 202)", email, r.StatusCode, clip(r.Body))
			}
			a.next(t).PostForm("/forgot-password", map[string]string{"email": email})
		}
		// A form with the field twice: the first counts, and mail goes to
		// the stored address of that account only.
		send(t, w.s, "POST", "/forgot-password", "application/x-www-form-urlencoded",
			[]byte("email=MIA%40ACME.EXAMPLE&email=eve%40evil.example"), map[string]string{"Origin": w.s.URL})
		w.s.WaitQuiet(t)
		for _, m := range w.s.SMTP.Messages() {
			for _, to := range m.To {
				if to != "mia@acme.example" && to != "dan@acme.example" {
					t.Errorf("reset mail to %q (%s)", to, m.Subject)
				}
			}
			if strings.Contains(m.Header.Get("To")+m.Header.Get("Cc")+m.Header.Get("Bcc"), "evil") {
				t.Errorf("a header names the attacker: %v", m.Header)
			}
		}
		w.s.SMTP.WaitFor(t, "mia@acme.example", "Reset")
	})
}

// resetLink asks for a reset link for email and returns its token.
func resetLink(t *testing.T, w *world, email string) string {
	t.Helper()
	before := len(w.s.SMTP.Messages())
	wantStatus(t, "reset request", from(w.s.Client(t), "192.0.2.77").Do("POST", "/api/v1/password-reset", map[string]string{"email": email}), 202)
	w.s.WaitQuiet(t)
	msgs := w.s.SMTP.Messages()
	for i := len(msgs) - 1; i >= before; i-- {
		if msgs[i].To[0] == email && strings.Contains(msgs[i].Subject, "Reset") {
			return testenv.LinkToken(t, msgs[i].Text)
		}
	}
	t.Fatalf("no reset mail to %s", email)
	return ""
}

func confirm(w *world, c *servertest.Client, token, newPW string) *servertest.Response {
	return c.Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token, "new_password": newPW, "confirm_password": newPW})
}

// TestResetLinksAreSingleUse: a link works once (of racing uses, one
// wins), for an hour, only until the password changes, and only for the
// account it was sent for.
func TestResetLinksAreSingleUse(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		c := w.s.Client(t)

		token := resetLink(t, w, "mia@acme.example")
		wantStatus(t, "first use", confirm(w, c, token, otherPW), 204)
		wantProblem(t, "second use", confirm(w, c, token, "a third password, quite long"), 400, "invalid_token")

		// Racing: ten at once, one wins.
		token = resetLink(t, w, "mia@acme.example")
		var wg sync.WaitGroup
		codes := make(chan int, 10)
		for i := range 10 {
			wg.Go(func() {
				codes <- confirm(w, w.s.Client(t), token, fmt.Sprintf("racing password number %d here", i)).StatusCode
			})
		}
		wg.Wait()
		close(codes)
		won := 0
		for code := range codes {
			if code == 204 {
				won++
			} else if code != 400 {
				t.Errorf("racing use: got %d, want 204 or 400", code)
			}
		}
		if won != 1 {
			t.Errorf("racing uses: %d won, want exactly 1", won)
		}

		// An hour later, dead.
		token = resetLink(t, w, "ben@bolt.example")
		w.s.Clock.Advance(auth.ResetTokenLifetime)
		wantProblem(t, "after an hour", confirm(w, c, token, otherPW), 400, "invalid_token")

		// Dead once the password changed another way, or another link was used.
		w.s.Clock.Advance(time.Hour)
		token = resetLink(t, w, "bob@bolt.example")
		other := resetLink(t, w, "bob@bolt.example")
		bob := w.api(t, "bob@bolt.example")
		wantStatus(t, "change", bob.Do("POST", "/api/v1/me/password", map[string]string{"current_password": pw, "new_password": otherPW, "confirm_password": otherPW}), 204)
		wantProblem(t, "after a password change", confirm(w, c, token, "a third password, quite long"), 400, "invalid_token")
		wantProblem(t, "the other link", confirm(w, c, other, "a third password, quite long"), 400, "invalid_token")

		// Another user's link sets that user's password, never the caller's.
		token = resetLink(t, w, "ben@bolt.example")
		ada := w.browser(t, "ada@acme.example")
		r := ada.PostForm("/reset-password", map[string]string{"token": token, "new_password": "velvet harbour crayon tundra", "confirm_password": "velvet harbour crayon tundra"})
		wantStatus(t, "Ben's link in Ada's browser", r, 303)
		wantStatus(t, "Ben with the new password", loginAPI(w.s.Client(t), "ben@bolt.example", "velvet harbour crayon tundra"), 200)
		wantStatus(t, "Ada's password is unchanged", loginAPI(w.s.Client(t), "ada@acme.example", pw), 200)
	})
}

// attrs are the attributes that make a browser fetch or follow a URL.
var attrs = regexp.MustCompile(`(?i)\b(src|href|action|formaction|srcset|poster|data|background)\s*=\s*["']?([^"'\s>]*)`)

// TestTokensDoNotLeakFromTheirPages: the pages a link opens (reset,
// invitation, setup) load nothing from other sites, send no Referer
// anywhere, are never cached, and the reset mail loads nothing either.
func TestTokensDoNotLeakFromTheirPages(t *testing.T) {
	w := newWorld(t)
	token := resetLink(t, w, "mia@acme.example")
	c := w.s.Client(t)
	for name, r := range map[string]*servertest.Response{
		"reset page":        c.Get("/reset-password?token=" + token),
		"reset page again":  c.PostForm("/reset-password", map[string]string{"token": token, "new_password": "short", "confirm_password": "short"}),
		"reset page, wrong": c.Get("/reset-password?token=" + strings.Repeat("A", 43)),
		"setup page":        c.Get("/setup?token=" + token),
	} {
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q, want no-referrer", name, got)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, got)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
			t.Errorf("%s: Content-Security-Policy %q allows other sites", name, csp)
		}
		for _, m := range attrs.FindAllStringSubmatch(string(r.Body), -1) {
			if u := m[2]; offSite(u) {
				t.Errorf("%s: %s=%q loads or leads off the site", name, m[1], u)
			}
		}
	}
	m := w.s.SMTP.WaitFor(t, "mia@acme.example", "Reset")
	for _, a := range attrs.FindAllStringSubmatch(m.HTML, -1) {
		if strings.EqualFold(a[1], "src") || strings.EqualFold(a[1], "background") || strings.EqualFold(a[1], "srcset") {
			t.Errorf("the reset mail loads %s=%q, which would tell a tracker the link was opened", a[1], a[2])
		}
	}
	// The successful use sends the browser on without the token.
	r := c.PostForm("/reset-password", map[string]string{"token": token, "new_password": otherPW, "confirm_password": otherPW})
	if loc := r.Header.Get("Location"); r.StatusCode != 303 || strings.Contains(loc, token) {
		t.Errorf("after the reset: got %d to %q, want 303 away from the token", r.StatusCode, loc)
	}
}

// offSite reports whether a URL in a page points to another site.
func offSite(u string) bool {
	if u == "" || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "data:image/") || strings.HasPrefix(u, "data:text/plain") {
		return false
	}
	p, err := url.Parse(u)
	return err != nil || p.Scheme != "" || p.Host != "" || strings.HasPrefix(u, "//") || strings.HasPrefix(u, "\\")
}
