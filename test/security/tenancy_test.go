package security_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Threat: an admin of one company reaches another company's users or log —
// through a page, an endpoint, a filter, a cursor or the export.

// userRouteBodies are valid bodies for the user routes that take one, so
// that a refusal comes from the company check and not from validation.
var userRouteBodies = map[string]any{
	"PATCH /api/v1/company/users/{id}":               map[string]any{"name": "Mallory"},
	"POST /api/v1/company/users/{id}/password-reset": map[string]string{"method": "temporary"},
	"POST /api/v1/companies/{id}/api-keys":           map[string]string{"name": "Mallory's"},
	"PATCH /api/v1/me/passkeys/{id}":                 map[string]any{"name": "Mallory"},
}

var userFormBodies = map[string]map[string]string{
	"POST /settings/users/{id}":                {"name": "Mallory", "email": "mallory@acme.example", "role": "admin"},
	"POST /settings/users/{id}/reset-password": {"method": "temporary", "step": "confirm", "generate": "on"},
}

// boltState describes everything of Bolt's that Acme's admin must not be
// able to change, read through the database.
func boltState(t *testing.T, w *world) string {
	t.Helper()
	db := w.s.SQL(t)
	var b strings.Builder
	rows, err := db.Query(`SELECT id, email, name, role, password_hash, disabled_at, must_change_password FROM users
		WHERE company_id = $1 ORDER BY id`, w.bolt)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, email, name, role, hash string
		var disabled int64
		var must bool
		if err := rows.Scan(&id, &email, &name, &role, &hash, &disabled, &must); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %q %s %s %d %v\n", id, email, name, role, hash, disabled, must)
	}
	for _, q := range []string{
		`SELECT count(*) FROM sessions WHERE company_id = $1`,
		`SELECT count(*) FROM audit_events WHERE company_id = $1`,
		`SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.company_id = $1`,
		`SELECT count(*) FROM outbox o JOIN users u ON u.email = o.recipient WHERE u.company_id = $1`,
	} {
		var n int
		if err := db.QueryRow(q, w.bolt).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&b, "%d\n", n)
	}
	return b.String()
}

func TestNoPathLeadsIntoAnotherCompany(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		bob := w.api(t, "bob@bolt.example")
		bobSession := bob.Get("/api/v1/me/sessions").JSON(t)["sessions"].([]any)[0].(map[string]any)["id"].(string)
		ada := w.api(t, "ada@acme.example")
		adaWeb := w.browser(t, "ada@acme.example")
		before := boltState(t, w)

		// Every route that names a user or a session, with Bolt's.
		for _, target := range []string{w.bob, w.ben} {
			v := ids{User: target, Session: bobSession}
			for _, r := range apiRoutes() {
				// Operator routes are refused to every admin (apikeys_test.go).
				if !strings.Contains(r.Pattern, "{id}") || inOperatorScope(r) {
					continue
				}
				wantProblem(t, "Ada: "+r.String()+" on Bolt", ada.Do(r.Method, r.path(v), userRouteBodies[r.String()]), 404, "not_found")
			}
			for _, r := range pageRoutes() {
				if !strings.Contains(r.Pattern, "{id}") {
					continue
				}
				var resp *servertest.Response
				if r.Method == "GET" {
					resp = adaWeb.Get(r.path(v))
				} else {
					resp = adaWeb.PostForm(r.path(v), userFormBodies[r.String()])
				}
				wantStatus(t, "Ada's browser: "+r.String()+" on Bolt", resp, 404)
			}
		}
		if after := boltState(t, w); after != before {
			t.Errorf("Acme's admin changed Bolt:\nbefore:\n%s\nafter:\n%s", before, after)
		}

		// Lists, searches, filters and cursors show Acme only.
		acmeUsers := map[string]bool{w.ada: true, w.mia: true, w.dan: true}
		cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		for _, q := range []string{"?limit=200", "?query=bolt", "?query=b", "?cursor=" + cursor("a"), "?cursor=" + cursor("bob@bolt.example")} {
			r := ada.Get("/api/v1/company/users" + q)
			wantStatus(t, "users"+q, r, 200)
			for _, u := range r.JSON(t)["users"].([]any) {
				if id := u.(map[string]any)["id"].(string); !acmeUsers[id] {
					t.Errorf("users%s lists %v, not of Acme", q, u)
				}
			}
		}
		var boltEvent string
		if err := w.s.SQL(t).QueryRow(`SELECT max(id) FROM audit_events WHERE company_id = $1`, w.bolt).Scan(&boltEvent); err != nil {
			t.Fatal(err)
		}
		outsider := func(what string, e map[string]any) {
			for _, k := range []string{"actor_id", "target_id"} {
				if id, _ := e[k].(string); id != "" && !acmeUsers[id] {
					t.Errorf("%s shows an event of another company: %v", what, e)
				}
			}
		}
		for _, q := range []string{"?limit=200", "?cursor=" + cursor(boltEvent), "?type=login.succeeded"} {
			r := ada.Get("/api/v1/company/audit-events" + q)
			wantStatus(t, "audit"+q, r, 200)
			for _, e := range r.JSON(t)["events"].([]any) {
				outsider("audit"+q, e.(map[string]any))
			}
		}
		wantProblem(t, "audit of Bob", ada.Get("/api/v1/company/audit-events?user_id="+w.bob), 404, "not_found")
		wantProblem(t, "export of Bob", ada.Get("/api/v1/company/audit-events/export?user_id="+w.bob), 404, "not_found")
		export := ada.Get("/api/v1/company/audit-events/export")
		wantStatus(t, "export", export, 200)
		lines := bufio.NewScanner(bytes.NewReader(export.Body))
		for lines.Scan() {
			var e map[string]any
			if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
				t.Fatalf("export line %q: %v", lines.Text(), err)
			}
			outsider("export", e)
		}

		for _, path := range []string{"/settings/users?query=bolt", "/settings/users?cursor=" + cursor("bob@bolt.example"), "/settings/audit",
			"/settings/audit?cursor=" + cursor(boltEvent)} {
			r := adaWeb.Get(path)
			wantStatus(t, path, r, 200)
			for _, s := range []string{"bolt.example", w.bob, w.ben} {
				if strings.Contains(string(r.Body), s) {
					t.Errorf("%s shows %q of Bolt", path, s)
				}
			}
		}
		wantStatus(t, "audit page of Bob", adaWeb.Get("/settings/audit?user_id="+w.bob), 404)
	})
}

// A member is refused every admin route, before anything is looked up.
func TestMembersCannotAdminister(t *testing.T) {
	w := newWorld(t)
	mia := w.api(t, "mia@acme.example")
	miaWeb := w.browser(t, "mia@acme.example")
	before := w.s.Snapshot(t)
	for _, r := range apiRoutes() {
		if !strings.HasPrefix(r.Pattern, "/api/v1/company") {
			continue
		}
		wantProblem(t, "Mia: "+r.String(), mia.Do(r.Method, r.path(ids{User: w.ada}), userRouteBodies[r.String()]), 403, "forbidden")
	}
	for _, r := range pageRoutes() {
		if !strings.HasPrefix(r.Pattern, "/settings/users") && !strings.HasPrefix(r.Pattern, "/settings/company") && !strings.HasPrefix(r.Pattern, "/settings/audit") {
			continue
		}
		var resp *servertest.Response
		if r.Method == "GET" {
			resp = miaWeb.Get(r.path(ids{User: w.ada}))
		} else {
			resp = miaWeb.PostForm(r.path(ids{User: w.ada}), userFormBodies[r.String()])
		}
		wantStatus(t, "Mia's browser: "+r.String(), resp, 403)
	}
	if after := w.s.Snapshot(t); after != before {
		t.Errorf("a member changed data through admin routes:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
