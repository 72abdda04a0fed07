package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The operator's API key commands on a data folder: create prints
// {"id","key"} once (an operator key without --company, a company's key
// with it), list shows no key, delete deletes.
func TestAPIKeyCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", dir}
	co := runCmd(t, nil, "", append([]string{"company", "create", "--name", "Acme", "--admin-email", "ada@example.com"}, data...)...).
		wantOK(t, "company create")
	m := regexp.MustCompile(`\(([0-9a-z]{26})\) with admin`).FindStringSubmatch(co.stdout)
	if m == nil {
		t.Fatalf("company create printed %q: no company ID", co.stdout)
	}
	companyID := m[1]

	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no name", []string{"api-key", "create"}, 2},
		{"bad expiry", []string{"api-key", "create", "--name", "x", "--expires-at", "tomorrow"}, 2},
		{"unknown company", []string{"api-key", "create", "--name", "x", "--company", "nope"}, 1},
		{"expiry in the past", []string{"api-key", "create", "--name", "x", "--expires-at", "2001-01-01T00:00:00Z"}, 1},
	} {
		if r := runCmd(t, nil, "", append(tc.args, data...)...); r.code != tc.want {
			t.Errorf("%s: exit %d (%s), want %d", tc.name, r.code, r.stderr, tc.want)
		}
	}

	created := map[string]map[string]string{}
	for _, company := range []string{"", companyID} {
		args := []string{"api-key", "create", "--name", "provisioning", "--expires-at", "2099-01-01T00:00:00Z"}
		if company != "" {
			args = append(args, "--company", company)
		}
		r := runCmd(t, nil, "", append(args, data...)...).wantOK(t, "api-key create")
		var out map[string]string
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 2 || out["id"] == "" {
			t.Fatalf("api-key create printed %q, want {\"id\",\"key\"}", r.stdout)
		}
		if id, ok := gatehouse.ParseAPIKey(out["key"]); !ok || id != out["id"] {
			t.Fatalf("api-key create printed the key %q, want gh_%s_...", out["key"], out["id"])
		}
		created[company] = out
	}
	for company, out := range created {
		list := runCmd(t, nil, "", append([]string{"api-key", "list", "--company", company}, data...)...).wantOK(t, "api-key list")
		if strings.Count(list.stdout, "\n") != 1 || !strings.Contains(list.stdout, out["id"]) || strings.Contains(list.stdout, out["key"]) ||
			!strings.Contains(list.stdout, `"expires_at":"2099-01-01T00:00:00Z"`) || !strings.Contains(list.stdout, `"last_used_at":null`) {
			t.Errorf("api-key list --company %q: got %q", company, list.stdout)
		}
		runCmd(t, nil, "", append([]string{"api-key", "delete", "--id", out["id"]}, data...)...).wantOK(t, "api-key delete")
		if list := runCmd(t, nil, "", append([]string{"api-key", "list", "--company", company}, data...)...); list.stdout != "" {
			t.Errorf("after delete, api-key list: got %q", list.stdout)
		}
	}
	if r := runCmd(t, nil, "", append([]string{"api-key", "delete", "--id", created[""]["id"]}, data...)...); r.code != 1 {
		t.Errorf("delete twice: exit %d, want 1", r.code)
	}
}
