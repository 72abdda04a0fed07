package browser_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestEveryPageIsAccessible visits each page in its states and checks
// what a machine can: labels, names, one h1, unique ids, lang, and the
// contrast of every text against its background (WCAG AA).
func TestEveryPageIsAccessible(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	secret, _ := enableTOTP(t, s.Server, carlEmail, goodPW)
	p := browsertest.NewPage(t, s.URL)
	check := func(what string) { t.Helper(); p.CheckAccessibility(what) }

	p.Open("/login")
	check("login")
	p.Fill("#email", adaEmail)
	p.Fill("#password", "wrong password")
	p.Submit(`form[action="/login"] button[type=submit]`)
	wantToast(p, "Incorrect email or password.")
	check("login with an error")
	p.Open("/forgot-password")
	check("forgot password")
	p.Fill("#email", "nobody@acme.example")
	p.Submit(`form[action="/forgot-password"] button[type=submit]`)
	check("forgot password sent")
	p.Open("/reset-password?token=" + strings.Repeat("A", 43))
	check("reset link invalid")
	p.Open("/settings/users/nobody")
	check("error page")

	login(p, adaEmail, goodPW, "/settings/profile")
	check("profile")
	p.Submit(`form[action="/settings/totp"] button[role=switch]`)
	p.WaitVisible("img[data-qr]")
	check("profile, 2FA setup")
	for _, path := range []string{"/settings/password", "/settings/sessions", "/settings/company", "/settings/users",
		"/settings/users/new", "/settings/users/" + s.CarlID, "/settings/users/" + s.CarlID + "/reset-password", "/settings/audit"} {
		p.Open(path)
		check(path)
	}
	p.Open("/settings/password")
	p.Fill("#new_password", "password1234")
	p.Fill("#confirm_password", "password")
	p.WaitText("Avoid common passwords")
	check("password with the meter and mismatch")

	// The confirmation dialog, and the server's confirmation page that
	// replaces it without JavaScript.
	p.Open("/settings/users/" + s.CarlID)
	p.Click(`form[action$="/disable"] button`)
	p.WaitVisible("#confirm-dialog")
	check("disable dialog")
	p.Press(kb.Escape)
	p.Do(`document.querySelector('form[action$="/disable"]').submit()`)
	p.WaitText("cannot log in until an administrator enables them again")
	check("disable confirmation page")

	c := browsertest.NewPage(t, s.URL)
	login(c, carlEmail, goodPW, "/login/2fa")
	c.CheckAccessibility("login 2FA")
	c.Open("/login/2fa?recovery=1")
	c.CheckAccessibility("login recovery code")
	c.Fill("#recovery_code", "AAAAA-AAAAA")
	c.Submit(`form[action="/login/2fa"] button[type=submit]`)
	wantToast(c, "That code is not valid.")
	c.CheckAccessibility("login recovery code, wrong")
	c.Open("/login/2fa")
	answerCode(c, nextCode(s.Server, secret), "/settings/profile")
	c.CheckAccessibility("profile of a member with 2FA")
}

// TestKeyboardOnly: logging in, the skip link, the user menu and the
// sidebar, with the keyboard alone; the focus is always visible.
func TestKeyboardOnly(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	p.Open("/login")
	if got := p.Focused(); got != "email" {
		t.Fatalf("focus on the login page: got %q, want the email field", got)
	}
	p.Press(adaEmail)
	// From the email to the password, then Log in, then the way out for
	// those who forgot it (it came between the two fields).
	for _, want := range []string{"password", "Log in", "Forgot your password?"} {
		p.Press(kb.Tab)
		if got := p.Focused(); got != want {
			t.Fatalf("Tab: focus on %q, want %q", got, want)
		}
		wantFocusRing(t, p)
	}
	p.PressShift(kb.Tab)
	p.PressShift(kb.Tab)
	if got := p.Focused(); got != "password" {
		t.Fatalf("Shift+Tab twice: focus on %q, want the password field", got)
	}
	p.Press(goodPW)
	p.PressAndWait(kb.Enter)
	p.WaitPath("/settings/profile")

	// The first Tab shows the skip link, which jumps to the content.
	p.Press(kb.Tab)
	if got := p.Focused(); got != "Skip to content" || !p.Visible(".skip-link") {
		t.Errorf("first Tab: focus on %q, want the visible skip link", got)
	}
	// Then the brand, then the user menu, which Enter opens and Escape
	// closes, giving the focus back.
	p.Press(kb.Tab)
	p.Press(kb.Tab)
	if got := p.AccessibleName(":focus"); got != "Ada Lovelace (account menu)" {
		t.Fatalf("third Tab: focus on %q, want the user menu", got)
	}
	wantFocusRing(t, p)
	p.Press(kb.Enter)
	p.WaitVisible(".user-menu .menu")
	// The menu shows at once; aria-expanded follows on the details'
	// toggle event, a task later.
	p.WaitFor("the open menu's aria-expanded to say true", `document.querySelector(".user-menu summary").getAttribute("aria-expanded") === "true"`)
	p.Press(kb.Tab)
	if got := p.Focused(); got != "Profile" {
		t.Errorf("Tab in the open menu: focus on %q, want Profile", got)
	}
	p.Press(kb.Escape)
	p.WaitFor("the menu to close", `!document.querySelector(".user-menu").open`)
	if got := p.AccessibleName(":focus"); got != "Ada Lovelace (account menu)" {
		t.Errorf("after Escape: focus on %q, want the menu button", got)
	}
	// On to the sidebar's Password link and the password page.
	for i := 0; i < 10 && p.Focused() != "Password"; i++ {
		p.Press(kb.Tab)
	}
	if p.Attr(":focus", "href") != "/settings/password" {
		t.Fatalf("Tab did not reach the sidebar's Password link")
	}
	wantFocusRing(t, p)
	p.PressAndWait(kb.Enter)
	p.WaitPath("/settings/password")
}

// wantFocusRing fails unless the focused element shows that it is.
func wantFocusRing(t *testing.T, p *browsertest.Page) {
	t.Helper()
	ring := browsertest.Eval[string](p, `(() => { const s = getComputedStyle(document.activeElement);
		return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2 ? "outline" : (s.boxShadow !== "none" ? "shadow" : ""); })()`)
	if ring == "" {
		t.Errorf("the focused %q shows no focus ring", p.Focused())
	}
}
