package security_test

import (
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

// Threat: getting past the second factor — using what the password step
// gave (a challenge) as a session, replaying a code, feeding the code check
// odd spellings, keeping a password-only session after the company
// requires 2FA, or copying someone's second factor while they set it up.

// pendingLogins returns a challenge in each state a login can wait in:
// the code of a user with 2FA, the new password after a temporary one,
// and 2FA setup for a user whose company requires it.
func pendingLogins(t *testing.T, w *world) map[string]string {
	t.Helper()
	enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
	bob := w.api(t, "bob@bolt.example")
	temp := bob.Do("POST", "/api/v1/company/users/"+w.ben+"/password-reset", map[string]string{"method": "temporary"})
	wantStatus(t, "temporary password for Ben", temp, 200)
	cask, _ := w.s.Company(t, "Cask", "cy@cask.example", pw)
	requireTOTP(t, w.s, cask, true)

	c := w.s.Client(t)
	r := loginAPI(c, "ben@bolt.example", temp.Str(t, "temporary_password"))
	if r.Str(t, "status") != auth.StatusPasswordChangeRequired {
		t.Fatalf("Ben's login: got %s, want password_change_required", r.Body)
	}
	return map[string]string{
		auth.StatusTOTPRequired:           challenge(t, c, "mia@acme.example", auth.StatusTOTPRequired),
		auth.StatusPasswordChangeRequired: r.Str(t, "challenge"),
		auth.StatusTOTPSetupRequired:      challenge(t, c, "cy@cask.example", auth.StatusTOTPSetupRequired),
	}
}

// TestNothingOpensBeforeTheLoginCompletes offers the challenge of each
// waiting state to every protected endpoint (as a bearer token and as the
// session cookie) and every protected page (with the challenge cookie the
// password step set): all refuse, and nothing changes.
func TestNothingOpensBeforeTheLoginCompletes(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		pending := pendingLogins(t, w)
		before := w.s.Snapshot(t)
		v := ids{User: w.mia, Session: "x"}
		for state, ch := range pending {
			bearer, cookie := w.s.Client(t), w.s.Client(t)
			bearer.Token = ch
			plant(t, cookie, w.s.URL, httpx.SessionCookieName, ch)
			for _, r := range protected(apiRoutes(), publicAPI) {
				for how, c := range map[string]*servertest.Client{"bearer": bearer, "cookie": cookie} {
					wantProblem(t, fmt.Sprintf("%s with a %s challenge as %s", r, state, how),
						c.Do(r.Method, r.path(v), userRouteBodies[r.String()]), 401, "unauthenticated")
				}
			}
			// A browser between the steps holds the challenge cookie.
			browser := w.s.Client(t)
			plant(t, browser, w.s.URL, httpx.ChallengeCookieName, ch)
			for _, r := range protected(pageRoutes(), publicPages) {
				var resp *servertest.Response
				if r.Method == "GET" {
					resp = browser.Get(r.path(v))
				} else {
					resp = browser.PostForm(r.path(v), userFormBodies[r.String()])
				}
				if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
					t.Errorf("%s in a %s login: got %d to %q, want 303 to the login page", r, state, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		}
		// Nor does a challenge open another step than its own.
		steps := map[string]func(ch string) *servertest.Response{
			auth.StatusTOTPRequired: func(ch string) *servertest.Response {
				return w.s.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "code": "123456"})
			},
			auth.StatusPasswordChangeRequired: func(ch string) *servertest.Response {
				return w.s.Client(t).Do("POST", "/api/v1/login/password", map[string]string{"challenge": ch, "new_password": otherPW, "confirm_password": otherPW})
			},
			auth.StatusTOTPSetupRequired: func(ch string) *servertest.Response {
				return w.s.Client(t).Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": ch})
			},
		}
		for state, ch := range pending {
			for other, step := range steps {
				if other != state {
					wantProblem(t, fmt.Sprintf("the %s step with a %s challenge", other, state), step(ch), 401, "invalid_challenge")
				}
			}
		}
		if after := strip(w.s.Snapshot(t), "throttles="); after != strip(before, "throttles=") {
			t.Errorf("challenges used as sessions changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// TestEnforcementEndsPasswordOnlySessions: when a company starts requiring
// 2FA, the sessions its users without 2FA opened with the password alone
// stop working at once — in the API and on the pages — and their next
// login sets 2FA up. An admin without 2FA cannot switch it on.
func TestEnforcementEndsPasswordOnlySessions(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		mia, miaWeb := w.api(t, "mia@acme.example"), w.browser(t, "mia@acme.example")
		ada := w.api(t, "ada@acme.example")
		wantProblem(t, "Ada without 2FA requires it", ada.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": true}), 409, "own_totp_required")
		wantStatus(t, "Mia after the refusal", mia.Get("/api/v1/me"), 200)

		enableTOTP(t, w.s, ada)
		wantStatus(t, "Ada with 2FA requires it", ada.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": true}), 200)
		wantStatus(t, "Ada after requiring it", ada.Get("/api/v1/me"), 200)
		for _, r := range protected(apiRoutes(), publicAPI) {
			wantProblem(t, "Mia's old session: "+r.String(), mia.Do(r.Method, r.path(ids{User: w.mia, Session: "x"}), nil), 401, "unauthenticated")
		}
		if r := miaWeb.Get("/settings/profile"); r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("Mia's old page session: got %d to %q, want 303 to the login page", r.StatusCode, r.Header.Get("Location"))
		}
		challenge(t, w.s.Client(t), "mia@acme.example", auth.StatusTOTPSetupRequired)
		// Bolt requires nothing: its users are untouched.
		wantStatus(t, "Ben", w.api(t, "ben@bolt.example").Get("/api/v1/me"), 200)
		// Switching it off again needs no 2FA check; Ada may.
		wantStatus(t, "Ada switches it off", ada.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": false}), 200)
	})
}

// TestCodesAreUsedOnce: a code that logged in, the code of an earlier
// step, and the code that confirmed enrollment are all refused afterwards.
func TestCodesAreUsedOnce(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		alignClock(w.s)
		c := w.api(t, "mia@acme.example")
		r := c.Do("POST", "/api/v1/me/totp", map[string]string{"password": pw})
		secret := decodeB32(t, r.Str(t, "secret"))
		enrolled := codeAt(w.s, secret, 0)
		wantStatus(t, "confirm", c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": enrolled}), 200)
		step := func(code string) *servertest.Response {
			a := w.s.Client(t)
			ch := challenge(t, a, "mia@acme.example", auth.StatusTOTPRequired)
			return a.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "code": code})
		}
		wantProblem(t, "the code that confirmed enrollment", step(enrolled), 401, "invalid_code")
		next := codeAt(w.s, secret, 1)
		wantStatus(t, "the next step's code", step(next), 200)
		wantProblem(t, "the same code again", step(next), 401, "invalid_code")
		w.s.Clock.Advance(totp.Period)
		wantProblem(t, "the used code in its own step", step(next), 401, "invalid_code")
		// The window accepts the step before the current one, but not once
		// a later step was used.
		wantProblem(t, "an earlier step's code", step(codeAt(w.s, secret, -1)), 401, "invalid_code")
		wantStatus(t, "a later step's code", step(codeAt(w.s, secret, 1)), 200)
	})
}

// TestCodeSpellings feeds the code check what a person or a script might
// send. Only the six ASCII digits of the right code pass (blanks around or
// between them are dropped, as people paste them); every other spelling —
// five or seven digits, other scripts' digits, a JSON number — fails, on
// the API and on the page.
func TestCodeSpellings(t *testing.T) {
	w := newWorld(t)
	secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
	arabic := func(s string) string {
		return strings.Map(func(r rune) rune { return r - '0' + '٠' }, s)
	}
	fullwidth := func(s string) string {
		return strings.Map(func(r rune) rune { return r - '0' + '０' }, s)
	}
	cases := []struct {
		name  string
		code  func(right string) any
		valid bool
	}{
		{"the right code", func(c string) any { return c }, true},
		{"with blanks around", func(c string) any { return " " + c + " " }, true},
		{"grouped 123 456", func(c string) any { return c[:3] + " " + c[3:] }, true},
		{"five digits", func(c string) any { return c[:5] }, false},
		{"seven digits", func(c string) any { return c + "7" }, false},
		{"a digit before", func(c string) any { return "0" + c }, false},
		{"Arabic-Indic digits", func(c string) any { return arabic(c) }, false},
		{"full-width digits", func(c string) any { return fullwidth(c) }, false},
		{"a zero-width space", func(c string) any { return c[:3] + "\u200b" + c[3:] }, false},
		{"a NUL", func(c string) any { return c + "\x00" }, false},
		{"a sign", func(c string) any { return "+" + c }, false},
		{"a wrong code", func(string) any { return wrongCode(w.s, secret) }, false},
		{"empty", func(string) any { return "" }, false},
	}
	for _, tc := range cases {
		alignClock(w.s)
		right := codeAt(w.s, secret, 0)
		c := w.s.Client(t)
		ch := challenge(t, c, "mia@acme.example", auth.StatusTOTPRequired)
		r := c.Do("POST", "/api/v1/login/totp", map[string]any{"challenge": ch, "code": tc.code(right)})
		if tc.valid {
			wantStatus(t, "API: "+tc.name, r, 200)
		} else if r.StatusCode != 401 && r.StatusCode != 400 {
			t.Errorf("API: %s: got %d %s, want 401 (or 400)", tc.name, r.StatusCode, clip(r.Body))
		}
		// The page, with a fresh step so a used code does not decide.
		w.s.Clock.Advance(totp.Period)
		right = codeAt(w.s, secret, 0)
		b := w.s.Client(t)
		wantStatus(t, "password step", b.PostForm("/login", map[string]string{"email": "mia@acme.example", "password": pw}), 303)
		code, _ := tc.code(right).(string)
		p := b.PostForm("/login/2fa", map[string]string{"code": code})
		if got := p.StatusCode == 303; got != tc.valid {
			t.Errorf("page: %s: got %d, want success %v", tc.name, p.StatusCode, tc.valid)
		}
		if !tc.valid {
			// A right code afterwards clears the failure, so the next case
			// starts with a clean account.
			w.s.Clock.Advance(totp.Period)
			totpSignIn(t, w.s, "mia@acme.example", secret)
		}
		w.s.Clock.Advance(totp.Period)
	}
	c := w.s.Client(t)
	ch := challenge(t, c, "mia@acme.example", auth.StatusTOTPRequired)
	wantProblem(t, "a JSON number", c.Do("POST", "/api/v1/login/totp", map[string]any{"challenge": ch, "code": 123456}), 400, "invalid_request")
}

// TestEnrollmentCannotBeCopied: the secret offered while 2FA is set up on
// the profile page is for the session that asked for it. Another session
// of the same user — an old one, perhaps a stolen one — cannot read it or
// confirm it; a session older than 15 minutes cannot start enrollment
// without the password; and once 2FA is on, the secret is shown nowhere.
func TestEnrollmentCannotBeCopied(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		stale, staleWeb := w.api(t, "mia@acme.example"), w.browser(t, "mia@acme.example")
		w.s.Clock.Advance(auth.ReauthWindow + time.Minute)

		// Without the password, the stale session cannot start.
		wantProblem(t, "stale session, no password", stale.Do("POST", "/api/v1/me/totp", nil), 403, "reauthentication_required")
		r := staleWeb.PostForm("/settings/totp", nil)
		wantStatus(t, "stale page session, no password", r, 403)

		// A fresh session (a login, or the password given again) starts.
		alignClock(w.s)
		fresh := w.browser(t, "mia@acme.example")
		wantStatus(t, "begin on the page", fresh.PostForm("/settings/totp", nil), 303)
		page := fresh.Get("/settings/profile")
		b32 := secretOn(t, string(page.Body))
		secret := decodeB32(t, b32)

		for name, c := range map[string]*servertest.Client{"the stale page session": staleWeb, "the stale API session": stale} {
			if body := string(c.Get("/settings/profile").Body); strings.Contains(body, b32) {
				t.Errorf("%s sees the secret offered to another session", name)
			}
			r := c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": codeAt(w.s, secret, 0)})
			if r.StatusCode == 200 {
				t.Fatalf("%s confirmed a secret offered to another session", name)
			}
		}
		r = fresh.PostForm("/settings/totp/confirm", map[string]string{"code": codeAt(w.s, secret, 0)})
		wantStatus(t, "confirm on the page that asked", r, 200)

		// 2FA is on: no page, no endpoint, no login step shows the secret.
		for name, c := range map[string]*servertest.Client{"fresh": fresh, "stale": staleWeb} {
			if body := string(c.Get("/settings/profile").Body); strings.Contains(body, b32) {
				t.Errorf("the profile page of the %s session shows the secret after enrollment", name)
			}
		}
		r = fresh.Do("POST", "/api/v1/me/totp", map[string]string{"password": pw})
		wantProblem(t, "begin again", r, 409, "totp_already_enabled")
		if strings.Contains(string(r.Body), b32) {
			t.Error("the refusal shows the secret")
		}
		var stored []byte
		if err := w.s.SQL(t).QueryRow(`SELECT totp_secret FROM users WHERE id = $1`, w.mia).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored), b32) || strings.Contains(string(stored), string(secret)) {
			t.Error("the secret is stored in the clear")
		}
	})
}

// secretOn finds the base32 secret a page shows for manual entry.
func secretOn(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, "otpauth://totp/")
	if i < 0 {
		// The page shows the secret as text; find a 32-character base32 run.
		for _, f := range strings.FieldsFunc(body, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') }) {
			if len(f) == 32 {
				return f
			}
		}
		t.Fatalf("no secret on the page")
	}
	u, err := url.Parse(body[i : i+strings.IndexAny(body[i:], `"< `)])
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("secret")
}

func decodeB32(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(b) != totp.SecretSize {
		t.Fatalf("secret %q: %v", s, err)
	}
	return b
}

// A login in progress of a user who is disabled meanwhile cannot finish,
// whatever step it waits at, and enabling the user again does not revive
// it.
func TestDisabledUsersLoginInProgressDies(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		pending := pendingLogins(t, w)
		owner := map[string]string{auth.StatusTOTPRequired: w.mia, auth.StatusPasswordChangeRequired: w.ben}
		ada, bob := w.api(t, "ada@acme.example"), w.api(t, "bob@bolt.example")
		admins := map[string]*servertest.Client{w.mia: ada, w.ben: bob}
		for state, id := range owner {
			wantStatus(t, "disable", admins[id].Do("PATCH", "/api/v1/company/users/"+id, map[string]any{"disabled": true}), 200)
			wantStatus(t, "enable", admins[id].Do("PATCH", "/api/v1/company/users/"+id, map[string]any{"disabled": false}), 200)
			var r *servertest.Response
			if state == auth.StatusTOTPRequired {
				r = w.s.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": pending[state], "code": "123456"})
			} else {
				r = w.s.Client(t).Do("POST", "/api/v1/login/password", map[string]string{"challenge": pending[state], "new_password": otherPW, "confirm_password": otherPW})
			}
			wantProblem(t, state+" after the user was disabled", r, 401, "invalid_challenge")
		}
	})
}

// The otpauth URI names the account by its email, which may hold '&', '=',
// '?', '#', '%', '/' and quotes: none of them may add or change a
// parameter, or split the label, in what the authenticator app reads.
func TestOTPAuthURIWithOddEmails(t *testing.T) {
	w := newWorld(t)
	ada := w.api(t, "ada@acme.example")
	for i, email := range []string{
		"a&secret=AAAAAAAAAAAAAAAA&issuer=Evil@acme.example",
		"b?issuer=Evil#x@acme.example",
		"c%3Aevil%26period=1@acme.example",
		"d/.'x'{|}~@acme.example",
		"e+tag=1=2@acme.example",
	} {
		r := ada.Do("POST", "/api/v1/company/users", map[string]string{"email": email, "name": fmt.Sprintf("Odd %d", i)})
		wantStatus(t, "invite "+email, r, 201)
		token := testenv.LinkToken(t, w.s.SMTP.WaitFor(t, strings.ToLower(email), "invited").Text)
		wantStatus(t, "accept", confirm(w, w.s.Client(t), token, pw), 204)
		c := w.s.Client(t)
		c.Token = c.Login(email, pw)
		r = c.Do("POST", "/api/v1/me/totp", nil)
		wantStatus(t, "begin 2FA", r, 200)
		u, err := url.Parse(r.Str(t, "otpauth_uri"))
		if err != nil {
			t.Fatalf("%s: otpauth_uri %q: %v", email, r.Str(t, "otpauth_uri"), err)
		}
		q := u.Query()
		label, _ := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/"))
		if u.Scheme != "otpauth" || u.Host != "totp" || u.Fragment != "" || label != "Gatehouse:"+strings.ToLower(email) ||
			q.Get("secret") != r.Str(t, "secret") || q.Get("issuer") != "Gatehouse" || len(q["secret"]) != 1 || len(q["issuer"]) != 1 ||
			q.Get("period") != "30" || q.Get("digits") != "6" || q.Get("algorithm") != "SHA1" {
			t.Errorf("%s: otpauth_uri %s reads as label %q, parameters %v", email, r.Str(t, "otpauth_uri"), label, q)
		}
	}
}
