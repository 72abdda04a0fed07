package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// openReset goes from the user list to the reset page of Carl.
func openReset(t *testing.T, p *browsertest.Page, s *acme) {
	t.Helper()
	p.Click(`.sidebar a[href="/settings/users"]`)
	p.WaitPath("/settings/users")
	p.Submit(`a[href="/settings/users/` + s.CarlID + `/reset-password"]`)
	p.WaitPath("/settings/users/" + s.CarlID + "/reset-password")
}

// TestAdminResetByLink is the help centre's "reset a user's password"
// with an emailed link: the admin confirms in a dialog, the user gets the
// mail and sets a new password.
func TestAdminResetByLink(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	p.Open("/settings/users")
	p.Screenshot("users")
	openReset(t, p, s)
	p.Screenshot("reset-user")
	p.Click(`input[name=method][value=email]`)
	p.Click(`form[data-reset-confirm] button[type=submit]`)
	p.WaitVisible("#confirm-dialog")
	if got := p.Text("#confirm-dialog"); !strings.Contains(got, "Reset the password of Carl Jensen?") || !strings.Contains(got, carlEmail) {
		t.Errorf("the dialog says %q", got)
	}
	if got := p.Focused(); got != "confirm-dialog-cancel" {
		t.Errorf("focus in the dialog: got %q, want Cancel", got)
	}
	p.Screenshot("reset-user-dialog")
	p.Submit("#confirm-dialog-ok")
	p.WaitPath("/settings/users/" + s.CarlID)
	wantToast(p, "Password reset link sent.")

	link, _ := mailLink(t, s.Server, carlEmail, "Reset your Gatehouse password")
	c := browsertest.NewPage(t, s.URL)
	c.Open(link)
	c.Fill("#new_password", thirdPW)
	c.Fill("#confirm_password", thirdPW)
	c.Submit(`form[action="/reset-password"] button[type=submit]`)
	wantToast(c, "Your password has been successfully reset")
	login(c, carlEmail, thirdPW, "/settings/profile")
}

// TestAdminResetByTemporaryPassword: the admin sets a temporary password,
// copies it, and the user must choose a new one at the next login.
func TestAdminResetByTemporaryPassword(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	openReset(t, p, s)
	p.Click(`input[name=method][value=temporary]`)
	p.Click(`form[data-reset-confirm] button[type=submit]`)
	p.WaitVisible("#confirm-dialog")
	if got := p.Text("#confirm-dialog"); !strings.Contains(got, "generate a temporary password for Carl Jensen") {
		t.Errorf("the dialog says %q", got)
	}
	// Cancel first: nothing happens.
	p.Press(kb.Escape)
	p.WaitHidden("#confirm-dialog")
	if p.Path() != "/settings/users/"+s.CarlID+"/reset-password" {
		t.Fatalf("after cancelling: at %s", p.Path())
	}
	p.Click(`form[data-reset-confirm] button[type=submit]`)
	p.WaitVisible("#confirm-dialog")
	p.Submit("#confirm-dialog-ok")
	p.WaitVisible("[data-temporary-password]")
	temp := p.Text("[data-temporary-password]")
	if len(strings.ReplaceAll(temp, "-", "")) < 16 {
		t.Fatalf("temporary password: got %q", temp)
	}
	p.Screenshot("temporary-password")
	p.Click("[data-copy='#temporary-password']")
	p.WaitFor("the copy button to say Copied", `document.querySelector("[data-copy='#temporary-password']").innerText.includes("Copied")`)
	if got := p.Clipboard(); got != temp {
		t.Errorf("clipboard: got %q, want %q", got, temp)
	}
	s.SMTP.WaitFor(t, carlEmail, "password was reset")

	// Carl logs in with it and must choose his own.
	c := browsertest.NewPage(t, s.URL)
	login(c, carlEmail, temp, "/login/change-password")
	c.WaitText("Your administrator gave you a temporary password.")
	const save = `form[action="/login/change-password"] button[type=submit]`
	top := func() float64 {
		return browsertest.Eval[float64](c, `document.querySelector('`+save+`').getBoundingClientRect().top`)
	}
	before := top()
	c.Fill("#new_password", thirdPW)
	c.Fill("#confirm_password", "river lantern quartz")
	c.WaitText("Passwords do not match")
	if !c.Disabled(save) {
		t.Error("Save is enabled while the passwords differ")
	}
	c.Screenshot("forced-password-change")
	c.Fill("#confirm_password", thirdPW)
	// The verdict arrives while a person reaches for Save: it must not
	// move the button from under the pointer.
	c.WaitVisible(`.meter[data-level="strong"]`)
	if after := top(); after != before {
		t.Errorf("Save moved from %v to %v when the strength meter filled in", before, after)
	}
	c.Submit(save)
	c.WaitPath("/settings/profile")
	c.WaitText("Carl Jensen")
}

// TestAdminDisablesUser: disabling asks first in a dialog, usable by
// keyboard; Cancel (or Escape) changes nothing.
func TestAdminDisablesUser(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	p.Open("/settings/users/" + s.CarlID)
	p.Screenshot("user")
	p.Do(`document.querySelector('form[action$="/disable"] button').focus()`)
	p.Press(kb.Enter)
	p.WaitVisible("#confirm-dialog")
	if got := p.Text("#confirm-dialog-title"); got != "Disable Carl Jensen?" {
		t.Errorf("dialog title: got %q", got)
	}
	if got := p.Focused(); got != "confirm-dialog-cancel" {
		t.Errorf("focus: got %q, want Cancel", got)
	}
	p.Screenshot("disable-user-dialog")
	p.Press(kb.Enter) // on Cancel
	p.WaitHidden("#confirm-dialog")
	if got := p.Focused(); !strings.Contains(got, "Disable user") {
		t.Errorf("focus after cancelling: got %q, want back on the Disable button", got)
	}
	p.WaitText("Active")

	p.Press(kb.Enter)
	p.WaitVisible("#confirm-dialog")
	p.Press(kb.Tab) // to the confirm button
	if got := p.Focused(); got != "confirm-dialog-ok" {
		t.Errorf("focus after Tab: got %q, want the confirm button", got)
	}
	p.PressAndWait(kb.Enter)
	wantToast(p, "User disabled and signed out.")
	p.WaitText("Enable user")
	p.Click(`.sidebar a[href="/settings/audit"]`)
	p.WaitText("User disabled")
	p.Screenshot("audit")
}

// TestCompanyEnforcement: an admin requires two-factor authentication for
// the company (which takes 2FA of their own); a member without it is sent
// through the setup at the next login, reading the QR code like a phone.
func TestCompanyEnforcement(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	adaSecret, _ := enableTOTP(t, s.Server, adaEmail, goodPW)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/login/2fa")
	answerCode(p, nextCode(s.Server, adaSecret), "/settings/profile")
	p.Click(`.sidebar a[href="/settings/company"]`)
	p.WaitPath("/settings/company")
	p.Click("#require_totp")
	p.Screenshot("company")
	p.Submit(`form[action="/settings/company"] button[type=submit]`)
	wantToast(p, "Company settings saved.")

	c := browsertest.NewPage(t, s.URL)
	login(c, carlEmail, goodPW, "/login/setup-2fa")
	c.WaitText("Your company requires two-factor authentication.")
	secret := setUpTOTPAtLogin(t, c, s.Server, "setup-two-factor")
	c.Screenshot("setup-two-factor-recovery-codes")
	c.ClickLink("I saved my codes, continue")
	c.WaitPath("/settings/profile")
	c.WaitVisible(`[data-totp-status="on"]`)
	c.WaitText("Your company requires two-factor authentication, so it can't be turned off.")

	// The next login asks for a code.
	d := browsertest.NewPage(t, s.URL)
	login(d, carlEmail, goodPW, "/login/2fa")
	answerCode(d, nextCode(s.Server, secret), "/settings/profile")
}
