package web_test

import (
	"context"
	"encoding/base64"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/totp"
)

// browser is a test client that keeps cookies and checks pages.
type browser struct {
	*servertest.Client
	t *testing.T
}

func newBrowser(t *testing.T, s *servertest.Server) *browser { return &browser{s.Client(t), t} }

// post submits a form and expects a status, and for redirects a target.
func (b *browser) post(path string, form map[string]string, status int, location string) *servertest.Response {
	b.t.Helper()
	r := b.PostForm(path, form)
	b.want(r, status, location)
	return r
}

func (b *browser) get(path string, status int, location string) *servertest.Response {
	b.t.Helper()
	r := b.Get(path)
	b.want(r, status, location)
	return r
}

func (b *browser) want(r *servertest.Response, status int, location string) {
	b.t.Helper()
	if r.StatusCode != status {
		b.t.Fatalf("%s %s: got %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
	}
	if location != "" && r.Header.Get("Location") != location {
		b.t.Fatalf("%s %s: redirected to %q, want %q", r.Request.Method, r.Request.URL.Path, r.Header.Get("Location"), location)
	}
}

func (b *browser) login(email string) {
	b.t.Helper()
	b.post("/login", map[string]string{"email": email, "password": pw}, 303, "/settings/profile")
}

func mustContain(t *testing.T, page *servertest.Response, parts ...string) {
	t.Helper()
	body := html.UnescapeString(string(page.Body))
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("%s %s: page lacks %q:\n%s", page.Request.Method, page.Request.URL.Path, p, page.Body)
		}
	}
}

func mustNotContain(t *testing.T, page *servertest.Response, parts ...string) {
	t.Helper()
	body := html.UnescapeString(string(page.Body))
	for _, p := range parts {
		if strings.Contains(body, p) {
			t.Fatalf("%s %s: page shows %q:\n%s", page.Request.Method, page.Request.URL.Path, p, page.Body)
		}
	}
}

var (
	qrPattern   = regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`)
	codePattern = regexp.MustCompile(`<li><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></li>`)
)

// pageQR returns the QR code image and the secret text a page shows.
func pageQR(t *testing.T, page *servertest.Response) (png []byte, secret string) {
	t.Helper()
	m := qrPattern.FindSubmatch(page.Body)
	if m == nil {
		t.Fatalf("%s: no QR code image:\n%s", page.Request.URL.Path, page.Body)
	}
	png, err := base64.StdEncoding.DecodeString(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatalf("QR data URL: %v", err)
	}
	s := secretPattern.FindSubmatch(page.Body)
	if s == nil {
		t.Fatalf("%s: no secret text:\n%s", page.Request.URL.Path, page.Body)
	}
	return png, string(s[1])
}

func pageRecoveryCodes(t *testing.T, page *servertest.Response) []string {
	t.Helper()
	var codes []string
	for _, m := range codePattern.FindAllSubmatch(page.Body, -1) {
		codes = append(codes, string(m[1]))
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%s: got %d recovery codes, want %d:\n%s", page.Request.URL.Path, len(codes), auth.RecoveryCodeCount, page.Body)
	}
	mustContain(t, page, `download="gatehouse-recovery-codes.txt"`, "data:text/plain;charset=utf-8,"+codes[0], "data-copy=")
	return codes
}

// phone plays the authenticator app: zbarimg scans the QR code the page
// shows and oathtool makes the codes.
type phone struct {
	t                 *testing.T
	s                 *servertest.Server
	zbarimg, oathtool string
	secret            string
}

func newPhone(t *testing.T, s *servertest.Server) *phone {
	t.Helper()
	p := &phone{t: t, s: s}
	for _, tool := range []struct {
		path      *string
		name, pkg string
	}{{&p.zbarimg, "zbarimg", "zbar-tools"}, {&p.oathtool, "oathtool", "oathtool"}} {
		path, err := exec.LookPath(tool.name)
		if err != nil {
			testenv.Need(t, tool.name+" is not installed (apt-get install "+tool.pkg+")")
		}
		*tool.path = path
	}
	return p
}

// scan reads the page's QR code and checks it against the secret text.
func (p *phone) scan(page *servertest.Response) {
	p.t.Helper()
	png, text := pageQR(p.t, page)
	file := filepath.Join(p.t.TempDir(), "qr.png")
	if err := os.WriteFile(file, png, 0o600); err != nil {
		p.t.Fatal(err)
	}
	out, err := exec.Command(p.zbarimg, "--raw", "-q", file).Output()
	if err != nil {
		p.t.Fatalf("zbarimg: %v", err)
	}
	uri, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Query().Get("issuer") != "Gatehouse" {
		p.t.Fatalf("zbarimg read %q (%v), want an otpauth://totp URI with issuer Gatehouse", out, err)
	}
	p.secret = uri.Query().Get("secret")
	if p.secret != text {
		p.t.Fatalf("the QR code holds secret %s, the page's text says %s", p.secret, text)
	}
}

// code is what the app shows now, by the server's clock.
func (p *phone) code() string {
	p.t.Helper()
	at := "@" + strconv.FormatInt(p.s.Clock.Now().Unix(), 10)
	out, err := exec.Command(p.oathtool, "--totp", "-b", "-N", at, p.secret).CombinedOutput()
	if err != nil {
		p.t.Fatalf("oathtool: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// alignClock moves the server's clock two seconds into the next step.
func alignClock(s *servertest.Server) {
	now := s.Clock.Now()
	s.Clock.Advance(now.Truncate(totp.Period).Add(totp.Period + 2*time.Second).Sub(now))
}

// The profile page journey as a person takes it, without JavaScript: the
// toggle, the QR code scanned by a "phone", Save, the recovery codes, a
// login with the app, new recovery codes, turning it off.
func TestProfileTwoFactorJourney(t *testing.T) {
	s := servertest.Start(t)
	s.Company(t, "Acme", "ada@example.com", pw)
	ph := newPhone(t, s)
	b := newBrowser(t, s)
	b.login("ada@example.com")

	page := b.get("/settings/profile", 200, "")
	mustContain(t, page, "Two-Factor Authentication", `action="/settings/totp"`, `role="switch"`,
		"delete the old Gatehouse entry from your app")
	mustNotContain(t, page, `id="enable_password"`, "data:image/png")

	alignClock(s)
	b.post("/settings/totp", nil, 303, "/settings/profile#two-factor")
	page = b.get("/settings/profile", 200, "")
	mustContain(t, page, `action="/settings/totp/confirm"`, "Save", "delete the old Gatehouse entry from your app")
	if again := b.get("/settings/profile", 200, ""); secretPattern.FindString(string(again.Body)) != secretPattern.FindString(string(page.Body)) {
		t.Fatal("a second GET of the profile page showed another secret")
	}
	ph.scan(page)

	// Until a code confirms it, login is unchanged.
	newBrowser(t, s).login("ada@example.com")

	page = b.post("/settings/totp/confirm", map[string]string{"code": "000000"}, 401, "")
	mustContain(t, page, "That code is not valid", `action="/settings/totp/confirm"`)
	page = b.post("/settings/totp/confirm", map[string]string{"code": ph.code()}, 200, "")
	recovery := pageRecoveryCodes(t, page)
	s.SMTP.WaitFor(t, "ada@example.com", "Two-factor authentication is on")

	page = b.get("/settings/profile", 200, "")
	mustContain(t, page, `data-totp-status="on"`, "Recovery codes left: 10.", `action="/settings/totp/disable"`,
		`action="/settings/recovery-codes"`, "delete the old Gatehouse entry from your app")
	mustNotContain(t, page, "data:image/png")

	// Log out and in again: the code step.
	s.Clock.Advance(totp.Period)
	b.post("/logout", nil, 303, "/login")
	b.post("/login", map[string]string{"email": "ada@example.com", "password": pw}, 303, "/login/2fa")
	b.get("/settings/profile", 303, "/login?next=%2Fsettings%2Fprofile")
	mustContain(t, b.get("/login/2fa", 200, ""), `name="code"`, "Use a recovery code instead")
	b.post("/login/2fa", map[string]string{"code": ph.code()}, 303, "/settings/profile")
	b.get("/settings/profile", 200, "")

	// With a recovery code instead.
	r := newBrowser(t, s)
	r.post("/login", map[string]string{"email": "ada@example.com", "password": pw}, 303, "/login/2fa")
	mustContain(t, r.get("/login/2fa?recovery=1", 200, ""), `name="recovery_code"`)
	r.post("/login/2fa", map[string]string{"recovery_code": recovery[0]}, 303, "/settings/profile")

	// New recovery codes, with the password.
	page = b.post("/settings/recovery-codes", map[string]string{"password": "not my password at all"}, 400, "")
	mustContain(t, page, "Your current password is incorrect.")
	page = b.post("/settings/recovery-codes", map[string]string{"password": pw}, 200, "")
	pageRecoveryCodes(t, page)
	mustContain(t, page, "Your new recovery codes")

	// Off, with the password.
	page = b.post("/settings/totp/disable", map[string]string{"password": "not my password at all"}, 400, "")
	mustContain(t, page, "Your current password is incorrect.", `action="/settings/totp/disable"`)
	b.post("/settings/totp/disable", map[string]string{"password": pw}, 303, "/settings/profile#two-factor")
	page = b.get("/settings/profile", 200, "")
	mustContain(t, page, "Two-factor authentication is off.", `data-totp-status="off"`, `role="switch"`)
	s.SMTP.WaitFor(t, "ada@example.com", "Two-factor authentication is off")
}

// After 15 minutes the toggle asks for the password; a cancelled setup
// changes nothing.
func TestProfileTwoFactorReauthAndCancel(t *testing.T) {
	s := servertest.Start(t)
	s.Company(t, "Acme", "ada@example.com", pw)
	b := newBrowser(t, s)
	b.login("ada@example.com")

	s.Clock.Advance(auth.ReauthWindow + time.Minute)
	page := b.get("/settings/profile", 200, "")
	mustContain(t, page, `id="enable_password"`, "For your security, enter your password to continue.")
	page = b.post("/settings/totp", nil, 403, "")
	mustContain(t, page, "Enter your password to continue.")
	b.post("/settings/totp", map[string]string{"password": pw}, 303, "/settings/profile#two-factor")
	mustContain(t, b.get("/settings/profile", 200, ""), "data:image/png;base64,")

	b.post("/settings/totp/cancel", nil, 303, "/settings/profile#two-factor")
	page = b.get("/settings/profile", 200, "")
	mustContain(t, page, "Two-factor setup was cancelled", `role="switch"`)
	mustNotContain(t, page, "data:image/png")
}

// A company that requires 2FA sends a user without it through setup at
// login, before any other page, and shows the recovery codes once.
func TestForcedSetupPages(t *testing.T) {
	s := servertest.Start(t)
	companyID, _ := s.Company(t, "Acme", "ada@example.com", pw)
	err := s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
		c, err := tx.Company(companyID)
		if err != nil {
			return err
		}
		c.RequireTOTP = true
		return tx.UpdateCompany(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	ph := newPhone(t, s)
	b := newBrowser(t, s)
	alignClock(s)
	b.post("/login", map[string]string{"email": "ada@example.com", "password": pw}, 303, "/login/setup-2fa")
	b.get("/settings/profile", 303, "/login?next=%2Fsettings%2Fprofile")
	page := b.get("/login/setup-2fa", 200, "")
	mustContain(t, page, "Your company requires two-factor authentication")
	ph.scan(page)

	page = b.post("/login/setup-2fa", map[string]string{"code": "000000"}, 401, "")
	mustContain(t, page, "That code is not valid")
	ph.scan(page) // the same QR code again
	page = b.post("/login/setup-2fa", map[string]string{"code": ph.code()}, 200, "")
	pageRecoveryCodes(t, page)
	mustContain(t, b.get("/settings/profile", 200, ""), `data-totp-status="on"`,
		"Your company requires two-factor authentication, so it can't be turned off.")
	mustNotContain(t, b.get("/settings/profile", 200, ""), `action="/settings/totp/disable"`)
}
