package browser_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestEnableTwoFactor is the help centre's "turn on two-factor
// authentication": the QR code on the page is read from its picture, as a
// phone would, and the code computed from it is pasted with a space.
func TestEnableTwoFactor(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	p.Screenshot("profile")
	p.Submit(`form[action="/settings/totp"] button[role=switch]`)
	p.WaitVisible("img[data-qr]")
	p.Screenshot("two-factor-setup")
	if !p.Visible("#code") || p.Attr("#code", "autocomplete") != "one-time-code" {
		t.Error("no one-time-code field beside the QR code")
	}

	secret := readQR(t, p, "img[data-qr]")
	// The key in text, for those who cannot scan, is the same secret.
	p.Click("details.secret summary")
	if got := strings.ReplaceAll(p.Text("#totp-secret"), " ", ""); got == "" || !strings.Contains(p.Attr("img[data-qr]", "alt"), "QR") {
		t.Errorf("secret in text: got %q; QR alt %q", got, p.Attr("img[data-qr]", "alt"))
	}

	c := code(s.Server, secret)
	p.Paste("#code", c[:3]+" "+c[3:])
	if got := p.Value("#code"); got != c {
		t.Errorf("pasted %q: the field holds %q, want the digits %q", c[:3]+" "+c[3:], got, c)
	}
	p.Submit(`form[action="/settings/totp/confirm"] button[type=submit]`)

	// The recovery codes, shown once, with copy and download.
	p.WaitVisible("#recovery-codes")
	codes := strings.Fields(p.Text("#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes: got %q, want 10", codes)
	}
	p.Screenshot("recovery-codes")
	p.Click("[data-copy='#recovery-codes']")
	p.WaitFor("the copy button to say Copied", `document.querySelector("[data-copy='#recovery-codes']").innerText.includes("Copied")`)
	if got := strings.Fields(p.Clipboard()); strings.Join(got, " ") != strings.Join(codes, " ") {
		t.Errorf("clipboard: got %q, want the codes %q", got, codes)
	}
	p.Click("[data-download-link]")
	if got := strings.Fields(string(p.WaitDownload("gatehouse-recovery-codes.txt"))); strings.Join(got, " ") != strings.Join(codes, " ") {
		t.Errorf("downloaded file: got %q, want the codes %q", got, codes)
	}
	p.ClickLink("Done")
	p.WaitPath("/settings/profile")
	p.WaitVisible(`[data-totp-status="on"]`)
	p.WaitText("Recovery codes left: 10.")
	p.Screenshot("profile-two-factor-on")
	s.SMTP.WaitFor(t, adaEmail, "Two-factor authentication is on")
}

// TestLoginWithCode is the help centre's "log in with two-factor
// authentication", with a code and then with a recovery code.
func TestLoginWithCode(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	secret, recovery := enableTOTP(t, s.Server, adaEmail, goodPW)

	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/login/2fa")
	p.WaitText("Open your authenticator app")
	if got := p.Focused(); got != "code" {
		t.Errorf("focus on the 2FA page: got %q, want the code field", got)
	}
	p.Screenshot("login-two-factor")
	p.Fill("#code", "000000")
	p.Submit(`form[action="/login/2fa"] button[type=submit]`)
	wantToast(p, "That code is not valid.")
	answerCode(p, nextCode(s.Server, secret), "/settings/profile")

	q := browsertest.NewPage(t, s.URL)
	login(q, adaEmail, goodPW, "/login/2fa")
	q.ClickLink("Use a recovery code instead")
	q.WaitVisible("#recovery_code")
	q.Screenshot("login-recovery-code")
	q.Fill("#recovery_code", recovery[3])
	q.Submit(`form[action="/login/2fa"] button[type=submit]`)
	q.WaitPath("/settings/profile")
	q.WaitText("Recovery codes left: 9.")
	q.Click(`.sidebar a[href="/settings/sessions"]`)
	q.WaitText("This device")
	q.Screenshot("sessions")
	s.SMTP.WaitFor(t, adaEmail, "recovery code was used")

	// A used recovery code does not work twice.
	r := browsertest.NewPage(t, s.URL)
	login(r, adaEmail, goodPW, "/login/2fa")
	r.Open("/login/2fa?recovery=1")
	r.Fill("#recovery_code", recovery[3])
	r.Submit(`form[action="/login/2fa"] button[type=submit]`)
	wantToast(r, "That code is not valid.")
}
