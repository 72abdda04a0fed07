package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The operator's application commands on a data folder: create prints
// {"client_id","client_secret"} once ({"client_id"} for a public app),
// the rules hold (first-party for operator apps only, a host taken once,
// an unknown company), list shows every app without secrets, delete
// deletes.
func TestAppCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", dir}
	app := func(args ...string) result {
		return runCmd(t, nil, "", append(append([]string{"app"}, args...), data...)...)
	}

	r := app("create", "--name", "Wiki", "--forward-auth-host", "Wiki.Example.com", "--forward-auth-host", "docs.example.com",
		"--require-role", "admin", "--require-mfa", "--redirect-uri", "https://wiki.example.com/cb", "--first-party").
		wantOK(t, "app create")
	var created map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || len(created) != 2 || created["client_id"] == "" ||
		len(created["client_secret"]) != 43 {
		t.Fatalf("app create printed %q, want {\"client_id\",\"client_secret\"}", r.stdout)
	}
	pub := app("create", "--name", "SPA", "--public", "--redirect-uri", "http://127.0.0.1:5173/cb").wantOK(t, "app create --public")
	var public map[string]string
	if err := json.Unmarshal([]byte(pub.stdout), &public); err != nil || len(public) != 1 || public["client_id"] == "" {
		t.Fatalf("app create --public printed %q, want {\"client_id\"}", pub.stdout)
	}

	for _, tt := range []struct {
		args []string
		want string // in standard error
		code int
	}{
		{[]string{"create"}, "--name", 2},
		{[]string{"create", "--name", "x", "--forward-auth-host", "wiki.example.com"}, "Another application", 1},
		{[]string{"create", "--name", "x", "--forward-auth-host", "https://x.example.com"}, "without a scheme", 1},
		{[]string{"create", "--name", "x", "--redirect-uri", "http://x.example.com/cb"}, "loopback", 1},
		{[]string{"create", "--name", "x", "--company", "nope"}, "not found", 1},
		{[]string{"create", "--name", "x", "--require-role", "member"}, "require_role", 1},
		{[]string{"delete"}, "--client-id", 2},
		{[]string{"delete", "--client-id", "nope"}, "not found", 1},
		{[]string{"rename"}, "subcommand", 2},
	} {
		r := app(tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("app %v: got exit %d, %q; want exit %d with %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}

	list := app("list").wantOK(t, "app list")
	lines := strings.Split(strings.TrimSpace(list.stdout), "\n")
	if len(lines) != 2 || strings.Contains(list.stdout, created["client_secret"]) || strings.Contains(list.stdout, "secret") {
		t.Fatalf("app list: got %q, want two apps without secrets", list.stdout)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["client_id"] != created["client_id"] || first["name"] != "Wiki" || first["first_party"] != true ||
		first["require_role"] != "admin" || first["require_mfa"] != true || first["company_id"] != "" ||
		!strings.Contains(lines[0], `"forward_auth_hosts":["docs.example.com","wiki.example.com"]`) {
		t.Errorf("app list's first line: got %s", lines[0])
	}

	app("delete", "--client-id", created["client_id"]).wantOK(t, "app delete")
	list = app("list").wantOK(t, "app list")
	if strings.Contains(list.stdout, created["client_id"]) || !strings.Contains(list.stdout, public["client_id"]) {
		t.Errorf("after delete, app list: got %q", list.stdout)
	}
	// The host is free again.
	app("create", "--name", "Wiki again", "--forward-auth-host", "wiki.example.com").wantOK(t, "app create after delete")
}

// app update on both databases: only the flags given change (a list flag
// replaces the list, "" clears it), for a company's app and the
// operator's; the rules are the registration's, public cannot change,
// first-party is for the operator's apps only; it prints the app without
// its secret.
func TestAppUpdateCommand(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			data := db.flags(t, t.TempDir())
			run := func(args ...string) result { return runCmd(t, nil, "", append(args, data...)...) }
			co := run("company", "create", "--name", "Acme", "--admin-email", "ada@example.com").wantOK(t, "company create")
			m := regexp.MustCompile(`\(([0-9a-z]{26})\) with admin`).FindStringSubmatch(co.stdout)
			if m == nil {
				t.Fatalf("company create printed %q: no company ID", co.stdout)
			}
			created := func(args ...string) string {
				t.Helper()
				var out map[string]string
				r := run(append([]string{"app", "create"}, args...)...).wantOK(t, "app create")
				if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
					t.Fatal(err)
				}
				return out["client_id"]
			}
			wiki := created("--name", "Wiki", "--company", m[1], "--forward-auth-host", "wiki.example.com",
				"--redirect-uri", "https://wiki.example.com/cb", "--require-mfa")
			product := created("--name", "Product", "--redirect-uri", "https://product.example.com/cb")
			created("--name", "Docs", "--forward-auth-host", "docs.example.com")

			for _, tt := range []struct {
				args []string
				want string // in standard error
				code int
			}{
				{[]string{"--name", "x"}, "--client-id", 2},
				{[]string{"--client-id", wiki}, "something to change", 2},
				{[]string{"--client-id", wiki, "--company", m[1]}, "company", 2},
				{[]string{"--client-id", "nope", "--name", "x"}, "not found", 1},
				{[]string{"--client-id", wiki, "--public"}, "public setting cannot change", 1},
				{[]string{"--client-id", wiki, "--first-party"}, "Only the operator's", 1},
				{[]string{"--client-id", wiki, "--forward-auth-host", "https://wiki.example.com"}, "without a scheme", 1},
				{[]string{"--client-id", wiki, "--forward-auth-host", "docs.example.com"}, "Another application", 1},
				{[]string{"--client-id", wiki, "--require-role", "member"}, "require_role", 1},
				{[]string{"--client-id", wiki, "--name", " "}, "name", 1},
			} {
				r := run(append([]string{"app", "update"}, tt.args...)...)
				if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("app update %v: got exit %d, %q; want exit %d with %q", tt.args, r.code, r.stderr, tt.code, tt.want)
				}
			}

			r := run("app", "update", "--client-id", wiki, "--name", "Team wiki", "--forward-auth-host", "Wiki.Example.com",
				"--forward-auth-host", "kb.example.com", "--require-role", "admin", "--require-mfa=false", "--public=false").
				wantOK(t, "app update")
			var got map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || strings.Contains(r.stdout, "secret") {
				t.Fatalf("app update printed %q (%v)", r.stdout, err)
			}
			if got["client_id"] != wiki || got["name"] != "Team wiki" || got["require_role"] != "admin" || got["require_mfa"] != false ||
				fmt.Sprint(got["forward_auth_hosts"]) != "[kb.example.com wiki.example.com]" ||
				fmt.Sprint(got["redirect_uris"]) != "[https://wiki.example.com/cb]" || got["company_id"] != m[1] {
				t.Errorf("app update printed %s", r.stdout)
			}
			run("app", "update", "--client-id", wiki, "--redirect-uri", "", "--require-role", "").wantOK(t, "app update clearing")
			run("app", "update", "--client-id", product, "--first-party").wantOK(t, "app update --first-party")

			list := run("app", "list").wantOK(t, "app list")
			for _, want := range []string{
				`"forward_auth_hosts":["kb.example.com","wiki.example.com"],"name":"Team wiki","post_logout_redirect_uris":[],"public":false,"redirect_uris":[],"require_mfa":false,"require_role":""`,
				`"first_party":true`,
			} {
				if !strings.Contains(list.stdout, want) {
					t.Errorf("app list lacks %s:\n%s", want, list.stdout)
				}
			}
		})
	}
}
