package servertest

import (
	"encoding/base32"
	"time"

	"github.com/gatehouse/gatehouse/totp"
)

// SetUpTOTPAtLogin logs in as a user whom the company requires to use 2FA
// and completes the forced setup with a code computed for now (the
// server's time). It returns the secret and the session token.
func (c *Client) SetUpTOTPAtLogin(email, pw string, now time.Time) (secret []byte, session string) {
	c.t.Helper()
	r := c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": pw})
	if r.Str(c.t, "status") != "totp_setup_required" {
		c.t.Fatalf("login %s: got %d %s, want totp_setup_required", email, r.StatusCode, r.Body)
	}
	ch := r.Str(c.t, "challenge")
	r = c.Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": ch})
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.Str(c.t, "secret"))
	if err != nil {
		c.t.Fatalf("totp setup: got %s: %v", r.Body, err)
	}
	r = c.Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": ch, "code": totp.Code(secret, totp.Step(now))})
	if r.Str(c.t, "status") != "authenticated" {
		c.t.Fatalf("totp setup confirm: got %d %s, want authenticated", r.StatusCode, r.Body)
	}
	return secret, r.Str(c.t, "session_token")
}
