package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The operator's webhook commands on a data folder: create prints
// {"id","secret"} once, the address rule holds unless
// --webhook-allow-private (or its variable) lifts it, list shows no
// secret, delete deletes.
func TestWebhookCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", dir}
	refused := runCmd(t, nil, "", append([]string{"webhook", "create", "--url", "http://127.0.0.1:9/hooks"}, data...)...)
	if refused.code == 0 || !strings.Contains(refused.stderr, "https://") {
		t.Errorf("an http loopback URL without --webhook-allow-private: exit %d, %s", refused.code, refused.stderr)
	}
	refused = runCmd(t, nil, "", append([]string{"webhook", "create", "--url", "https://10.0.0.1/hooks"}, data...)...)
	if refused.code == 0 || !strings.Contains(refused.stderr, "private") {
		t.Errorf("a private address: exit %d, %s", refused.code, refused.stderr)
	}
	refused = runCmd(t, nil, "", append([]string{"webhook", "create", "--url", "https://1.1.1.1/x", "--company", "nope"}, data...)...)
	if refused.code == 0 {
		t.Errorf("an unknown company: exit 0")
	}

	r := runCmd(t, []string{"GATEHOUSE_WEBHOOK_ALLOW_PRIVATE=true"}, "", append([]string{"webhook", "create",
		"--url", "http://127.0.0.1:9/hooks", "--event", "user.disabled", "--event", "user.password_changed"}, data...)...).
		wantOK(t, "webhook create")
	var created map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || len(created) != 2 || created["id"] == "" ||
		!strings.HasPrefix(created["secret"], "whsec_") {
		t.Fatalf("webhook create printed %q, want {\"id\",\"secret\"}", r.stdout)
	}
	list := runCmd(t, nil, "", append([]string{"webhook", "list"}, data...)...).wantOK(t, "webhook list")
	if !strings.Contains(list.stdout, created["id"]) || strings.Contains(list.stdout, "whsec_") ||
		!strings.Contains(list.stdout, `"events":["user.disabled","user.password_changed"]`) {
		t.Errorf("webhook list: got %q", list.stdout)
	}
	runCmd(t, nil, "", append([]string{"webhook", "delete", "--id", created["id"]}, data...)...).wantOK(t, "webhook delete")
	if list := runCmd(t, nil, "", append([]string{"webhook", "list"}, data...)...).wantOK(t, "webhook list"); list.stdout != "" {
		t.Errorf("after delete, webhook list: got %q", list.stdout)
	}
}
