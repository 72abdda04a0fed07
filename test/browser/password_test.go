package browser_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestChangePassword is the help centre's "change your password": the
// mismatch warning shows and Update stays disabled until the fields
// agree; a wrong current password is an error; the right one changes it.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	p.Click(`.sidebar a[href="/settings/password"]`)
	p.WaitPath("/settings/password")

	const update = `form[action="/settings/password"] button[type=submit]`
	if !p.Disabled(update) {
		t.Fatal("Update is enabled on an empty form, want disabled")
	}
	// Update comes after the fields, on the screen and in the tab order
	// (it sat beside the heading, so Tab reached it before the fields).
	box := browsertest.Eval[map[string]float64](p, `(() => { const b = document.querySelector('`+update+`').getBoundingClientRect();
		const f = document.querySelector('#confirm_password').getBoundingClientRect();
		return {top: b.top, fieldBottom: f.bottom}; })()`)
	if box["top"] < box["fieldBottom"] {
		t.Errorf("Update at %v: want it below the last field", box)
	}

	p.Fill("#current_password", "not my password at all")
	p.Fill("#new_password", otherPW)
	p.Fill("#confirm_password", "copper lantern")
	p.WaitText("Passwords do not match")
	if !p.Disabled(update) {
		t.Error("Update is enabled while the passwords differ, want disabled")
	}
	if got := p.Attr("#confirm_password", "aria-invalid"); got != "true" {
		t.Errorf("confirm field aria-invalid: got %q, want true", got)
	}
	p.WaitVisible(`.meter[data-level="strong"]`) // the policy likes the new password
	p.Screenshot("change-password-mismatch")

	p.Fill("#confirm_password", otherPW)
	p.WaitFor("the mismatch warning to go", `document.querySelector("#mismatch").innerText === ""`)
	if p.Disabled(update) {
		t.Fatal("Update stays disabled when the passwords agree")
	}
	p.Do(`document.querySelector("#confirm_password").focus()`)
	p.Press(kb.Tab)
	if got := p.Focused(); got != "Update" {
		t.Errorf("Tab from the last field: focus on %q, want Update", got)
	}
	p.Submit(update)
	wantToast(p, "Your current password is incorrect.")
	if got := p.Attr("#current_password", "aria-invalid"); got != "true" {
		t.Errorf("current password aria-invalid after the error: got %q, want true", got)
	}
	p.Screenshot("change-password-error")

	p.Fill("#current_password", goodPW)
	// The error was about what was typed: typing again takes it away, and
	// with it from over the Update button.
	p.WaitFor("the error toast to go", `document.querySelector(".toast-error") === null`)
	p.Fill("#new_password", otherPW)
	p.Fill("#confirm_password", otherPW)
	p.Submit(update)
	wantToast(p, "Your password has been changed.")
	p.Screenshot("change-password-done")
	s.SMTP.WaitFor(t, adaEmail, "password was changed")

	logout(p)
	wantToast(p, "You have been logged out.")
	login(p, adaEmail, otherPW, "/settings/profile")
}

// TestStrengthMeter shows the policy's reasons while typing, before the
// form is sent.
func TestStrengthMeter(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	p.Open("/settings/password")
	for _, tc := range []struct{ typed, level, says string }{
		{"short", "short", "Use at least 12 characters."},
		{"password1234", "weak", "Avoid common passwords"},
		{"abcdefghijklmn", "weak", "Avoid sequences"},
		{"ada lovelace rocks", "weak", "Do not use your name"}, // the session's own name
		{"plum tractor qx", "good", ""},
		{"copper lantern meadow violin tuba", "strong", ""},
	} {
		p.Fill("#new_password", tc.typed)
		p.WaitFor(fmt.Sprintf("the meter to say %s: %s", tc.level, tc.says), fmt.Sprintf(
			`document.querySelector(".meter").dataset.level === %q && document.querySelector("#password-strength").innerText.includes(%q)`,
			tc.level, tc.says))
	}
}
