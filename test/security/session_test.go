package security_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// Threat: a session the attacker chose (fixation), a session that outlives
// what should end it (logout, a new password, a disabled account, time), a
// token that survives a privilege step, and cookies a script or another
// site can read or plant.

// authenticates tells whether a session token opens /api/v1/me.
func authenticates(t *testing.T, s *servertest.Server, token string) bool {
	t.Helper()
	c := s.Client(t)
	c.Token = token
	return c.Get("/api/v1/me").StatusCode == 200
}

// plant puts a cookie into a client's jar, as a sibling site or a script
// injected earlier might.
func plant(t *testing.T, c *servertest.Client, base, name, value string) {
	c.HTTP.Jar.SetCookies(mustURL(t, base), []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func TestPlantedSessionsAreNeverPromoted(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
		attacker := w.api(t, "bob@bolt.example").Token
		made, _ := gatehouse.NewToken() // a token no session has (yet)
		for _, planted := range []string{attacker, made} {
			victim := w.s.Client(t)
			plant(t, victim, w.s.URL, httpx.SessionCookieName, planted)
			plant(t, victim, w.s.URL, httpx.ChallengeCookieName, planted)
			wantStatus(t, "password step", victim.PostForm("/login", map[string]string{"email": "mia@acme.example", "password": pw}), 303)
			ch := cookieValue(victim, w.s.URL, httpx.ChallengeCookieName)
			if ch == planted || ch == "" {
				t.Fatalf("the password step kept the planted challenge %q", planted)
			}
			alignClock(w.s)
			wantStatus(t, "code step", victim.PostForm("/login/2fa", map[string]string{"code": codeAt(w.s, secret, 0)}), 303)
			session := victim.SessionCookie()
			if session == planted || session == ch || session == "" {
				t.Fatalf("the login kept a token it did not make: session %q, planted %q, challenge %q", session, planted, ch)
			}
			if me := victim.Get("/api/v1/me"); me.Str(t, "email") != "mia@acme.example" {
				t.Errorf("victim after login: got %s, want Mia", me.Body)
			}
			if planted == made && authenticates(t, w.s, made) {
				t.Error("a token chosen by the attacker became a session")
			}
			if planted == attacker {
				c := w.s.Client(t)
				c.Token = attacker
				if me := c.Get("/api/v1/me"); me.Str(t, "email") != "bob@bolt.example" {
					t.Errorf("the attacker's planted session: got %s, want still Bob's own", me.Body)
				}
			}
			w.s.Clock.Advance(30 * time.Second)
		}
	})
}

// TestEveryPrivilegeStepIssuesANewToken follows a login through its steps
// and a password change: each step answers with a token it made, and the
// token of the step before stops working.
func TestEveryPrivilegeStepIssuesANewToken(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
		browser := w.s.Client(t)
		wantStatus(t, "password step", browser.PostForm("/login", map[string]string{"email": "mia@acme.example", "password": pw}), 303)
		ch := cookieValue(browser, w.s.URL, httpx.ChallengeCookieName)
		alignClock(w.s)
		wantStatus(t, "code step", browser.PostForm("/login/2fa", map[string]string{"code": codeAt(w.s, secret, 0)}), 303)
		first := browser.SessionCookie()
		if cookieValue(browser, w.s.URL, httpx.ChallengeCookieName) != "" {
			t.Error("the challenge cookie outlived the login")
		}
		wantProblem(t, "the used challenge", w.s.Client(t).Do("POST", "/api/v1/login/totp",
			map[string]string{"challenge": ch, "code": codeAt(w.s, secret, 1)}), 401, "invalid_challenge")
		id := browser.Get("/api/v1/me/sessions").JSON(t)["sessions"].([]any)[0].(map[string]any)["id"]

		// A new password from the settings page: same session, new token.
		r := browser.PostForm("/settings/password", map[string]string{"current_password": pw, "new_password": otherPW, "confirm_password": otherPW})
		wantStatus(t, "password change", r, 303)
		second := browser.SessionCookie()
		if second == first {
			t.Fatal("the session token survived the password change")
		}
		if authenticates(t, w.s, first) {
			t.Error("a copy of the token from before the password change still works")
		}
		sessions := browser.Get("/api/v1/me/sessions").JSON(t)["sessions"].([]any)
		if len(sessions) != 1 || sessions[0].(map[string]any)["id"] != id || sessions[0].(map[string]any)["current"] != true {
			t.Errorf("sessions after the change: got %v, want the same session %v, current", sessions, id)
		}

		// Through the JSON API from a browser (cookie): rotated likewise.
		r = browser.Do("POST", "/api/v1/me/password", map[string]string{"current_password": otherPW, "new_password": pw, "confirm_password": pw})
		wantStatus(t, "API password change with the cookie", r, 204)
		if third := browser.SessionCookie(); third == second || authenticates(t, w.s, second) || !authenticates(t, w.s, third) {
			t.Error("a password change through the API with the cookie did not replace the token")
		}
		// A program's bearer token cannot be handed a successor in a 204:
		// it keeps working, and no cookie is set.
		alignClock(w.s)
		program := totpSignIn(t, w.s, "mia@acme.example", secret)
		r = program.Do("POST", "/api/v1/me/password", map[string]string{"current_password": pw, "new_password": otherPW, "confirm_password": otherPW})
		wantStatus(t, "API password change with a bearer token", r, 204)
		if len(r.Header.Values("Set-Cookie")) > 0 || !authenticates(t, w.s, program.Token) {
			t.Error("a bearer session was rotated out from under its program")
		}
	})
}

// TestTheRightSessionsEnd: each way a session ends, on two sessions of the
// user (the one acting, "mine", and another) and a bystander's.
func TestTheRightSessionsEnd(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		ada := w.api(t, "ada@acme.example")
		bystander := w.api(t, "ben@bolt.example")
		cases := []struct {
			name        string
			totp        bool
			act         func(t *testing.T, userID string, mine, other *servertest.Client)
			mine, other bool // still signed in afterwards
		}{
			{"logout through the API", false, func(t *testing.T, _ string, mine, _ *servertest.Client) {
				wantStatus(t, "logout", mine.Do("POST", "/api/v1/logout", nil), 204)
			}, false, true},
			{"logout on the page", false, func(t *testing.T, _ string, mine, _ *servertest.Client) {
				mine.Token = ""
				wantStatus(t, "logout", mine.PostForm("/logout", nil), 303)
			}, false, true},
			{"revoking the other session", false, func(t *testing.T, _ string, mine, other *servertest.Client) {
				var otherID string
				for _, s := range mine.Get("/api/v1/me/sessions").JSON(t)["sessions"].([]any) {
					if s.(map[string]any)["current"] == false {
						otherID = s.(map[string]any)["id"].(string)
					}
				}
				wantStatus(t, "revoke", mine.Do("DELETE", "/api/v1/me/sessions/"+otherID, nil), 204)
			}, true, false},
			{"a new password", false, func(t *testing.T, _ string, mine, _ *servertest.Client) {
				mine.Token = ""
				wantStatus(t, "change", mine.PostForm("/settings/password",
					map[string]string{"current_password": pw, "new_password": otherPW, "confirm_password": otherPW}), 303)
			}, true, false},
			{"a password reset", false, func(t *testing.T, userID string, mine, _ *servertest.Client) {
				email := mine.Get("/api/v1/me").Str(t, "email")
				wantStatus(t, "reset request", w.s.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": email}), 202)
				token := testenv.LinkToken(t, w.s.SMTP.WaitFor(t, email, "Reset").Text)
				wantStatus(t, "reset", w.s.Client(t).Do("POST", "/api/v1/password-reset/confirm",
					map[string]string{"token": token, "new_password": otherPW, "confirm_password": otherPW}), 204)
			}, false, false},
			{"a temporary password from an admin", false, func(t *testing.T, userID string, _, _ *servertest.Client) {
				wantStatus(t, "temporary", ada.Do("POST", "/api/v1/company/users/"+userID+"/password-reset", map[string]string{"method": "temporary"}), 200)
			}, false, false},
			{"disabled by an admin", false, func(t *testing.T, userID string, _, _ *servertest.Client) {
				wantStatus(t, "disable", ada.Do("PATCH", "/api/v1/company/users/"+userID, map[string]any{"disabled": true}), 200)
			}, false, false},
			{"2FA removed by an admin", true, func(t *testing.T, userID string, _, _ *servertest.Client) {
				wantStatus(t, "remove 2FA", ada.Do("DELETE", "/api/v1/company/users/"+userID+"/totp", nil), 204)
			}, false, false},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("user%d@acme.example", i)
				userID := w.s.AddUser(t, w.acme, email, pw, gatehouse.RoleMember)
				var mine, other *servertest.Client
				if tc.totp {
					secret, _ := enableTOTP(t, w.s, w.api(t, email))
					mine, other = totpSignIn(t, w.s, email, secret), totpSignIn(t, w.s, email, secret)
				} else {
					mine, other = w.browser(t, email), w.api(t, email)
					mine.Token = mine.SessionCookie()
				}
				tc.act(t, userID, mine, other)
				for _, s := range []struct {
					who  string
					c    *servertest.Client
					want bool
				}{{"the acting session", mine, tc.mine}, {"the user's other session", other, tc.other}, {"a bystander", bystander, true}} {
					token := s.c.Token
					if token == "" {
						token = s.c.SessionCookie()
					}
					if got := authenticates(t, w.s, token); got != s.want {
						t.Errorf("%s signed in afterwards: got %v, want %v", s.who, got, s.want)
					}
				}
			})
		}
	})
}

// totpSignIn signs in through the API with the password and a code.
func totpSignIn(t *testing.T, s *servertest.Server, email string, secret []byte) *servertest.Client {
	t.Helper()
	c := s.Client(t)
	ch := challenge(t, c, email, "totp_required")
	alignClock(s)
	r := c.Do("POST", "/api/v1/login/totp", map[string]string{"challenge": ch, "code": codeAt(s, secret, 0)})
	wantStatus(t, "code step", r, 200)
	c.Token = r.Str(t, "session_token")
	return c
}

// The idle and absolute lifetimes are the server's: a client that keeps
// (or forges) the cookie past them is refused.
func TestSessionLifetimesAreEnforcedByTheServer(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db, servertest.WithOptions(func(o *server.Options) {
			o.SessionIdle, o.SessionLife = time.Hour, 3*time.Hour
		}))
		browser := w.browser(t, "mia@acme.example")
		token := browser.SessionCookie()
		w.s.Clock.Advance(time.Hour + time.Second)
		if authenticates(t, w.s, token) {
			t.Error("a session idle for longer than the idle timeout still works")
		}
		if r := browser.Get("/settings/profile"); r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("the idle session's page: got %d to %q, want 303 to the login page", r.StatusCode, r.Header.Get("Location"))
		}

		token = w.browser(t, "mia@acme.example").SessionCookie()
		start := w.s.Clock.Now()
		for w.s.Clock.Now().Sub(start)+50*time.Minute < 3*time.Hour {
			w.s.Clock.Advance(50 * time.Minute)
			if !authenticates(t, w.s, token) {
				t.Fatalf("an active session ended after %v, before its absolute lifetime", w.s.Clock.Now().Sub(start))
			}
		}
		w.s.Clock.Advance(3*time.Hour - w.s.Clock.Now().Sub(start))
		if authenticates(t, w.s, token) {
			t.Error("an active session outlived its absolute lifetime")
		}
	})
}

// TestCookieFlags walks a journey that sets every cookie Gatehouse has —
// language, challenge, session, flash, and their removal — and checks each
// Set-Cookie: never readable by scripts, never sent by other sites' forms,
// and behind https Secure with the __Host- prefix (which a sibling
// subdomain cannot plant).
func TestCookieFlags(t *testing.T) {
	for _, public := range []string{"", "https://login.example.com"} {
		t.Run("public URL "+public, func(t *testing.T) {
			var opts []servertest.Option
			if public != "" {
				opts = append(opts, servertest.WithOptions(func(o *server.Options) { o.PublicURL = public }))
			}
			w := newWorld(t, opts...)
			secure := public != ""
			origin := w.s.URL
			if secure {
				origin = public
			}
			secret, _ := enableTOTP(t, w.s, w.api(t, "mia@acme.example"))
			jar := map[string]string{}
			var seen []*http.Cookie
			do := func(method, path, form string) *servertest.Response {
				t.Helper()
				var cookies []string
				for k, v := range jar {
					cookies = append(cookies, k+"="+v)
				}
				h := map[string]string{"Cookie": strings.Join(cookies, "; ")}
				ct := ""
				if method == "POST" {
					h["Origin"], ct = origin, "application/x-www-form-urlencoded"
				}
				r := send(t, w.s, method, path, ct, []byte(form), h)
				for _, c := range r.Cookies() {
					seen = append(seen, c)
					if c.Value == "" {
						delete(jar, c.Name)
					} else {
						jar[c.Name] = c.Value
					}
				}
				return r
			}
			do("GET", "/lang/en?next=/login", "")
			do("POST", "/login", "email=mia%40acme.example&password="+url.QueryEscape(pw))
			alignClock(w.s)
			do("POST", "/login/2fa", "code="+codeAt(w.s, secret, 0))
			do("POST", "/settings/password", "current_password="+url.QueryEscape(pw)+"&new_password="+url.QueryEscape(otherPW)+
				"&confirm_password="+url.QueryEscape(otherPW))
			do("GET", "/settings/password", "")
			do("POST", "/logout", "")

			names := map[string]bool{}
			for _, c := range seen {
				base := strings.TrimPrefix(c.Name, "__Host-")
				names[base] = true
				if secure != strings.HasPrefix(c.Name, "__Host-") || c.Secure != secure {
					t.Errorf("cookie %s: Secure %v; want Secure and the __Host- prefix exactly when behind https", c, c.Secure)
				}
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
					t.Errorf("cookie %s: want HttpOnly, SameSite=Lax, Path=/ and no Domain", c)
				}
			}
			for _, want := range []string{httpx.SessionCookieName, httpx.ChallengeCookieName, httpx.FlashCookieName, httpx.LangCookieName} {
				if !names[want] {
					t.Errorf("the journey never set %s; cookies seen: %v", want, seen)
				}
			}
		})
	}
}
