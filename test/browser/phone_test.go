package browser_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestPhone runs through the main pages on a phone-width screen: nothing
// is wider than the screen, the primary buttons are on screen, and the
// menus and toasts fit.
func TestPhone(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL, browsertest.Phone())
	p.Open("/login")
	wantNoOverflow(t, p, "login")
	p.Screenshot("phone-login")
	login(p, adaEmail, goodPW, "/settings/profile")
	wantNoOverflow(t, p, "profile")
	p.Screenshot("phone-profile")

	p.Open("/settings/password")
	wantNoOverflow(t, p, "password")
	if !onScreen(p, `form[action="/settings/password"] button[type=submit]`) {
		t.Error("Update is off the screen of a phone")
	}
	p.Fill("#current_password", goodPW)
	p.Fill("#new_password", otherPW)
	p.Fill("#confirm_password", "copper")
	p.WaitText("Passwords do not match")
	p.Screenshot("phone-password")
	p.Fill("#confirm_password", otherPW)
	p.Submit(`form[action="/settings/password"] button[type=submit]`)
	wantToast(p, "Your password has been changed.")
	if !onScreen(p, ".toast") {
		t.Error("the toast is off the screen of a phone")
	}
	p.Screenshot("phone-password-changed")

	for _, path := range []string{"/settings/sessions", "/settings/users", "/settings/users/" + s.CarlID, "/settings/audit", "/settings/company"} {
		p.Open(path)
		wantNoOverflow(t, p, path)
	}
	p.Open("/settings/users")
	p.Screenshot("phone-users")
	p.Click(".user-menu summary")
	p.WaitVisible(".user-menu .menu")
	if !onScreen(p, ".user-menu .menu") {
		t.Error("the user menu is off the screen of a phone")
	}
	p.Screenshot("phone-user-menu")
}

// onScreen reports whether the element lies within the screen's width and
// first screenful.
func onScreen(p *browsertest.Page, selector string) bool {
	p.T.Helper()
	return browsertest.Eval[bool](p, `(() => { const r = document.querySelector(`+"`"+selector+"`"+`).getBoundingClientRect();
		return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && r.bottom <= window.innerHeight; })()`)
}
