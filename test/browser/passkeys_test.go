package browser_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// addPasskeyOnProfile adds a passkey named name from the profile page.
func addPasskeyOnProfile(p *browsertest.Page, name string) {
	p.T.Helper()
	p.Open("/settings/profile#passkeys")
	p.WaitVisible("form[data-passkey-add]")
	p.Fill("#add-passkey-name", name)
	p.Click("form[data-passkey-add] button[type=submit]")
	p.WaitVisible(`li[data-passkey] input[value="` + name + `"]`)
}

// TestPasskeys is the help centre's "sign in with a passkey", on Chromium
// with its virtual authenticator (a fingerprint reader that always
// matches): add a passkey on the profile, sign out, sign in with it alone,
// use it after the password instead of a code, rename it and remove it.
func TestPasskeys(t *testing.T) {
	t.Parallel()
	s := startAcme(t, servertest.WithLocalhost())
	p := browsertest.NewPage(t, s.URL)
	p.WithoutPasskeyAutofill() // TestPasskeyAutofill has it
	key := p.AddAuthenticator()
	login(p, adaEmail, goodPW, "/settings/profile")
	p.WaitVisible("form[data-passkey-add]")
	p.WaitText("You have no passkeys yet.")
	p.CheckAccessibility("profile without passkeys")

	addPasskeyOnProfile(p, "Work laptop")
	wantToast(p, "Passkey added.")
	if n := len(key.Credentials()); n != 1 {
		t.Fatalf("credentials on the authenticator: got %d, want 1", n)
	}
	if got := p.Text("li[data-passkey]"); !strings.Contains(got, "never used") || !strings.Contains(got, "Added") {
		t.Errorf("the passkey's line: got %q", got)
	}
	p.CheckAccessibility("profile with a passkey")
	p.Screenshot("profile-passkeys")
	s.SMTP.WaitFor(t, adaEmail, "A passkey was added")

	// Sign out, and in with the passkey alone.
	logout(p)
	p.WaitVisible("[data-passkey-login] [data-passkey-button]")
	if got := p.Attr("#email", "autocomplete"); got != "username webauthn" {
		t.Errorf("email field's autocomplete: got %q, want the passkeys' autofill", got)
	}
	p.CheckAccessibility("login with passkeys")
	p.Screenshot("login-passkey")
	p.Click("[data-passkey-login] [data-passkey-button]")
	p.WaitPath("/settings/profile")
	p.WaitFor("the passkey's last use", `document.querySelector("li[data-passkey]").innerText.includes("last used")`)

	// Rename it.
	p.Fill(`li[data-passkey] input[name=name]`, "MacBook")
	p.Submit(`li[data-passkey] form[action$="/rename"] button[type=submit]`)
	wantToast(p, "Passkey renamed.")
	if got := p.Value(`li[data-passkey] input[name=name]`); got != "MacBook" {
		t.Errorf("name after renaming: got %q", got)
	}

	// The password, then the passkey instead of a code.
	logout(p)
	login(p, adaEmail, goodPW, "/login/2fa")
	p.WaitVisible("[data-passkey-second-factor] [data-passkey-button]")
	p.CheckAccessibility("second factor with a passkey")
	p.Screenshot("login-passkey-second-factor")
	p.Click("[data-passkey-second-factor] [data-passkey-button]")
	p.WaitPath("/settings/profile")

	// Remove it, after the dialog.
	p.Open("/settings/profile#passkeys")
	p.Click(`li[data-passkey] form[action$="/remove"] button[type=submit]`)
	p.WaitVisible("#confirm-dialog")
	if got := p.Text("#confirm-dialog"); !strings.Contains(got, "Remove the passkey MacBook?") {
		t.Errorf("dialog: got %q", got)
	}
	p.Submit("#confirm-dialog-ok")
	wantToast(p, "Passkey removed.")
	p.WaitText("You have no passkeys yet.")
	s.SMTP.WaitFor(t, adaEmail, "A passkey was removed")
}

// TestPasskeyCompanyRequires2FA: a member whose only second factor is a
// passkey signs in where the company requires 2FA, with the passkey alone
// or after the password, and is never sent to set up an app; with user
// verification switched off on the authenticator, nobody is signed in.
func TestPasskeyCompanyRequires2FA(t *testing.T) {
	t.Parallel()
	s := startAcme(t, servertest.WithLocalhost())
	p := browsertest.NewPage(t, s.URL)
	p.WithoutPasskeyAutofill()
	key := p.AddAuthenticator()
	login(p, carlEmail, goodPW, "/settings/profile")
	addPasskeyOnProfile(p, "Phone")
	logout(p)

	// The company requires 2FA from now on (arranged in the store: the
	// admin's own rules are tested elsewhere).
	err := s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
		c, err := tx.Company(s.CompanyID)
		if err != nil {
			return err
		}
		c.RequireTOTP = true
		return tx.UpdateCompany(c)
	})
	if err != nil {
		t.Fatal(err)
	}

	p.Open("/login")
	p.Click("[data-passkey-login] [data-passkey-button]")
	p.WaitPath("/settings/profile")
	logout(p)
	login(p, carlEmail, goodPW, "/login/2fa")
	if p.Exists("#code") {
		t.Error("a code field for a user without an app")
	}
	p.WaitText("Use your passkey to finish signing in.")
	p.Click("[data-passkey-second-factor] [data-passkey-button]")
	p.WaitPath("/settings/profile")
	logout(p)

	// No fingerprint, no sign-in.
	key.SetUserVerified(false)
	p.Open("/login")
	p.Click("[data-passkey-login] [data-passkey-button]")
	p.WaitVisible("[data-passkey-login][data-passkey-state]")
	// The browser's dialog ended without an answer: the page says so.
	p.WaitVisible("[data-passkey-login] [data-passkey-status]")
	if got := p.Text("[data-passkey-login] [data-passkey-status]"); got != "No passkey was used: the browser's dialog was closed or timed out." {
		t.Errorf("after the dialog ended: got %q", got)
	}
	if got := p.Path(); got != "/login" {
		t.Errorf("without user verification: at %q, want still /login", got)
	}
	if p.Exists(".user-menu") {
		t.Error("signed in without user verification")
	}
}

// TestPasskeyMessages: what the pages say when passkeys cannot work: a
// browser without WebAuthn, a server whose public URL is an IP address,
// and a passkey the device still offers that was removed here.
func TestPasskeyMessages(t *testing.T) {
	t.Parallel()
	t.Run("browser_without_webauthn", func(t *testing.T) {
		t.Parallel()
		s := startAcme(t, servertest.WithLocalhost())
		p := browsertest.NewPage(t, s.URL)
		p.WithoutWebAuthn()
		p.Open("/login")
		p.WaitVisible("[data-passkeys-unsupported]")
		if p.Visible("[data-passkey-login] [data-passkey-button]") {
			t.Error("a passkey button in a browser without passkeys")
		}
		wantUnsupported := "This browser can't use passkeys. Use a browser that supports them (a recent Chrome, Edge, Firefox or Safari), or sign in with your password."
		if got := p.Text("[data-passkeys-unsupported]"); got != wantUnsupported {
			t.Errorf("login: got %q", got)
		}
		p.CheckAccessibility("login in a browser without passkeys")
		login(p, adaEmail, goodPW, "/settings/profile")
		p.WaitVisible("#passkeys [data-passkeys-unsupported]")
		if p.Visible("form[data-passkey-add]") {
			t.Error("the add form in a browser without passkeys")
		}
		p.CheckAccessibility("profile in a browser without passkeys")
	})
	t.Run("public_url_is_an_ip_address", func(t *testing.T) {
		t.Parallel()
		s := startAcme(t) // http://127.0.0.1:port
		p := browsertest.NewPage(t, s.URL)
		p.Open("/login")
		want := "Passkeys can't be used on this server: its address is an IP address, and passkeys need a domain name. Ask your administrator."
		p.WaitVisible("[data-passkeys-unavailable]")
		if got := p.Text("[data-passkeys-unavailable]"); got != want {
			t.Errorf("login: got %q", got)
		}
		if p.Exists("[data-passkey-login]") {
			t.Error("a passkey sign-in where passkeys cannot work")
		}
		login(p, adaEmail, goodPW, "/settings/profile")
		p.WaitVisible("#passkeys [data-passkeys-unavailable]")
		if p.Exists("form[data-passkey-add]") {
			t.Error("the add form where passkeys cannot work")
		}
		p.CheckAccessibility("profile where passkeys cannot work")
	})
	t.Run("passkey_no_longer_registered", func(t *testing.T) {
		t.Parallel()
		s := startAcme(t, servertest.WithLocalhost())
		p := browsertest.NewPage(t, s.URL)
		p.WithoutPasskeyAutofill()
		p.AddAuthenticator()
		login(p, adaEmail, goodPW, "/settings/profile")
		addPasskeyOnProfile(p, "Old phone")
		// Removed here (as from another device); this one still has it.
		err := s.App.DB.Update(context.Background(), func(tx gatehouse.Tx) error {
			_, err := tx.DeletePasskeys(s.CompanyID, s.AdaID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		logout(p)
		p.Click("[data-passkey-login] [data-passkey-button]")
		p.WaitText("This passkey is no longer registered here (it was removed). Sign in another way, then add it again.")
		if p.Exists(".user-menu") {
			t.Error("signed in with a removed passkey")
		}
		p.CheckAccessibility("login with a removed passkey")
	})
}

// TestPasskeyAutofill: where the browser offers passkeys in the email
// field's autofill (conditional mediation), choosing one signs in; the
// virtual authenticator chooses the first at once.
func TestPasskeyAutofill(t *testing.T) {
	t.Parallel()
	s := startAcme(t, servertest.WithLocalhost())
	p := browsertest.NewPage(t, s.URL)
	p.AddAuthenticator()
	login(p, adaEmail, goodPW, "/settings/profile")
	addPasskeyOnProfile(p, "Laptop")
	// Sign out: the login page's autofill signs in again at once, so the
	// test waits for the passkey's session rather than for /login.
	p.Click(".user-menu summary")
	p.WaitVisible(".user-menu .menu")
	p.Submit(".user-menu form[action='/logout'] button")
	testenv.WaitUntil(t, "a session signed in with the passkey", func() bool {
		var sessions []*gatehouse.Session
		s.App.DB.View(context.Background(), func(tx gatehouse.Tx) (err error) {
			sessions, err = tx.Sessions(s.AdaID)
			return err
		})
		return len(sessions) == 1 && strings.Join(sessions[0].Methods, " ") == "hwk mfa"
	})
	p.WaitPath("/settings/profile")
	if got := p.Text(".user-menu summary"); !strings.Contains(got, "Ada Lovelace") {
		t.Errorf("signed in as: got %q", got)
	}
}

// TestPasskeyPagesInEveryLanguage: the passkey parts of the profile, the
// login page and the second-factor page in en, id and tr, used and checked
// for accessibility in each, by a user of each language.
func TestPasskeyPagesInEveryLanguage(t *testing.T) {
	t.Parallel()
	s := startAcme(t, servertest.WithLocalhost())
	// The toast, the section's heading, the login button, the second
	// factor's button, the dialog ended without an answer, a browser
	// without passkeys.
	words := map[string][6]string{
		"en": {"Passkey added.", "Passkeys", "Sign in with a passkey", "Use a passkey",
			"No passkey was used: the browser's dialog was closed or timed out.",
			"This browser can't use passkeys. Use a browser that supports them (a recent Chrome, Edge, Firefox or Safari), or sign in with your password."},
		"id": {"Passkey ditambahkan.", "Passkey", "Masuk dengan passkey", "Gunakan passkey",
			"Tidak ada passkey yang dipakai: dialog peramban ditutup atau waktunya habis.",
			"Peramban ini tidak dapat memakai passkey. Gunakan peramban yang mendukungnya (Chrome, Edge, Firefox, atau Safari terbaru), atau masuk dengan kata sandi Anda."},
		"tr": {"Geçiş anahtarı eklendi.", "Geçiş anahtarları", "Geçiş anahtarıyla giriş yap", "Geçiş anahtarı kullan",
			"Hiçbir geçiş anahtarı kullanılmadı: tarayıcının penceresi kapatıldı veya süresi doldu.",
			"Bu tarayıcı geçiş anahtarlarını kullanamıyor. Bunları destekleyen bir tarayıcı (güncel bir Chrome, Edge, Firefox veya Safari) kullanın ya da parolanızla giriş yapın."},
	}
	for _, lang := range []string{"en", "id", "tr"} {
		t.Run(lang, func(t *testing.T) {
			w := words[lang]
			email := "user-" + lang + "@acme.example"
			s.addUser(t, "User "+strings.ToUpper(lang), email, goodPW, gatehouse.RoleMember)
			p := browsertest.NewPage(t, s.URL, browsertest.AcceptLanguage(lang))
			p.WithoutPasskeyAutofill()
			key := p.AddAuthenticator()
			login(p, email, goodPW, "/settings/profile")
			if got := p.Text("#passkeys-heading"); got != w[1] {
				t.Errorf("heading: got %q, want %q", got, w[1])
			}
			addPasskeyOnProfile(p, "Laptop "+lang)
			wantToast(p, w[0])
			p.CheckAccessibility("profile " + lang)
			if lang != "en" {
				p.Screenshot("profile-passkeys-" + lang)
			}
			logout(p)
			p.WaitVisible("[data-passkey-login] [data-passkey-button]")
			if got := p.Text("[data-passkey-login] [data-passkey-button]"); got != w[2] {
				t.Errorf("login button: got %q, want %q", got, w[2])
			}
			p.CheckAccessibility("login " + lang)
			p.Click("[data-passkey-login] [data-passkey-button]")
			p.WaitPath("/settings/profile")
			logout(p)
			login(p, email, goodPW, "/login/2fa")
			p.WaitVisible("[data-passkey-second-factor] [data-passkey-button]")
			if got := p.Text("[data-passkey-second-factor] [data-passkey-button]"); got != w[3] {
				t.Errorf("second factor button: got %q, want %q", got, w[3])
			}
			p.CheckAccessibility("second factor " + lang)
			if lang != "en" {
				p.Screenshot("login-passkey-second-factor-" + lang)
			}
			p.Click("[data-passkey-second-factor] [data-passkey-button]")
			p.WaitPath("/settings/profile")

			// The authenticator declines: the page says so.
			logout(p)
			key.SetUserVerified(false)
			p.Click("[data-passkey-login] [data-passkey-button]")
			p.WaitVisible("[data-passkey-login] [data-passkey-status]")
			if got := p.Text("[data-passkey-login] [data-passkey-status]"); got != w[4] {
				t.Errorf("dialog ended: got %q, want %q", got, w[4])
			}
			p.CheckAccessibility("login after the dialog ended " + lang)

			old := browsertest.NewPage(t, s.URL, browsertest.AcceptLanguage(lang))
			old.WithoutWebAuthn()
			old.Open("/login")
			old.WaitVisible("[data-passkeys-unsupported]")
			if got := old.Text("[data-passkeys-unsupported]"); got != w[5] {
				t.Errorf("browser without passkeys: got %q, want %q", got, w[5])
			}
		})
	}
}
