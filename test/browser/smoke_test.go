package browser_test

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func shot(p *testenv.Page, name string) { os.WriteFile("/tmp/shot-"+name+".png", p.PNG(), 0o644) }

func TestSmoke(t *testing.T) {
	s := testenv.StartServer(t)
	co, _ := s.Company(t, "Acme", "ada@example.com", testenv.GoodPassword)
	s.AddUser(t, co, "carl@example.com", testenv.GoodPassword, gatehouse.RoleMember)
	p := testenv.NewPage(t, s.URL)
	p.Open("/login")
	shot(p, "login")
	p.Fill("#email", "ada@example.com")
	p.Fill("#password", "wrong password here")
	p.Submit("button[type=submit]")
	p.WaitToast("Incorrect")
	shot(p, "login-error")
	p.Fill("#password", testenv.GoodPassword)
	p.Submit("button[type=submit]")
	p.WaitPath("/settings/profile")
	shot(p, "profile")
	p.Open("/settings/password")
	p.Fill("#current_password", "x")
	p.Fill("#new_password", "summer2024!!")
	p.Fill("#confirm_password", "summer2024")
	p.WaitText("Passwords do not match")
	p.WaitText("Avoid")
	shot(p, "password")
	p.Open("/settings/users")
	shot(p, "users")
	p.Click(".user-menu summary")
	shot(p, "menu")
	p.Open("/settings/sessions")
	shot(p, "sessions")
	p.Open("/settings/company")
	shot(p, "company")
	p.Open("/settings/audit")
	shot(p, "audit")
	ph := testenv.NewPage(t, s.URL, testenv.Phone())
	ph.Open("/login")
	shot(ph, "phone-login")
	ph.Fill("#email", "ada@example.com")
	ph.Fill("#password", testenv.GoodPassword)
	ph.Submit("button[type=submit]")
	ph.WaitPath("/settings/profile")
	shot(ph, "phone-profile")
	ph.Open("/settings/password")
	shot(ph, "phone-password")
	t.Log(p.Problems(), ph.Problems())
}
