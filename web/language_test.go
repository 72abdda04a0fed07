package web_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// TestLanguageChoice: pages speak the user's setting, else the cookie of
// the login page's switcher, else Accept-Language; the setting takes only
// offered languages.
func TestLanguageChoice(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	c.Header["Accept-Language"] = "tr-TR,tr;q=0.9"
	wantPage(t, "login from a Turkish browser", c.Get("/login"), 200, `<html lang="tr">`, "Hesabınıza giriş yapın")
	wantRedirect(t, "switch", c.Get("/lang/id?next=/forgot-password"), "/forgot-password")
	wantPage(t, "after switching", c.Get("/forgot-password"), 200, `<html lang="id">`, "Lupa kata sandi?")
	wantRedirect(t, "unknown language", c.Get("/lang/xx"), "/login")
	wantPage(t, "cookie kept", c.Get("/login"), 200, `<html lang="id">`)

	loginForm(t, c, "ada@example.com", goodPW)
	wantPage(t, "profile without a setting", c.Get("/settings/profile"), 200, `<html lang="id">`, `<option value="" selected>`)
	wantPage(t, "a language not offered", c.PostForm("/settings/language", map[string]string{"language": "de"}), 400)
	wantRedirect(t, "choose English", c.PostForm("/settings/language", map[string]string{"language": "en"}), "/settings/profile#language")
	wantPage(t, "profile in English", c.Get("/settings/profile"), 200, `<html lang="en">`, "Language saved.", `<option value="en" lang="en" selected>`)

	// Another browser of the same user: the setting wins over its header.
	d := s.Client(t)
	d.Header["Accept-Language"] = "tr"
	loginForm(t, d, "ada@example.com", goodPW)
	wantPage(t, "setting beats Accept-Language", d.Get("/settings/password"), 200, `<html lang="en">`, "Update")
	wantPage(t, "but not before login", servertest.NewClient(t, s.URL).Get("/login"), 200, `<html lang="en">`)

	// Back to following the browser.
	wantRedirect(t, "automatic", d.PostForm("/settings/language", map[string]string{"language": ""}), "/settings/profile#language")
	wantPage(t, "follows the browser again", d.Get("/settings/password"), 200, `<html lang="tr">`, "Güncelle")
}
