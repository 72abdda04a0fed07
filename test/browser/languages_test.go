package browser_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// catalogue returns the pages' messages, so that a test can expect a page
// in a language without repeating its words.
func catalogue(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shotName names a screenshot of a page in a language: "login" in
// English, "login-tr" in Turkish.
func shotName(name, lang string) string {
	if lang == "en" {
		return name
	}
	return name + "-" + lang
}

// TestForgotPassword is the help centre's "forgot your password" in each
// language, chosen by the browser's Accept-Language: from the login page
// through the mail (in the same language, read from the test's SMTP
// server) to the success toast and a new login.
func TestForgotPassword(t *testing.T) {
	t.Parallel()
	cat := catalogue(t)
	subjects := map[string]string{"en": "Reset your Gatehouse password", "id": "Atur ulang kata sandi Gatehouse Anda",
		"tr": "Gatehouse şifrenizi sıfırlayın"}
	for _, lang := range i18n.Supported {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			T := func(key string, args ...any) string { return cat.T(lang, key, args...) }
			s := startAcme(t)
			p := browsertest.NewPage(t, s.URL, browsertest.AcceptLanguage(lang+",en;q=0.5"))
			p.Open("/login")
			p.WaitText(T("login.heading"))
			if got := p.Attr("html", "lang"); got != lang {
				t.Errorf("<html lang>: got %q, want %q", got, lang)
			}
			if lang != "en" && T("login.heading") == cat.T("en", "login.heading") {
				t.Errorf("the login heading in %s is English", lang)
			}
			p.Screenshot(shotName("login", lang))

			p.ClickLink(T("login.forgot"))
			p.WaitPath("/forgot-password")
			if lang == "en" {
				p.Screenshot("forgot-password")
			}
			p.Fill("#email", adaEmail)
			p.Submit(`form[action="/forgot-password"] button[type=submit]`)
			p.WaitText(T("forgot.sent_heading"))

			link, m := mailLink(t, s.Server, adaEmail, subjects[lang])
			if m.Subject != subjects[lang] {
				t.Errorf("mail subject: got %q, want %q", m.Subject, subjects[lang])
			}
			p.Open(link)
			p.WaitText(T("reset.heading"))
			p.Fill("#new_password", thirdPW)
			p.Fill("#confirm_password", "river lantern")
			p.WaitText(T("password.mismatch"))
			if !p.Disabled(`form[action="/reset-password"] button[type=submit]`) {
				t.Error("Save is enabled while the passwords differ")
			}
			p.Fill("#confirm_password", thirdPW)
			p.WaitFor("the meter", `document.querySelector(".meter").dataset.level === "strong"`)
			p.Screenshot(shotName("reset-password", lang))
			p.Submit(`form[action="/reset-password"] button[type=submit]`)
			p.WaitPath("/login")
			wantToast(p, T("flash.password_reset"))
			if lang == "en" && !strings.Contains(T("flash.password_reset"), "Your password has been successfully reset") {
				t.Errorf("the success toast says %q", T("flash.password_reset"))
			}
			p.Screenshot(shotName("reset-password-done", lang))

			login(p, adaEmail, thirdPW, "/settings/profile")
			p.WaitText(T("profile.language_heading"))
		})
	}
}

// TestLanguageSwitcher: the login page's switcher changes the language of
// the pages before login, and the browser remembers it.
func TestLanguageSwitcher(t *testing.T) {
	t.Parallel()
	cat := catalogue(t)
	s := startAcme(t)
	p := browsertest.NewPage(t, s.URL)
	p.Open("/login")
	p.WaitText(cat.T("en", "login.heading"))
	if got := p.Attr(`.lang-switch a[aria-current]`, "hreflang"); got != "en" {
		t.Errorf("current language in the switcher: got %q, want en", got)
	}
	p.ClickLink("Türkçe")
	p.WaitText(cat.T("tr", "login.heading"))
	p.Open("/forgot-password")
	p.WaitText(cat.T("tr", "forgot.heading"))
	p.ClickLink("Bahasa Indonesia")
	p.WaitPath("/forgot-password")
	p.WaitText(cat.T("id", "forgot.intro"))
}

// TestLanguageSetting: a user's language, chosen on the profile page,
// rules their pages and their mail, whatever the browser says; and mail
// an admin's action sends a user is in that user's language.
func TestLanguageSetting(t *testing.T) {
	t.Parallel()
	cat := catalogue(t)
	s := startAcme(t)
	// Carl reads Turkish; Ada's browser is English.
	err := s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error { return tx.SetUserLanguage(s.CarlID, "tr") })
	if err != nil {
		t.Fatal(err)
	}
	p := browsertest.NewPage(t, s.URL)
	login(p, adaEmail, goodPW, "/settings/profile")
	p.WaitText(cat.T("en", "profile.language_auto", "language", "English"))

	// An admin's reset mail to Carl is in Turkish.
	p.Open("/settings/users/" + s.CarlID + "/reset-password")
	p.Click(`input[name=method][value=email]`)
	p.Click(`form[data-reset-confirm] button[type=submit]`)
	p.WaitVisible("#confirm-dialog")
	p.Submit("#confirm-dialog-ok")
	wantToast(p, cat.T("en", "flash.reset_link_sent"))
	s.SMTP.WaitFor(t, carlEmail, "Gatehouse şifrenizi sıfırlayın")

	// Ada chooses Indonesian.
	p.Open("/settings/profile")
	p.Do(`document.querySelector("#language-select").value = "id"`)
	p.Submit(`form[action="/settings/language"] button[type=submit]`)
	wantToast(p, cat.T("id", "flash.language_saved"))
	p.WaitText(cat.T("id", "profile.language_intro"))
	if got := p.Attr("html", "lang"); got != "id" {
		t.Errorf("<html lang>: got %q, want id", got)
	}
	p.Screenshot("profile-id")

	// Her mail follows: the notice of a password change is in Indonesian.
	p.Open("/settings/password")
	p.Fill("#current_password", goodPW)
	p.Fill("#new_password", otherPW)
	p.Fill("#confirm_password", otherPW)
	p.Submit(`form[action="/settings/password"] button[type=submit]`)
	wantToast(p, cat.T("id", "flash.password_changed"))
	s.SMTP.WaitFor(t, adaEmail, "Kata sandi Gatehouse Anda telah diubah")

	// After logging out, the login page still speaks Indonesian.
	logout(p)
	p.WaitText(cat.T("id", "login.heading"))
}
