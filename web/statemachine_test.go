package web_test

import (
	"context"
	"encoding/base32"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

func codeAt(t *testing.T, s *servertest.Server, secret string) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return totp.Code(raw, totp.Step(s.Clock.Now()))
}

var secretPattern = regexp.MustCompile(`data-secret>([A-Z2-7]+)<`)

// TestLoginStepsThroughPages walks the login state machine with forms: a
// temporary password to replace, the company's 2FA to set up, the
// recovery codes shown once, and a later login with a code.
func TestLoginStepsThroughPages(t *testing.T) {
	s := servertest.Start(t)
	companyID, adaID := s.Company(t, "Acme", "ada@example.com", goodPW)
	temp, err := s.App.Hasher.Hash(context.Background(), "temporary password 1")
	if err != nil {
		t.Fatal(err)
	}
	err = s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
		if err := tx.UpdateCompany(&gatehouse.Company{ID: companyID, Name: "Acme", RequireTOTP: true}); err != nil {
			return err
		}
		return tx.SetUserPassword(adaID, temp, true, tx.Now().Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client(t)
	wantRedirect(t, "2fa page without a login", c.Get("/login/2fa"), "/login")
	wantRedirect(t, "password", c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": "temporary password 1",
		"next": "/settings/sessions"}), "/login/change-password?next=%2Fsettings%2Fsessions")
	if c.SessionCookie() != "" {
		t.Fatal("a session cookie before the login completed")
	}
	wantPage(t, "change page", c.Get("/login/change-password?next=%2Fsettings%2Fsessions"), 200, "Choose a new password")
	wantPage(t, "mismatch", c.PostForm("/login/change-password", map[string]string{"new_password": otherPW, "confirm_password": goodPW}),
		400, "Passwords do not match")
	wantRedirect(t, "change", c.PostForm("/login/change-password", map[string]string{"new_password": otherPW, "confirm_password": otherPW,
		"next": "/settings/sessions"}), "/login/setup-2fa?next=%2Fsettings%2Fsessions")

	page := c.Get("/login/setup-2fa")
	wantPage(t, "setup page", page, 200, "Set up two-factor authentication", "data:image/png;base64,")
	m := secretPattern.FindStringSubmatch(string(page.Body))
	if m == nil {
		t.Fatalf("no secret on the setup page:\n%s", page.Body)
	}
	again := c.Get("/login/setup-2fa")
	if m2 := secretPattern.FindStringSubmatch(string(again.Body)); m2 == nil || m2[1] != m[1] {
		t.Errorf("reloading the setup page changed the secret")
	}
	wantPage(t, "wrong code", c.PostForm("/login/setup-2fa", map[string]string{"code": "000000"}), 401, "That code is not valid")
	codes := c.PostForm("/login/setup-2fa", map[string]string{"code": codeAt(t, s, m[1]), "next": "/settings/sessions"})
	wantPage(t, "recovery codes", codes, 200, "Save your recovery codes", `href="/settings/sessions"`)
	if n := len(regexp.MustCompile(`<li><code>[A-Z0-9]{5}-[A-Z0-9]{5}</code></li>`).FindAll(codes.Body, -1)); n != 10 {
		t.Errorf("recovery codes shown: got %d, want 10", n)
	}
	wantPage(t, "signed in", c.Get("/settings/sessions"), 200, "This device")

	// The next login asks for a code.
	s.Clock.Advance(30 * time.Second)
	other := s.Client(t)
	wantRedirect(t, "password", other.PostForm("/login", map[string]string{"email": "ada@example.com", "password": otherPW}), "/login/2fa")
	wantPage(t, "2fa page", other.Get("/login/2fa"), 200, "6-digit code")
	wantPage(t, "wrong code", other.PostForm("/login/2fa", map[string]string{"code": "000000"}), 401, "That code is not valid")
	wantRedirect(t, "code", other.PostForm("/login/2fa", map[string]string{"code": codeAt(t, s, m[1])}), "/settings/profile")
	wantPage(t, "signed in", other.Get("/settings/profile"), 200, "ada@example.com")
}
