package api_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

// addUser creates an active user with the password pw in a company.
func addUser(t *testing.T, s *servertest.Server, companyID, email string, role gatehouse.Role) string {
	t.Helper()
	ctx := context.Background()
	hash, err := s.App.Hasher.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	err = s.App.DB.Update(ctx, func(tx gatehouse.Tx) error {
		id = gatehouse.NewID(tx.Now())
		return tx.CreateUser(&gatehouse.User{ID: id, CompanyID: companyID, Email: email, Name: strings.Split(email, "@")[0],
			Role: role, PasswordHash: hash, PasswordChangedAt: tx.Now(), CreatedAt: tx.Now()})
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return id
}

// requireTOTP switches a company's 2FA requirement straight in the store.
func requireTOTP(t *testing.T, s *servertest.Server, companyID string, on bool) {
	t.Helper()
	err := s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
		c, err := tx.Company(companyID)
		if err != nil {
			return err
		}
		c.RequireTOTP = on
		return tx.UpdateCompany(c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// alignClock moves the server's clock two seconds into the next 30-second
// step, so that a test has most of a step before codes change under it.
func alignClock(s *servertest.Server) {
	now := s.Clock.Now()
	next := now.Truncate(totp.Period).Add(totp.Period + 2*time.Second)
	s.Clock.Advance(next.Sub(now))
}

// code is what the authenticator app shows now, by the server's clock.
func code(s *servertest.Server, secret []byte) string {
	return totp.Code(secret, totp.Step(s.Clock.Now()))
}

// codeAt is the app's code delta steps from now.
func codeAt(s *servertest.Server, secret []byte, delta int64) string {
	return totp.Code(secret, totp.Step(s.Clock.Now())+delta)
}

// wrongCode returns a code that no step in the window accepts.
func wrongCode(s *servertest.Server, secret []byte) string {
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != codeAt(s, secret, -1) && c != codeAt(s, secret, 0) && c != codeAt(s, secret, 1) {
			return c
		}
	}
	panic("unreachable")
}

// decodeSecret reads the base32 secret of an enrollment answer.
func decodeSecret(t *testing.T, b32 string) []byte {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b32)
	if err != nil || len(secret) != totp.SecretSize {
		t.Fatalf("secret %q: got %d bytes, %v; want %d bytes of base32", b32, len(secret), err, totp.SecretSize)
	}
	return secret
}

// enrollment is an answer of POST /api/v1/me/totp, checked.
type enrollment struct {
	Secret []byte
	B32    string
	URI    string
	QR     []byte
}

// beginTOTP starts enrollment and checks the answer's shape.
func beginTOTP(t *testing.T, c *servertest.Client, body any) enrollment {
	t.Helper()
	r := c.Do("POST", "/api/v1/me/totp", body)
	if r.StatusCode != 200 {
		t.Fatalf("POST /me/totp: got %d %s, want 200", r.StatusCode, r.Body)
	}
	return checkEnrollment(t, r)
}

func checkEnrollment(t *testing.T, r *servertest.Response) enrollment {
	t.Helper()
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", r.Request.URL.Path, got)
	}
	var e enrollment
	e.B32 = r.Str(t, "secret")
	e.Secret = decodeSecret(t, e.B32)
	e.URI = r.Str(t, "otpauth_uri")
	if !strings.Contains(string(r.Body), e.URI) {
		t.Errorf("%s: the body does not hold the otpauth URI as it reads: %s", r.Request.URL.Path, r.Body)
	}
	qr, err := base64.StdEncoding.DecodeString(r.Str(t, "qr_png"))
	if err != nil {
		t.Fatalf("qr_png is not base64: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(qr)); err != nil {
		t.Fatalf("qr_png is not a PNG: %v", err)
	}
	e.QR = qr
	return e
}

// recoveryCodes reads the recovery_codes of an answer and checks there are
// ten different ones.
func recoveryCodes(t *testing.T, r *servertest.Response) []string {
	t.Helper()
	raw, _ := r.JSON(t)["recovery_codes"].([]any)
	seen := map[string]bool{}
	var codes []string
	for _, v := range raw {
		s, _ := v.(string)
		if s == "" || seen[s] {
			t.Fatalf("recovery codes %v: empty or repeated %q", raw, s)
		}
		seen[s] = true
		codes = append(codes, s)
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("got %d recovery codes, want %d: %s", len(codes), auth.RecoveryCodeCount, r.Body)
	}
	return codes
}

// enableTOTP turns 2FA on for the client's user through the API and
// returns the secret and the recovery codes. It leaves the clock in the
// next step, so that the confirming code's step is behind the caller.
func enableTOTP(t *testing.T, s *servertest.Server, c *servertest.Client) ([]byte, []string) {
	t.Helper()
	alignClock(s)
	e := beginTOTP(t, c, nil)
	r := c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, e.Secret)})
	if r.StatusCode != 200 {
		t.Fatalf("confirm: got %d %s, want 200", r.StatusCode, r.Body)
	}
	codes := recoveryCodes(t, r)
	s.Clock.Advance(totp.Period)
	return e.Secret, codes
}

// loginChallenge logs in with the password and expects the given status.
func loginChallenge(t *testing.T, c *servertest.Client, email, status string) string {
	t.Helper()
	r := c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": pw})
	if r.StatusCode != 200 || r.Str(t, "status") != status {
		t.Fatalf("login %s: got %d %s, want 200 %s", email, r.StatusCode, r.Body, status)
	}
	ch := r.Str(t, "challenge")
	if ch == "" {
		t.Fatalf("login %s: no challenge in %s", email, r.Body)
	}
	return ch
}

// loginTOTP answers a totp_required challenge with body's code or
// recovery code.
func loginTOTP(c *servertest.Client, challenge string, body map[string]string) *servertest.Response {
	req := map[string]string{"challenge": challenge}
	for k, v := range body {
		req[k] = v
	}
	return c.Do("POST", "/api/v1/login/totp", req)
}

// loginWithCode logs in with password and code and returns the session token.
func loginWithCode(t *testing.T, s *servertest.Server, email string, secret []byte) string {
	t.Helper()
	c := s.Client(t)
	ch := loginChallenge(t, c, email, auth.StatusTOTPRequired)
	r := loginTOTP(c, ch, map[string]string{"code": code(s, secret)})
	wantAuthenticated(t, r)
	return r.Str(t, "session_token")
}

func wantAuthenticated(t *testing.T, r *servertest.Response) {
	t.Helper()
	if r.StatusCode != 200 || r.Str(t, "status") != auth.StatusAuthenticated || r.Str(t, "session_token") == "" {
		t.Fatalf("%s: got %d %s, want 200 authenticated with a session", r.Request.URL.Path, r.StatusCode, r.Body)
	}
}

// signedIn returns a client with a session for email (no 2FA yet).
func signedIn(t *testing.T, s *servertest.Server, email string) *servertest.Client {
	t.Helper()
	c := s.Client(t)
	c.Token = c.Login(email, pw)
	return c
}

// auditTypes returns the types of a company's audit events about a user.
func auditTypes(t *testing.T, s *servertest.Server, companyID, userID string) map[string]int {
	t.Helper()
	var events []*gatehouse.AuditEvent
	err := s.App.DB.View(context.Background(), func(tx gatehouse.Tx) (err error) {
		events, err = tx.AuditEvents(gatehouse.AuditFilter{CompanyID: companyID, UserID: userID, Limit: 500})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, e := range events {
		types[e.Type]++
	}
	return types
}
