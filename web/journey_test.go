package web_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

func TestSetupJourney(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		ctx := context.Background()
		first, err := s.Service().SetupLink(ctx)
		if err != nil || !strings.HasPrefix(first, s.URL+"/setup?token=") {
			t.Fatalf("setup link: got %q, %v", first, err)
		}
		second, _ := s.Service().SetupLink(ctx) // a second start before setup
		path := strings.TrimPrefix(second, s.URL)
		token := testenv.LinkToken(t, second)

		c := s.Client(t)
		for range 2 {
			r := c.Get(path)
			wantPage(t, "setup page", r, 200, "Create your company")
			if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy: got %q, want no-referrer", got)
			}
		}
		form := map[string]string{"token": token, "company_name": "Acme", "name": "Ada Lovelace", "email": "ada@example.com",
			"new_password": goodPW, "confirm_password": goodPW + "!"}
		wantPage(t, "mismatch", c.PostForm("/setup", form), 400, "Passwords do not match")
		form["new_password"], form["confirm_password"] = "password1234", "password1234"
		wantPage(t, "weak", c.PostForm("/setup", form), 422, "Choose a stronger password.")
		form["new_password"], form["confirm_password"] = goodPW, goodPW
		form["email"] = "a@b.c, d@e.f"
		wantPage(t, "two emails", c.PostForm("/setup", form), 400, "Enter a valid email address")
		form["email"] = "ada@example.com"

		r := c.PostForm("/setup", form)
		if r.StatusCode != 303 || c.SessionCookie() == "" {
			t.Fatalf("setup: got %d to %q, want 303 and a session", r.StatusCode, r.Header.Get("Location"))
		}
		wantPage(t, "signed in after setup", c.Get("/settings/profile"), 200, "ada@example.com", "Ada Lovelace")
		program := s.Client(t)
		program.Token = c.SessionCookie()
		if me := program.Get("/api/v1/me"); me.StatusCode != 200 || me.Str(t, "role") != "admin" {
			t.Fatalf("me after setup: got %d %s, want an admin", me.StatusCode, me.Body)
		}

		// Every setup link is dead now, used or not.
		for _, link := range []string{first, second} {
			wantPage(t, "setup link after setup", s.Client(t).Get(strings.TrimPrefix(link, s.URL)), 409, "already set up")
		}
		form["token"] = testenv.LinkToken(t, first)
		form["email"], form["company_name"] = "eve@example.com", "Evil"
		wantPage(t, "second setup", s.Client(t).PostForm("/setup", form), 409, "already set up")
		if link, _ := s.Service().SetupLink(ctx); link != "" {
			t.Errorf("setup link once a company exists: got %q, want none", link)
		}
		s.Client(t).Login("ada@example.com", goodPW)
	})
}

func TestSetupLinkOfTheWrongShape(t *testing.T) {
	s := servertest.Start(t)
	for _, token := range []string{"", "abc", strings.Repeat("a", 43)} {
		wantPage(t, "setup token "+token, s.Client(t).Get("/setup?token="+token), 400, "This link is invalid or has expired")
	}
}

func TestLoginAndLogoutPages(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	wantPage(t, "login page", c.Get("/login"), 200, "Log in", "Forgot your password?", `name="email"`, `name="password"`)
	wantPage(t, "wrong password", c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": "nope nope nope"}), 401,
		"Incorrect email or password.")
	wantPage(t, "unknown email", c.PostForm("/login", map[string]string{"email": "ghost@example.com", "password": "nope nope nope"}), 401,
		"Incorrect email or password.")
	wantRedirect(t, "signed out home", c.Get("/"), "/login")
	wantRedirect(t, "settings signed out", c.Get("/settings/password"), "/login?next=%2Fsettings%2Fpassword")

	wantRedirect(t, "login with next", c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": goodPW,
		"next": "/settings/password"}), "/settings/password")
	token := c.SessionCookie()
	wantRedirect(t, "signed in home", c.Get("/"), "/settings/profile")
	wantPage(t, "profile", c.Get("/settings/profile"), 200, "ada@example.com")

	other := s.Client(t)
	loginForm(t, other, "ada@example.com", goodPW)

	wantRedirect(t, "logout", c.PostForm("/logout", nil), "/login")
	wantPage(t, "after logout", c.Get("/login"), 200, "You have been logged out.")
	program := s.Client(t)
	program.Token = token
	if r := program.Get("/api/v1/me"); r.StatusCode != 401 {
		t.Errorf("token after logout: got %d, want 401", r.StatusCode)
	}
	wantPage(t, "the other session", other.Get("/settings/profile"), 200, "ada@example.com")
}

func TestLoginPageThrottles(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	for range 5 {
		c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": "nope nope nope"})
	}
	r := c.PostForm("/login", map[string]string{"email": "ada@example.com", "password": goodPW})
	wantPage(t, "sixth attempt", r, 429, "Too many attempts")
}

func TestChangePasswordPage(t *testing.T) {
	s := startAcme(t)
	c, other := s.Client(t), s.Client(t)
	loginForm(t, c, "ada@example.com", goodPW)
	loginForm(t, other, "ada@example.com", goodPW)
	wantPage(t, "password page", c.Get("/settings/password"), 200,
		`name="current_password"`, `name="new_password"`, `name="confirm_password"`, "Update", "Passwords do not match")

	post := func(current, newPW, confirm string) *servertest.Response {
		return c.PostForm("/settings/password", map[string]string{"current_password": current, "new_password": newPW, "confirm_password": confirm})
	}
	wantPage(t, "mismatch", post(goodPW, otherPW, otherPW+"!"), 400, "Passwords do not match")
	wantPage(t, "wrong current", post("not my password", otherPW, otherPW), 400, "Your current password is incorrect.")
	wantPage(t, "weak", post(goodPW, "password1234", "password1234"), 422, "Choose a stronger password.", "Avoid common passwords")

	wantRedirect(t, "change", post(goodPW, otherPW, otherPW), "/settings/password")
	wantPage(t, "after the change", c.Get("/settings/password"), 200, "Your password has been changed.")
	wantRedirect(t, "the other session", other.Get("/settings/profile"), "/login?next=%2Fsettings%2Fprofile")
	m := s.SMTP.WaitFor(t, "ada@example.com", "password was changed")
	if strings.Contains(m.Text, otherPW) || strings.Contains(m.HTML, otherPW) {
		t.Errorf("the mail holds the new password")
	}
	loginForm(t, s.Client(t), "ada@example.com", otherPW)
}

func TestForgotAndResetPasswordPages(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	session := s.Client(t)
	loginForm(t, session, "ada@example.com", goodPW)

	wantPage(t, "forgot page", c.Get("/forgot-password"), 200, "Reset Password", `name="email"`)
	known := c.PostForm("/forgot-password", map[string]string{"email": "ada@example.com"})
	unknown := c.PostForm("/forgot-password", map[string]string{"email": "ghost@example.com"})
	wantPage(t, "known", known, 200, "If an account exists for that address")
	wantPage(t, "unknown", unknown, 200, "If an account exists for that address")
	if string(known.Body) != string(unknown.Body) {
		t.Errorf("forgot-password pages differ for known and unknown addresses")
	}
	wantPage(t, "two emails", c.PostForm("/forgot-password", map[string]string{"email": "a@b.c, d@e.f"}), 400, "Enter a valid email address")

	m := s.SMTP.WaitFor(t, "ada@example.com", "Reset")
	link := testenv.Link(t, m.Text)
	if !strings.HasPrefix(link, s.URL+"/reset-password?token=") {
		t.Fatalf("link: got %s, want it under %s", link, s.URL)
	}
	token := testenv.LinkToken(t, m.Text)
	path := strings.TrimPrefix(link, s.URL)
	for range 2 {
		r := c.Get(path)
		wantPage(t, "reset page", r, 200, "Reset your password", "For ada@example.com", "Save")
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy: got %q, want no-referrer", got)
		}
	}
	post := func(pw, confirm string) *servertest.Response {
		return c.PostForm("/reset-password", map[string]string{"token": token, "new_password": pw, "confirm_password": confirm})
	}
	wantPage(t, "mismatch", post(otherPW, otherPW+"!"), 400, "Passwords do not match", "Save")
	wantPage(t, "weak", post("password1234", "password1234"), 422, "Choose a stronger password.")

	wantRedirect(t, "reset", post(otherPW, otherPW), "/login")
	wantPage(t, "login after reset", c.Get("/login"), 200, "Your password has been successfully reset")
	wantPage(t, "the used link", c.Get(path), 400, "This link can't be used")
	wantPage(t, "the used link posted", post("another fine password", "another fine password"), 400, "This link can't be used")
	wantRedirect(t, "the session from before", session.Get("/settings/profile"), "/login?next=%2Fsettings%2Fprofile")
	loginForm(t, s.Client(t), "ada@example.com", otherPW)
}

// TestLanguageSwitchKeepsTheLink follows a language link on a reset page: the
// page must come back in the new language with its form, not as a dead
// link.
func TestLanguageSwitchKeepsTheLink(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	c.PostForm("/forgot-password", map[string]string{"email": "ada@example.com"})
	link := testenv.Link(t, s.SMTP.WaitFor(t, "ada@example.com", "Reset").Text)
	page := c.Get(strings.TrimPrefix(link, s.URL))
	wantPage(t, "reset page", page, 200, "Reset your password")
	m := regexp.MustCompile(`href="(/lang/en\?next=[^"]*)"`).FindStringSubmatch(string(page.Body))
	if m == nil {
		t.Fatalf("no language link on the reset page:\n%s", page.Body)
	}
	r := c.Get(html.UnescapeString(m[1]))
	if r.StatusCode != 303 {
		t.Fatalf("switch language: got %d, want 303", r.StatusCode)
	}
	back := c.Get(r.Header.Get("Location"))
	if back.StatusCode != 200 || !strings.Contains(string(back.Body), `name="new_password"`) || !strings.Contains(string(back.Body), `lang="en"`) {
		t.Errorf("the reset page after switching language: got %d, want the form\n%s", back.StatusCode, back.Body)
	}
}

// TestConcurrentSetupsMakeOneCompany races setup forms on two setup links
// (two starts printed one each): exactly one company comes out of it.
func TestConcurrentSetupsMakeOneCompany(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db)
		var tokens []string
		for range 2 {
			link, err := s.Service().SetupLink(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, testenv.LinkToken(t, link))
		}
		const n = 10
		codes := make([]int, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Go(func() {
				c := s.Client(t)
				start.Wait()
				r := c.PostForm("/setup", map[string]string{"token": tokens[i%2], "company_name": fmt.Sprintf("Company %d", i),
					"name": "Admin", "email": fmt.Sprintf("admin%d@example.com", i), "new_password": goodPW, "confirm_password": goodPW})
				codes[i] = r.StatusCode
			})
		}
		start.Done()
		wg.Wait()
		won := 0
		for _, code := range codes {
			if code == 303 {
				won++
			} else if code >= 500 {
				t.Errorf("a racing setup: got %d, want a refusal", code)
			}
		}
		var companies int
		s.SQL(t).QueryRow("SELECT count(*) FROM companies").Scan(&companies)
		if won != 1 || companies != 1 {
			t.Errorf("racing setups: got %d successes and %d companies, want 1 and 1 (%v)", won, companies, codes)
		}
	})
}
