package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

func TestVersion(t *testing.T) {
	r := runCmd(t, nil, "", "version").wantOK(t, "version")
	if !strings.HasPrefix(r.stdout, "gatehouse ") || len(strings.TrimSpace(r.stdout)) <= len("gatehouse ") {
		t.Errorf("version: got %q, want gatehouse and a version", r.stdout)
	}
}

func TestMigrate(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			dir := t.TempDir()
			latest, err := sqldb.LatestVersion(sqldb.Dialect(db.name))
			if err != nil || latest < 1 {
				t.Fatalf("latest migration: got %d, %v", latest, err)
			}
			for range 2 {
				r := runCmd(t, nil, "", append([]string{"migrate"}, db.flags(t, dir)...)...).wantOK(t, "migrate")
				if want := fmt.Sprintf("Database schema is at version %d.\n", latest); r.stdout != want {
					t.Errorf("migrate: got %q, want %q", r.stdout, want)
				}
			}
		})
	}
	// Migrating PostgreSQL needs no key: it only touches the schema.
	if len(databases(t)) > 1 {
		runCmd(t, nil, "", "migrate", "--database-url", testenv.Postgres(t)).wantOK(t, "migrate without a key")
	}
}

func TestFlagsFromTheEnvironment(t *testing.T) {
	fromEnv, fromFlag := filepath.Join(t.TempDir(), "env"), filepath.Join(t.TempDir(), "flag")
	runCmd(t, []string{"GATEHOUSE_DATA=" + fromEnv}, "", "migrate").wantOK(t, "migrate with GATEHOUSE_DATA")
	if _, err := os.Stat(filepath.Join(fromEnv, "gatehouse.db")); err != nil {
		t.Errorf("GATEHOUSE_DATA: no database in %s: %v", fromEnv, err)
	}
	other := filepath.Join(t.TempDir(), "other")
	runCmd(t, []string{"GATEHOUSE_DATA=" + other}, "", "migrate", "--data", fromFlag).wantOK(t, "migrate with both")
	if _, err := os.Stat(filepath.Join(fromFlag, "gatehouse.db")); err != nil {
		t.Errorf("--data beats GATEHOUSE_DATA: no database in %s: %v", fromFlag, err)
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("--data beats GATEHOUSE_DATA: %s was created", other)
	}

	// A multi-word flag: GATEHOUSE_PUBLIC_URL names the links.
	dir := t.TempDir()
	r := runCmd(t, []string{"GATEHOUSE_PUBLIC_URL=https://login.example.com", "GATEHOUSE_DATA=" + dir}, "",
		"company", "create", "--name", "Acme", "--admin-email", "ada@example.com").wantOK(t, "company create")
	if link := testenv.Link(t, r.stdout); !strings.HasPrefix(link, "https://login.example.com/reset-password?token=") {
		t.Errorf("link: got %s, want it under GATEHOUSE_PUBLIC_URL", link)
	}
}

// The hashing queue's wait comes from --hash-queue-wait or the
// environment, and the start-up line says which it is.
func TestHashQueueWait(t *testing.T) {
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, nil, "queue wait 2s"},
		{[]string{"GATEHOUSE_HASH_QUEUE_WAIT=750ms"}, nil, "queue wait 750ms"},
		{[]string{"GATEHOUSE_HASH_QUEUE_WAIT=750ms"}, []string{"--hash-queue-wait", "5s"}, "queue wait 5s"},
	} {
		p := serve(t, c.env, append([]string{"--data", t.TempDir()}, c.args...)...)
		line := regexp.MustCompile(`msg="gatehouse serving".* passwords="[^"]*` + c.want + `"`)
		if !line.MatchString(p.stderr.String()) {
			t.Errorf("env %v, args %v: no start-up line with %q:\n%s", c.env, c.args, c.want, p.stderr)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.exited
	}
}

func TestBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string // in the message
	}{
		{"no command", nil, nil, "no command"},
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"serve", "--nope"}, "-nope"},
		{"flag without value", nil, []string{"serve", "--addr"}, "-addr"},
		{"bad number", nil, []string{"migrate", "--db-max-conns", "many"}, "db-max-conns"},
		{"bad duration", nil, []string{"serve", "--data", dir, "--session-lifetime", "forever"}, "session-lifetime"},
		{"bad environment", []string{"GATEHOUSE_DB_MAX_CONNS=many"}, []string{"migrate", "--data", dir}, "GATEHOUSE_DB_MAX_CONNS"},
		{"extra argument", nil, []string{"migrate", "--data", dir, "now"}, `unexpected argument "now"`},
		{"company without subcommand", nil, []string{"company"}, "create"},
		{"company without name", nil, []string{"company", "create", "--data", dir, "--admin-email", "a@example.com"}, "--name"},
		{"empty password on stdin", nil, []string{"company", "create", "--data", dir, "--name", "A", "--admin-email", "a@example.com", "--password-stdin"}, "standard input is empty"},
		{"bad log level", nil, []string{"serve", "--data", dir, "--log-level", "loud"}, "--log-level"},
		{"no hash queue wait", nil, []string{"serve", "--data", dir, "--hash-queue-wait", "0s"}, "--hash-queue-wait"},
		{"hash queue wait beyond the write timeout", []string{"GATEHOUSE_HASH_QUEUE_WAIT=1m"}, []string{"serve", "--data", dir}, "--hash-queue-wait"},
		{"public URL without a scheme", nil, []string{"serve", "--data", dir, "--public-url", "login.example.com"}, "--public-url"},
		{"public URL with a query", nil, []string{"company", "create", "--data", dir, "--public-url", "https://login.example.com/?a=b",
			"--name", "A", "--admin-email", "a@example.com"}, "--public-url"},
		{"bad SMTP URL", nil, []string{"serve", "--data", dir, "--smtp-url", "http://mail.example.com"}, "--smtp-url"},
		{"SMTP password not encoded", nil, []string{"serve", "--data", dir, "--smtp-url", "smtp://u:pa/ss@mail.example.com:587"}, "percent-encode"},
		{"smtp:// to the smtps port", nil, []string{"serve", "--data", dir, "--smtp-url", "smtp://mail.example.com:465"}, "use smtps://mail.example.com:465"},
		{"missing SMTP CA file", []string{"GATEHOUSE_SMTP_CA_FILE=" + filepath.Join(dir, "none.pem")},
			[]string{"serve", "--data", dir, "--smtp-url", "smtp://mail.example.com:587"}, "--smtp-ca-file"},
		{"mail without subcommand", nil, []string{"mail"}, "test"},
		{"mail test without --to", nil, []string{"mail", "test", "--smtp-url", "smtp://mail.example.com:587"}, "--to"},
		{"mail test without an SMTP URL", nil, []string{"mail", "test", "--to", "a@example.com"}, "--smtp-url"},
		{"mail test to no address", nil, []string{"mail", "test", "--to", "nobody", "--smtp-url", "smtp://mail.example.com:587"}, "--to"},
		{"bad proxies", nil, []string{"serve", "--data", dir, "--trusted-proxies", "everyone"}, "--trusted-proxies"},
		{"cookie domain that misses the public URL", nil, []string{"serve", "--data", dir, "--public-url", "https://login.example.com",
			"--cookie-domain", "example.org"}, "does not cover"},
		{"cookie domain with a dot", nil, []string{"serve", "--data", dir, "--public-url", "https://login.example.com",
			"--cookie-domain", ".example.com"}, "--cookie-domain"},
		{"cookie domain with a scheme", []string{"GATEHOUSE_COOKIE_DOMAIN=https://example.com"}, []string{"serve", "--data", dir,
			"--public-url", "https://login.example.com"}, "--cookie-domain"},
		{"PostgreSQL without a key", nil, []string{"serve", "--data", dir, "--database-url", "postgres://gatehouse@127.0.0.1:1/gatehouse"}, "--secret-key-file"},
		{"PostgreSQL without a key, from the environment", []string{"GATEHOUSE_DATABASE_URL=postgres://gatehouse@127.0.0.1:1/gatehouse"},
			[]string{"serve", "--data", dir}, "--secret-key-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCmd(t, c.env, "", c.args...)
			if r.code != 2 {
				t.Errorf("exit status: got %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr: got %q, want it to mention %q", r.stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "gatehouse.db")); err == nil {
		t.Errorf("a refused command created a database")
	}
	if r := runCmd(t, nil, "", "serve", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-smtp-url") {
		t.Errorf("serve -h: got exit status %d, want 0 with the flags\n%s", r.code, r.stderr)
	}
}

func TestCompanyCreateWithPasswordOnStdin(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			dir := t.TempDir()
			flags := db.flags(t, dir)
			weak := runCmd(t, nil, "password1234\n", append([]string{"company", "create", "--name", "Acme",
				"--admin-email", "ada@example.com", "--password-stdin"}, flags...)...)
			if weak.code != 1 || !strings.Contains(weak.stderr, "stronger password") {
				t.Errorf("weak password: got exit status %d %q, want 1 and the reasons", weak.code, weak.stderr)
			}
			r := runCmd(t, nil, testenv.GoodPassword+"\n", append([]string{"company", "create", "--name", "Acme",
				"--admin-email", "Ada@Example.com", "--admin-name", "Ada Lovelace", "--password-stdin"}, flags...)...).wantOK(t, "company create")
			if !strings.Contains(r.stdout, `Created company "Acme"`) || strings.Contains(r.stdout, "token=") {
				t.Errorf("output: got %q, want the company and no link", r.stdout)
			}
			again := runCmd(t, nil, testenv.GoodPassword, append([]string{"company", "create", "--name", "Other",
				"--admin-email", "ada@example.com", "--password-stdin"}, flags...)...)
			if again.code != 1 || !strings.Contains(again.stderr, "already exists") {
				t.Errorf("taken email: got exit status %d %q, want 1, already exists", again.code, again.stderr)
			}

			p := serve(t, nil, flags...)
			c := p.client(t)
			c.Token = c.Login("ada@example.com", testenv.GoodPassword)
			me := c.Get("/api/v1/me").JSON(t)
			if me["name"] != "Ada Lovelace" || me["role"] != "admin" {
				t.Errorf("me: got %v, want Ada Lovelace, admin", me)
			}
			if strings.Contains(p.stdout.String(), "/setup?token=") {
				t.Errorf("serve printed a setup link although a company exists:\n%s", p.stdout)
			}
		})
	}
}

func TestCompanyCreateWithALink(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	r := runCmd(t, nil, "", "company", "create", "--data", dir, "--public-url", "http://"+addr,
		"--name", "Acme", "--admin-email", "ada@example.com").wantOK(t, "company create")
	link := testenv.Link(t, r.stdout)
	if !strings.HasPrefix(link, "http://"+addr+"/reset-password?token=") {
		t.Fatalf("link: got %s, want it under --public-url", link)
	}
	token := testenv.LinkToken(t, r.stdout)

	p := serve(t, nil, "--data", dir)
	c := p.client(t)
	if r := c.Do("POST", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": ""}); r.StatusCode != 401 {
		t.Errorf("login before the password is set: got %d, want 401", r.StatusCode)
	}
	if page := c.Get("/reset-password?token=" + token); page.StatusCode != 200 || !strings.Contains(string(page.Body), "Set your password") {
		t.Errorf("the link's page: got %d, want the invitation form", page.StatusCode)
	}
	resp := c.Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token,
		"new_password": testenv.GoodPassword, "confirm_password": testenv.GoodPassword})
	if resp.StatusCode != 204 {
		t.Fatalf("set the password: got %d %s, want 204", resp.StatusCode, resp.Body)
	}
	c.Token = c.Login("ada@example.com", testenv.GoodPassword)
	if me := c.Get("/api/v1/me").JSON(t); me["name"] != "ada" || me["role"] != "admin" {
		t.Errorf("me: got %v, want the admin named after the email", me)
	}
	if again := c.Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": token,
		"new_password": testenv.OtherPassword, "confirm_password": testenv.OtherPassword}); again.StatusCode != 400 {
		t.Errorf("the link again: got %d, want 400", again.StatusCode)
	}
}
