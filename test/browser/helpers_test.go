package browser_test

import (
	"context"
	"encoding/base32"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/totp"
)

const (
	goodPW  = testenv.GoodPassword
	otherPW = testenv.OtherPassword
	thirdPW = "river lantern quartz meadow"
)

// acme is a server with the company Acme, its admin Ada Lovelace and a
// member, Carl Jensen.
type acme struct {
	*servertest.Server
	CompanyID, AdaID, CarlID string
}

const (
	adaEmail  = "ada@acme.example"
	carlEmail = "carl@acme.example"
)

func startAcme(t *testing.T, opts ...servertest.Option) *acme {
	t.Helper()
	s := servertest.Start(t, opts...)
	c, u, _, err := s.Service().CreateCompany(context.Background(), auth.NewCompany{
		Name: "Acme", AdminName: "Ada Lovelace", AdminEmail: adaEmail, Password: goodPW,
	}, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	a := &acme{Server: s, CompanyID: c.ID, AdaID: u.ID}
	a.CarlID = a.addUser(t, "Carl Jensen", carlEmail, goodPW, gatehouse.RoleMember)
	return a
}

// inEachLanguage runs journey in each supported language, in parallel:
// Acme on a server of its own (started with opts), Ada signed in on a
// browser that asks for the language; T translates into it.
func inEachLanguage(t *testing.T, opts []servertest.Option,
	journey func(t *testing.T, s *acme, p *browsertest.Page, T func(string, ...any) string, lang string)) {
	t.Parallel()
	cat := catalogue(t)
	for _, lang := range i18n.Supported {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			s := startAcme(t, opts...)
			p := browsertest.NewPage(t, s.URL, browsertest.AcceptLanguage(lang))
			login(p, adaEmail, goodPW, "/settings/profile")
			journey(t, s, p, func(key string, args ...any) string { return cat.T(lang, key, args...) }, lang)
		})
	}
}

// addUser adds an active user with a proper name.
func (a *acme) addUser(t *testing.T, name, email, pw string, role gatehouse.Role) string {
	t.Helper()
	id := a.AddUser(t, a.CompanyID, email, pw, role)
	err := a.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
		return tx.SetUserProfile(id, name, email, role)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// login logs in through the login page and waits for the page after it.
func login(p *browsertest.Page, email, pw, wantPath string) {
	p.T.Helper()
	p.Open("/login")
	answerLogin(p, email, pw, wantPath)
}

// answerLogin answers the login page the browser is on (opened, or where
// an app or the proxy sent it) and waits for the page after it.
func answerLogin(p *browsertest.Page, email, pw, wantPath string) {
	p.T.Helper()
	p.Fill("#email", email)
	p.Fill("#password", pw)
	p.Submit("form[action='/login'] button[type=submit]")
	p.WaitPath(wantPath)
}

// answerCode answers the login's 2FA page with an authenticator app's
// code and waits for the page after it.
func answerCode(p *browsertest.Page, code, wantPath string) {
	p.T.Helper()
	p.Fill("#code", code)
	p.Submit(`form[action="/login/2fa"] button[type=submit]`)
	p.WaitPath(wantPath)
}

// logout uses the user menu.
func logout(p *browsertest.Page) {
	p.T.Helper()
	p.Click(".user-menu summary")
	p.WaitVisible(".user-menu .menu")
	p.Submit(".user-menu form[action='/logout'] button")
	p.WaitPath("/login")
}

// mailLink waits for a mail to `to` whose subject holds subject and returns
// its link's path and query, to open on the test's server.
func mailLink(t *testing.T, s *servertest.Server, to, subject string) (path string, m smtptest.Mail) {
	t.Helper()
	m = s.SMTP.WaitFor(t, to, subject)
	u, err := url.Parse(testenv.Link(t, m.Text))
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI(), m
}

// code returns the TOTP code of secret at the server's time.
func code(s *servertest.Server, secret []byte) string {
	return totp.Code(secret, totp.Step(s.Clock.Now()))
}

// nextCode moves the server's clock to the next 30-second step, since a
// step's code works once, and returns that step's code.
func nextCode(s *servertest.Server, secret []byte) string {
	s.Clock.Advance(30 * time.Second)
	return code(s, secret)
}

// readQR decodes the QR code shown by the element matched by selector,
// from a picture of it, as a phone's camera would, and returns the secret
// of its otpauth:// URI.
func readQR(t *testing.T, p *browsertest.Page, selector string) []byte {
	t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		testenv.Need(t, "zbarimg is not installed (apt-get install zbar-tools)")
	}
	file := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(file, p.ElementPNG(selector), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v (is the QR code readable?)", err)
	}
	uri, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" {
		t.Fatalf("QR code: got %q, want an otpauth://totp/ URI", out)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(uri.Query().Get("secret"))
	if err != nil || len(secret) == 0 {
		t.Fatalf("QR code: no secret in %q", out)
	}
	return secret
}

// setUpTOTPAtLogin goes through the login's forced 2FA setup page: its
// QR code (pictured as shot) read as a phone would, a code confirmed, the
// ten recovery codes shown. It returns the secret.
func setUpTOTPAtLogin(t *testing.T, p *browsertest.Page, s *servertest.Server, shot string) []byte {
	t.Helper()
	p.WaitVisible("img[data-qr]")
	p.Screenshot(shot)
	secret := readQR(t, p, "img[data-qr]")
	p.Fill("#code", code(s, secret))
	p.Submit(`form[action="/login/setup-2fa"] button[type=submit]`)
	p.WaitVisible("#recovery-codes")
	if n := len(strings.Fields(p.Text("#recovery-codes"))); n != 10 {
		t.Errorf("recovery codes: got %d, want 10", n)
	}
	return secret
}

// enableTOTP turns 2FA on for a user through the API, for tests about
// what comes after, and returns the secret and recovery codes.
func enableTOTP(t *testing.T, s *servertest.Server, email, pw string) (secret []byte, recovery []string) {
	t.Helper()
	c := s.Client(t)
	c.Token = c.Login(email, pw)
	r := c.Do("POST", "/api/v1/me/totp", map[string]string{"password": pw})
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.Str(t, "secret"))
	if err != nil {
		t.Fatalf("begin 2FA: got %d %s", r.StatusCode, r.Body)
	}
	r = c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": code(s, secret)})
	for _, rc := range r.JSON(t)["recovery_codes"].([]any) {
		recovery = append(recovery, rc.(string))
	}
	if len(recovery) != 10 {
		t.Fatalf("confirm 2FA: got %d %s, want 10 recovery codes", r.StatusCode, r.Body)
	}
	return secret, recovery
}

// wantToast waits for a success or error message at the top right.
func wantToast(p *browsertest.Page, text string) {
	p.T.Helper()
	p.WaitToast(text)
}

// wantNoOverflow fails when the page is wider than the screen, which on a
// phone means sideways scrolling.
func wantNoOverflow(t *testing.T, p *browsertest.Page, what string) {
	t.Helper()
	if w := browsertest.Eval[float64](p, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("%s: the page is %v px wider than the screen", what, w)
	}
}
