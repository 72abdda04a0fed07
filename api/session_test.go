package api_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

func TestLoginAnswersAuthenticatedWithUserAndCookie(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	r := login(c, "  ADA@Example.com ", goodPW)
	if r.StatusCode != 200 {
		t.Fatalf("login: got %d %s, want 200", r.StatusCode, r.Body)
	}
	body := r.JSON(t)
	if body["status"] != "authenticated" {
		t.Fatalf("status: got %v, want authenticated", body["status"])
	}
	token, _ := body["session_token"].(string)
	if len(token) != 43 {
		t.Errorf("session_token: got %q, want 43 characters", token)
	}
	if exp, err := time.Parse(time.RFC3339, body["expires_at"].(string)); err != nil || exp.Before(time.Now()) {
		t.Errorf("expires_at: got %v (%v), want a future RFC 3339 time", body["expires_at"], err)
	}
	user, _ := body["user"].(map[string]any)
	for _, k := range []string{"id", "email", "name", "company_id", "role", "totp_enabled", "must_change_password"} {
		if _, ok := user[k]; !ok {
			t.Errorf("user: no member %q in %v", k, user)
		}
	}
	if user["email"] != "ada@example.com" || user["role"] != "admin" || user["totp_enabled"] != false {
		t.Errorf("user: got %v, want ada@example.com, admin, no 2FA", user)
	}
	if got := c.SessionCookie(); got != token {
		t.Errorf("cookie %s: got %q, want the session token", httpx.SessionCookieName, got)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", cc)
	}
}

func TestMeByCookieAndByBearer(t *testing.T) {
	s := startAcme(t)
	browser := s.Client(t)
	token := browser.Login("ada@example.com", goodPW)

	if r := browser.Get("/api/v1/me"); r.StatusCode != 200 || r.Str(t, "email") != "ada@example.com" {
		t.Errorf("me by cookie: got %d %s, want 200 ada", r.StatusCode, r.Body)
	}
	program := s.Client(t)
	program.Token = token
	if r := program.Get("/api/v1/me"); r.StatusCode != 200 || r.Str(t, "email") != "ada@example.com" {
		t.Errorf("me by bearer: got %d %s, want 200 ada", r.StatusCode, r.Body)
	}
	for _, bad := range []string{"", "garbage", token + "x", "Bearer"} {
		anon := s.Client(t)
		anon.Token = bad
		wantProblem(t, "me with token "+bad, anon.Get("/api/v1/me"), 401, "unauthenticated")
	}
	anon := s.Client(t)
	anon.Header["Authorization"] = "Basic " + token
	wantProblem(t, "me with another scheme", anon.Get("/api/v1/me"), 401, "unauthenticated")
}

func TestLogoutEndsExactlyThisSession(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := startAcme(t, db)
		first, second := s.Client(t), s.Client(t)
		first.Token = first.Login("ada@example.com", goodPW)
		second.Token = second.Login("ada@example.com", goodPW)

		if r := first.Do("POST", "/api/v1/logout", nil); r.StatusCode != 204 {
			t.Fatalf("logout: got %d %s, want 204", r.StatusCode, r.Body)
		}
		wantProblem(t, "me after logout", first.Get("/api/v1/me"), 401, "unauthenticated")
		wantProblem(t, "logout again", first.Do("POST", "/api/v1/logout", nil), 401, "unauthenticated")
		if r := second.Get("/api/v1/me"); r.StatusCode != 200 {
			t.Errorf("the other session: got %d %s, want 200", r.StatusCode, r.Body)
		}
	})
}

func TestSessionsListAndRevoke(t *testing.T) {
	s := startAcme(t)
	first, second := s.Client(t), s.Client(t)
	first.Token = first.Login("ada@example.com", goodPW)
	second.Token = second.Login("ada@example.com", goodPW)
	r := first.Get("/api/v1/me/sessions")
	list, _ := r.JSON(t)["sessions"].([]any)
	if r.StatusCode != 200 || len(list) != 2 {
		t.Fatalf("sessions: got %d %s, want 200 with 2", r.StatusCode, r.Body)
	}
	var other string
	for _, item := range list {
		sess := item.(map[string]any)
		for _, k := range []string{"id", "created_at", "last_seen_at", "ip", "user_agent", "current"} {
			if _, ok := sess[k]; !ok {
				t.Errorf("session: no member %q in %v", k, sess)
			}
		}
		if sess["current"] == false {
			other = sess["id"].(string)
		}
	}
	wantProblem(t, "revoke unknown", first.Do("DELETE", "/api/v1/me/sessions/nope", nil), 404, "not_found")
	if r := first.Do("DELETE", "/api/v1/me/sessions/"+other, nil); r.StatusCode != 204 {
		t.Fatalf("revoke: got %d %s, want 204", r.StatusCode, r.Body)
	}
	wantProblem(t, "revoked session", second.Get("/api/v1/me"), 401, "unauthenticated")
	if r := first.Get("/api/v1/me"); r.StatusCode != 200 {
		t.Errorf("this session: got %d, want 200", r.StatusCode)
	}
}

func TestSessionsExpire(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW)
	// Idle for a day: the session ends.
	s.Clock.Advance(24*time.Hour + time.Second)
	wantProblem(t, "idle session", c.Get("/api/v1/me"), 401, "unauthenticated")

	// Active every hour: it still ends after seven days.
	c.Token = c.Login("ada@example.com", goodPW)
	for range 7 * 24 {
		s.Clock.Advance(time.Hour)
		if r := c.Get("/api/v1/me"); r.StatusCode != 200 {
			if s.Clock.Now().Before(time.Now().Add(7*24*time.Hour - time.Hour)) {
				t.Fatalf("active session ended early, at %v", s.Clock.Now())
			}
			return
		}
	}
	t.Fatalf("an active session outlived its seven days")
}

// TestLoginUpgradesImportedHashes: a bcrypt hash (an imported user) works,
// and the first login replaces it with argon2id.
func TestLoginUpgradesImportedHashes(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		_, adaID := s.Company(t, "Acme", "ada@example.com", goodPW)
		imported, err := bcrypt.GenerateFromPassword([]byte(otherPW), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		arrange(t, s, func(tx gatehouse.Tx) error { return tx.SetUserPassword(adaID, string(imported), false, time.Time{}) })
		s.Client(t).Login("ada@example.com", otherPW)
		var hash string
		s.SQL(t).QueryRow("SELECT password_hash FROM users WHERE id = $1", adaID).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$") {
			t.Errorf("hash after the login: got %.10s…, want argon2id", hash)
		}
		s.Client(t).Login("ada@example.com", otherPW)
	})
}
