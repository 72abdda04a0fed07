package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// newEvents returns the events of the company added since the log had n.
func newEvents(t *testing.T, tn *tenants, n int) []map[string]any {
	t.Helper()
	r := tn.asAdmin.Get("/api/v1/company/audit-events?limit=200")
	wantStatus(t, "audit events", r, 200, "")
	var out struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	total := auditCount(t, tn.s, tn.acme)
	fresh := total - n
	if fresh > len(out.Events) {
		t.Fatalf("more new events (%d) than a page", fresh)
	}
	return out.Events[:fresh]
}

// TestAuditCompleteness does every admin action once and checks that each
// leaves exactly its event, with who, to whom, from where.
func TestAuditCompleteness(t *testing.T) {
	tn := setupTenants(t)
	tn.asAdmin.Header["User-Agent"] = "AdminBrowser/1.0"
	u := "/api/v1/company/users/" + tn.target
	var invited string
	steps := []struct {
		name   string
		do     func() *servertest.Response
		status int
		typ    string
		target *string
		detail string
	}{
		{"invite", func() *servertest.Response {
			r := tn.asAdmin.Do("POST", "/api/v1/company/users", map[string]string{"email": "gil@acme.example", "name": "Gil"})
			invited = r.Str(t, "id")
			return r
		}, 201, "user.invited", &invited, "role=member"},
		{"rename", func() *servertest.Response { return tn.asAdmin.Do("PATCH", u, map[string]any{"name": "Carl C."}) }, 200, "user.updated", &tn.target, "field=name"},
		{"change email", func() *servertest.Response {
			return tn.asAdmin.Do("PATCH", u, map[string]any{"email": "carl.c@acme.example"})
		}, 200, "user.email_changed", &tn.target, ""},
		{"promote", func() *servertest.Response { return tn.asAdmin.Do("PATCH", u, map[string]any{"role": "admin"}) }, 200, "user.role_changed", &tn.target, "role=admin"},
		{"demote", func() *servertest.Response { return tn.asAdmin.Do("PATCH", u, map[string]any{"role": "member"}) }, 200, "user.role_changed", &tn.target, "role=member"},
		{"disable", func() *servertest.Response { return tn.asAdmin.Do("PATCH", u, map[string]any{"disabled": true}) }, 200, "user.disabled", &tn.target, ""},
		{"enable", func() *servertest.Response { return tn.asAdmin.Do("PATCH", u, map[string]any{"disabled": false}) }, 200, "user.enabled", &tn.target, ""},
		{"reset by email", func() *servertest.Response {
			return tn.asAdmin.Do("POST", u+"/password-reset", map[string]string{"method": "email"})
		}, 202, "password.reset_by_admin", &tn.target, "method=email"},
		{"temporary password", func() *servertest.Response {
			return tn.asAdmin.Do("POST", u+"/password-reset", map[string]string{"method": "temporary"})
		}, 200, "password.temporary_set", &tn.target, "method=temporary"},
		{"unlock", func() *servertest.Response { return tn.asAdmin.Do("POST", u+"/unlock", nil) }, 204, "user.throttle_cleared", &tn.target, ""},
		{"rename company", func() *servertest.Response {
			return tn.asAdmin.Do("PATCH", "/api/v1/company", map[string]any{"name": "Acme Ltd"})
		}, 200, "company.updated", nil, "name"},
		{"require 2FA", func() *servertest.Response {
			return tn.asAdmin.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": true})
		}, 200, "company.updated", nil, "require_totp=true"},
		{"export", func() *servertest.Response { return tn.asAdmin.Get("/api/v1/company/audit-events/export") }, 200, "audit.exported", nil, ""},
		{"no change", func() *servertest.Response { return tn.asAdmin.Do("PATCH", u, map[string]any{"name": "Carl C."}) }, 200, "", nil, ""},
		{"refused: last admin", func() *servertest.Response {
			return tn.asAdmin.Do("PATCH", "/api/v1/company/users/"+tn.admin, map[string]any{"role": "member"})
		}, 409, "", nil, ""},
	}
	// Requiring 2FA takes 2FA of one's own.
	enableTOTP(t, tn.s, tn.asAdmin)
	for _, st := range steps {
		n := auditCount(t, tn.s, tn.acme)
		r := st.do()
		if r.StatusCode != st.status {
			t.Fatalf("%s: got %d %s, want %d", st.name, r.StatusCode, r.Body, st.status)
		}
		events := newEvents(t, tn, n)
		if st.typ == "" {
			if len(events) != 0 {
				t.Errorf("%s: got events %v, want none", st.name, events)
			}
			continue
		}
		if len(events) != 1 {
			t.Errorf("%s: got %d events %v, want exactly one %s", st.name, len(events), events, st.typ)
			continue
		}
		e := events[0]
		wantTarget := ""
		if st.target != nil {
			wantTarget = *st.target
		}
		if e["type"] != st.typ || e["actor_id"] != tn.admin || e["actor_email"] != "ada@acme.example" ||
			e["target_id"] != wantTarget || e["ip"] != "127.0.0.1" || e["user_agent"] != "AdminBrowser/1.0" || e["detail"] != st.detail {
			t.Errorf("%s: got %v, want type %s by ada to %q from 127.0.0.1 with AdminBrowser/1.0, detail %q", st.name, e, st.typ, wantTarget, st.detail)
		}
	}

	// The 2FA removal, once the user has 2FA (the company now requires it).
	tn.asMember.SetUpTOTPAtLogin("bob@acme.example", pw, tn.s.Clock.Now())
	n := auditCount(t, tn.s, tn.acme)
	wantStatus(t, "remove 2FA", tn.asAdmin.Do("DELETE", "/api/v1/company/users/"+tn.member+"/totp", nil), 204, "")
	if events := newEvents(t, tn, n); len(events) != 1 || events[0]["type"] != "totp.removed_by_admin" || events[0]["target_id"] != tn.member {
		t.Errorf("remove 2FA: got %v, want one totp.removed_by_admin", events)
	}
	tn.s.SMTP.WaitFor(t, "bob@acme.example", "Two-factor authentication was removed")
	if s := loginStep(t, tn.anon, "bob@acme.example", pw).Str(t, "status"); s != "totp_setup_required" {
		t.Errorf("login after the removal: got %q, want totp_setup_required", s)
	}
	wantStatus(t, "remove 2FA again", tn.asAdmin.Do("DELETE", "/api/v1/company/users/"+tn.member+"/totp", nil), 409, "totp_not_enabled")
}

// TestAuditLogShowsFoundationEvents checks that the events of the login
// and self-service flows reach the admin's audit log, with filters,
// paging and the download.
func TestAuditLogShowsFoundationEvents(t *testing.T) {
	tn := setupTenants(t)
	loginStep(t, tn.anon, "carl@acme.example", "wrong wrong wrong")
	carl := tn.login(t, "carl@acme.example")
	wantStatus(t, "change password", carl.Do("POST", "/api/v1/me/password", map[string]string{"current_password": pw,
		"new_password": "river lantern quartz meadow", "confirm_password": "river lantern quartz meadow"}), 204, "")
	wantStatus(t, "logout", carl.Do("POST", "/api/v1/logout", nil), 204, "")
	wantStatus(t, "forgot password", tn.anon.Do("POST", "/api/v1/password-reset", map[string]string{"email": "carl@acme.example"}), 202, "")
	tn.s.SMTP.WaitFor(t, "carl@acme.example", "Reset your")

	r := tn.asAdmin.Get("/api/v1/company/audit-events?user_id=" + tn.target)
	var page struct {
		Events     []map[string]any `json:"events"`
		NextCursor *string          `json:"next_cursor"`
	}
	json.Unmarshal(r.Body, &page)
	var types []string
	for _, e := range page.Events {
		types = append(types, e["type"].(string))
	}
	want := []string{"password.reset_requested", "logout", "password.changed", "login.succeeded", "login.failed"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("Carl's events, newest first: got %v, want %v", types, want)
	}
	if page.NextCursor != nil {
		t.Errorf("next_cursor: got %v, want null", *page.NextCursor)
	}

	r = tn.asAdmin.Get("/api/v1/company/audit-events?type=login.succeeded&limit=1")
	json.Unmarshal(r.Body, &page)
	if len(page.Events) != 1 || page.NextCursor == nil || page.Events[0]["type"] != "login.succeeded" {
		t.Fatalf("filtered first page: got %s, want one login.succeeded and a next_cursor", r.Body)
	}
	first := page.Events[0]["id"]
	r = tn.asAdmin.Get("/api/v1/company/audit-events?type=login.succeeded&limit=1&cursor=" + *page.NextCursor)
	json.Unmarshal(r.Body, &page)
	if len(page.Events) != 1 || page.Events[0]["id"] == first {
		t.Fatalf("second page: got %s, want the next older login", r.Body)
	}
	for _, bad := range []string{"type=Login!", "user_id=" + tn.eve, "limit=-1", "cursor=%%%", "actor=x"} {
		r := tn.asAdmin.Get("/api/v1/company/audit-events?" + bad)
		if r.StatusCode != 400 && r.StatusCode != 404 {
			t.Errorf("%s: got %d %s, want 400 (or 404 for a foreign user)", bad, r.StatusCode, r.Body)
		}
	}

	r = tn.asAdmin.Get("/api/v1/company/audit-events/export?user_id=" + tn.target)
	wantStatus(t, "export", r, 200, "")
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".jsonl") {
		t.Errorf("Content-Disposition: got %q, want an attachment named .jsonl", cd)
	}
	var lines int
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines++
	}
	if lines != len(want)+1 { // and the export itself, which names Carl as its filter
		t.Errorf("export: got %d lines, want %d", lines, len(want)+1)
	}
}
