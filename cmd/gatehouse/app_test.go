package main

import (
	"encoding/json"
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
