package mail_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse/gatehouse/mail"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var allMessages = []string{
	"account_disabled", "break_glass_used", "email_changed", "invitation", "mail_test",
	"passkey_added", "passkey_removed", "passkeys_removed_by_admin",
	"password_changed", "password_reset", "password_reset_by_admin",
	"recovery_code_used", "recovery_codes_regenerated", "totp_disabled",
	"totp_enabled", "totp_removed_by_admin", "webhook_disabled",
}

var allLangs = []string{"en", "id", "tr"}

func loadTemplates(t testing.TB) *mail.Templates {
	t.Helper()
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return tmpl
}

// sampleData is what the service would pass for each message.
func sampleData(name, lang string) mail.Data {
	recipient := map[string]string{"en": "Alex Morgan", "id": "Budi Santoso", "tr": "Ayşe Yılmaz"}[lang]
	d := mail.Data{
		Product: "Gatehouse", Name: recipient, Email: "user@example.com", Company: "Acme",
		IP: "203.0.113.7", UserAgent: "Firefox 128 on Linux",
		At: time.Date(2026, time.March, 14, 9, 26, 53, 0, time.FixedZone("WIB", 7*3600)),
	}
	admin := func() { d.Actor, d.IP, d.UserAgent = "Dewi Lestari", "", "" }
	switch name {
	case "password_reset":
		d.Link = "https://gatehouse.example.com/reset-password?token=q8X1wV3b5Nf0mZ9kLr2TtYc4Hs7Gd6Ej-Pa_Uo1Bn8"
		d.ExpiresIn = time.Hour
	case "invitation":
		admin()
		d.Link = "https://gatehouse.example.com/reset-password?token=Zr5Kp2Wq9Lm4Xt7Bv1Nc8Hd3Fg6Js0-Ya_Ue2Io5Ak"
		d.ExpiresIn = 7 * 24 * time.Hour
	case "password_reset_by_admin":
		d.Actor, d.IP, d.UserAgent = "", "", "" // the operator, from the command line
		d.Action = mail.ActionTemporaryPassword
	case "email_changed":
		admin()
		d.Email, d.OldEmail, d.NewEmail = "", "user@example.com", "user@new.example.com"
	case "passkey_added", "passkey_removed":
		d.Passkey = "MacBook Touch ID"
	case "passkeys_removed_by_admin":
		admin()
	case "totp_removed_by_admin", "account_disabled":
		admin()
	case "mail_test":
		d.Name, d.IP, d.UserAgent = "", "", ""
	case "break_glass_used":
		d.IP, d.UserAgent = "", ""
		d.Action = mail.ActionTOTPRemoved
		d.TargetName, d.TargetEmail = "Rahmat Hidayat", "rahmat@example.com"
	case "webhook_disabled":
		d.IP, d.UserAgent = "", ""
		d.Action = mail.ActionWebhookFailing
		d.Endpoint, d.Reason = "https://hooks.example.com/gatehouse", "no answer within 15s"
		d.Since = d.At.Add(-5 * 24 * time.Hour)
		d.Link = "https://gatehouse.example.com/settings/webhooks/01jq3x4y5z6a7b8c9d0e1f2g3h"
	}
	return d
}

func TestTemplatesGolden(t *testing.T) {
	tmpl := loadTemplates(t)
	for _, name := range allMessages {
		for _, lang := range allLangs {
			t.Run(name+"/"+lang, func(t *testing.T) {
				m, err := tmpl.Render(name, lang, sampleData(name, lang))
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				golden(t, name+"."+lang+".txt", "To: "+m.To+"\nSubject: "+m.Subject+"\n\n"+m.Text)
				golden(t, name+"."+lang+".html", m.HTML)
			})
		}
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mail -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s\n(run go test ./mail -update if the change is intended)", path, got, want)
	}
}

func TestEveryMessageInEveryLanguage(t *testing.T) {
	tmpl := loadTemplates(t)
	if got := strings.Join(tmpl.Names(), ","); got != strings.Join(allMessages, ",") {
		t.Errorf("Names: got %s, want %s", got, strings.Join(allMessages, ","))
	}
	if got := strings.Join(tmpl.Langs(), ","); got != "en,id,tr" {
		t.Errorf("Langs: got %s, want en,id,tr", got)
	}
	english := map[string]mail.Message{}
	for _, lang := range allLangs {
		for _, name := range tmpl.Names() {
			d := sampleData(name, lang)
			m, err := tmpl.Render(name, lang, d)
			if err != nil {
				t.Errorf("%s/%s: %v", name, lang, err)
				continue
			}
			if m.Subject == "" || strings.Contains(m.Subject, "{{") {
				t.Errorf("%s/%s: bad subject %q", name, lang, m.Subject)
			}
			if len(m.Text) < 100 || len(m.HTML) < 500 {
				t.Errorf("%s/%s: got a %d-byte text and a %d-byte HTML part, want both", name, lang, len(m.Text), len(m.HTML))
			}
			for _, part := range []string{m.Text, m.HTML} {
				if d.Link != "" && !strings.Contains(part, d.Link) {
					t.Errorf("%s/%s: a part lacks the link", name, lang)
				}
				if !strings.Contains(part, d.Product) {
					t.Errorf("%s/%s: a part lacks the product name", name, lang)
				}
			}
			if lang == "en" {
				english[name] = m
			} else if m.Subject == english[name].Subject || m.Text == english[name].Text {
				t.Errorf("%s/%s: still in English", name, lang)
			}
		}
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	tmpl := loadTemplates(t)
	for _, lang := range allLangs {
		for _, name := range tmpl.Names() {
			m, err := tmpl.Render(name, lang, sampleData(name, lang))
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"<img", "src=", "url(", "<link", "<style", "<script", "@import"} {
				if strings.Contains(strings.ToLower(m.HTML), bad) {
					t.Errorf("%s/%s: HTML contains %q", name, lang, bad)
				}
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) || !strings.Contains(m.HTML, "<title>"+htmlEscape(m.Subject)+"</title>") {
				t.Errorf("%s/%s: HTML lacks its language or title", name, lang)
			}
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestRenderLanguageFallback(t *testing.T) {
	tmpl := loadTemplates(t)
	d := sampleData("password_changed", "en")
	en, _ := tmpl.Render("password_changed", "en", d)
	for lang, want := range map[string]string{
		"": en.Subject, "de": en.Subject, "EN-GB": en.Subject,
		"tr-TR": "Gatehouse şifreniz değiştirildi", "id_ID": "Kata sandi Gatehouse Anda telah diubah",
	} {
		m, err := tmpl.Render("password_changed", lang, d)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != want {
			t.Errorf("lang %q: got subject %q, want %q", lang, m.Subject, want)
		}
	}
}

func TestRenderSaysTheLocalDetails(t *testing.T) {
	tmpl := loadTemplates(t)
	for _, tt := range []struct {
		lang, name string
		d          mail.Data
		want       []string
	}{
		{"en", "password_reset", mail.Data{ExpiresIn: 2 * time.Hour}, []string{"expires in 2 hours", "14 March 2026, 02:26 UTC"}},
		{"en", "invitation", mail.Data{ExpiresIn: 24 * time.Hour}, []string{"expires in 1 day", "You have been invited"}},
		{"en", "password_reset", mail.Data{ExpiresIn: 90 * time.Minute}, []string{"expires in 90 minutes"}},
		{"id", "password_reset", mail.Data{ExpiresIn: 30 * time.Minute}, []string{"selama 30 menit", "14 Maret 2026 pukul 02.26 UTC"}},
		{"tr", "invitation", mail.Data{ExpiresIn: 7 * 24 * time.Hour, Actor: "Dewi"}, []string{"7 gün geçerlidir", "Dewi, sizi"}},
		{"en", "password_reset_by_admin", mail.Data{Action: mail.ActionResetLink, Actor: "Dewi"}, []string{"reset by Dewi", "separate email"}},
		{"tr", "password_reset_by_admin", mail.Data{Action: mail.ActionTemporaryPassword}, []string{"bir sistem yöneticisi tarafından", "geçici bir şifre"}},
		{"id", "totp_removed_by_admin", mail.Data{}, []string{"oleh operator server"}},
		{"en", "break_glass_used", mail.Data{Action: mail.ActionTemporaryPassword}, []string{"set a temporary password for the account of Rahmat Hidayat (rahmat@example.com)."}},
		{"en", "break_glass_used", mail.Data{Action: mail.ActionResetLink}, []string{"created a password reset link for"}},
		{"en", "account_disabled", mail.Data{}, []string{"(user@example.com) at Acme was disabled by a server operator."}},
	} {
		d := sampleData(tt.name, tt.lang)
		d.Actor = ""
		mergeData(&d, tt.d)
		m, err := tmpl.Render(tt.name, tt.lang, d)
		if err != nil {
			t.Errorf("%s/%s: %v", tt.name, tt.lang, err)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(m.Text, want) {
				t.Errorf("%s/%s: text does not contain %q:\n%s", tt.name, tt.lang, want, m.Text)
			}
		}
	}
}

// mergeData copies the fields set in o onto d.
func mergeData(d *mail.Data, o mail.Data) {
	if o.ExpiresIn != 0 {
		d.ExpiresIn = o.ExpiresIn
	}
	if o.Actor != "" {
		d.Actor = o.Actor
	}
	if o.Action != "" {
		d.Action = o.Action
	}
}

func TestRenderRefusesIncompleteData(t *testing.T) {
	tmpl := loadTemplates(t)
	for _, tt := range []struct {
		name   string
		change func(*mail.Data)
		want   string
	}{
		{"password_reset", func(d *mail.Data) { d.Link = "" }, "missing Link"},
		{"password_reset", func(d *mail.Data) { d.ExpiresIn, d.At = 0, time.Time{} }, "missing ExpiresIn, At"},
		{"password_reset", func(d *mail.Data) { d.Link = "javascript:alert(1)" }, "absolute http(s)"},
		{"password_reset", func(d *mail.Data) { d.Link = "/reset-password?token=x" }, "absolute http(s)"},
		{"password_reset", func(d *mail.Data) { d.Link = "https://example.com/a b" }, "spaces"},
		{"email_changed", func(d *mail.Data) { d.OldEmail = "" }, "missing OldEmail"},
		{"break_glass_used", func(d *mail.Data) { d.Action = "" }, "Action"},
		{"password_reset_by_admin", func(d *mail.Data) { d.Action = mail.ActionTOTPRemoved }, "Action"},
		{"no_such_message", func(*mail.Data) {}, "unknown message"},
	} {
		d := sampleData(tt.name, "en")
		tt.change(&d)
		_, err := tmpl.Render(tt.name, "en", d)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error about %q", tt.name, err, tt.want)
		}
	}
}

func TestEmailChangedGoesToTheOldAddress(t *testing.T) {
	m, err := loadTemplates(t).Render("email_changed", "en", mail.Data{
		Email: "new@example.com", OldEmail: "old@example.com", NewEmail: "new@example.com", At: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "old@example.com" {
		t.Errorf("To: got %q, want old@example.com", m.To)
	}
}

func TestRenderDisarmsUserText(t *testing.T) {
	tmpl := loadTemplates(t)
	d := sampleData("invitation", "en")
	d.Actor = "Mallory\n\nYour account is locked. Unlock it at https://evil.example\u202e"
	d.Company = `<script>alert("x")</script>`
	m, err := tmpl.Render("invitation", "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "Mallory\n") || strings.Contains(m.Text, "\u202e") {
		t.Errorf("text keeps the actor's line breaks or bidi controls:\n%s", m.Text)
	}
	if strings.Contains(m.Subject, "\n") {
		t.Errorf("subject has a line break: %q", m.Subject)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Error("HTML does not escape the company name")
	}
}

func TestLoadTemplatesRefusesBrokenSets(t *testing.T) {
	good := fstest.MapFS{}
	err := fsWalk(func(path string, data []byte) { good[path] = &fstest.MapFile{Data: data} })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mail.LoadTemplatesFrom(good); err != nil {
		t.Fatalf("a copy of the real templates: %v", err)
	}
	for _, tt := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"missing html", func(f fstest.MapFS) { delete(f, "templates/tr/totp_enabled.html") }, "totp_enabled.html"},
		{"missing text", func(f fstest.MapFS) { delete(f, "templates/id/invitation.txt") }, "invitation.txt"},
		{"no subject", func(f fstest.MapFS) { f["templates/en/totp_enabled.txt"] = &fstest.MapFile{Data: []byte("Hello")} }, "Subject"},
		{"broken", func(f fstest.MapFS) { f["templates/en/totp_enabled.html"] = &fstest.MapFile{Data: []byte("{{if}")} }, "totp_enabled.html"},
		{"unknown file", func(f fstest.MapFS) {
			f["templates/en/pasword_reset.txt"] = &fstest.MapFile{Data: []byte("Subject: x")}
		}, "pasword_reset.txt"},
		{"unknown language", func(f fstest.MapFS) { f["templates/xx/layout.txt"] = &fstest.MapFile{Data: []byte("")} }, "no locale"},
	} {
		f := fstest.MapFS{}
		for k, v := range good {
			f[k] = v
		}
		tt.change(f)
		_, err := mail.LoadTemplatesFrom(f)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error about %q", tt.name, err, tt.want)
		}
	}
}

func fsWalk(f func(path string, data []byte)) error {
	return filepath.WalkDir("templates", func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		f(filepath.ToSlash(path), data)
		return err
	})
}
