package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

const pw = "plum tractor velvet oyster"

// tenants is two companies: Acme with an admin, a member and a target
// user, and Globex with its own admin.
type tenants struct {
	s                          *servertest.Server
	acme, globex               string // company IDs
	admin, member, target, eve string // user IDs
	// Clients logged in as Acme's admin and member, Globex's admin, and
	// nobody.
	asAdmin, asMember, asOther, anon *servertest.Client
}

func setupTenants(t *testing.T, opts ...servertest.Option) *tenants {
	t.Helper()
	s := servertest.Start(t, opts...)
	tn := &tenants{s: s}
	tn.acme, tn.admin = s.Company(t, "Acme", "ada@acme.example", pw)
	tn.member = s.AddUser(t, tn.acme, "bob@acme.example", pw, gatehouse.RoleMember)
	tn.target = s.AddUser(t, tn.acme, "carl@acme.example", pw, gatehouse.RoleMember)
	tn.globex, tn.eve = s.Company(t, "Globex", "eve@globex.example", pw)
	tn.asAdmin = tn.login(t, "ada@acme.example")
	tn.asMember = tn.login(t, "bob@acme.example")
	tn.asOther = tn.login(t, "eve@globex.example")
	tn.anon = s.Client(t)
	return tn
}

func (tn *tenants) login(t *testing.T, email string) *servertest.Client {
	t.Helper()
	c := tn.s.Client(t)
	c.Token = c.Login(email, pw)
	return c
}

// auditCount counts a company's audit events straight from the store.
func auditCount(t *testing.T, s *servertest.Server, companyID string) int {
	t.Helper()
	return len(auditEvents(t, s, companyID))
}

func auditEvents(t *testing.T, s *servertest.Server, companyID string) []*gatehouse.AuditEvent {
	t.Helper()
	var events []*gatehouse.AuditEvent
	err := s.App.DB.View(context.Background(), func(tx gatehouse.Tx) (err error) {
		events, err = tx.AuditEvents(gatehouse.AuditFilter{CompanyID: companyID, Limit: 100000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestAdminAccessMatrix calls every admin endpoint and page as Acme's
// admin, Acme's member, Globex's admin and an anonymous caller. Members
// are forbidden everywhere; Globex's admin sees its own company and gets
// 404 for anything of Acme's; refused calls leave Acme's audit log as it
// was. The admin goes last, so the others always meet the state before
// the change.
func TestAdminAccessMatrix(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		tn := setupTenants(t, db)
		target := tn.target
		type call struct {
			method, path string
			body         any
			page         bool // a web page: form posts, redirects for the anonymous
		}
		type want struct{ admin, member, other, anon int }
		api := func(method, path string, body any) call { return call{method: method, path: path, body: body} }
		page := func(method, path string) call { return call{method: method, path: path, page: true} }
		u := "/api/v1/company/users/" + target
		cases := []struct {
			call call
			want want
		}{
			{api("GET", "/api/v1/company", nil), want{200, 403, 200, 401}},
			{api("PATCH", "/api/v1/company", map[string]any{"name": "Acme Ltd"}), want{200, 403, 200, 401}},
			{api("GET", "/api/v1/company/users", nil), want{200, 403, 200, 401}},
			{api("GET", "/api/v1/company/users?limit=1000", nil), want{400, 403, 400, 401}},
			{api("POST", "/api/v1/company/users", map[string]any{"email": "new-{caller}@example.com", "name": "New", "role": "member"}), want{201, 403, 201, 401}},
			{api("GET", u, nil), want{200, 403, 404, 401}},
			{api("PATCH", u, map[string]any{"name": "Carl C."}), want{200, 403, 404, 401}},
			{api("PATCH", u, map[string]any{"role": "admin"}), want{200, 403, 404, 401}},
			{api("POST", u+"/password-reset", map[string]any{"method": "email"}), want{202, 403, 404, 401}},
			{api("POST", u+"/unlock", nil), want{204, 403, 404, 401}},
			{api("DELETE", u+"/totp", nil), want{409, 403, 404, 401}},
			{api("POST", u+"/password-reset", map[string]any{"method": "temporary"}), want{200, 403, 404, 401}},
			{api("GET", "/api/v1/company/users/"+tn.eve, nil), want{404, 403, 200, 401}},
			{api("GET", "/api/v1/company/audit-events", nil), want{200, 403, 200, 401}},
			{api("GET", "/api/v1/company/audit-events?user_id="+target, nil), want{200, 403, 404, 401}},
			{api("GET", "/api/v1/company/audit-events/export", nil), want{200, 403, 200, 401}},
			{api("GET", "/api/v1/company/audit-events/export?user_id="+target, nil), want{200, 403, 404, 401}},
			{api("PATCH", u, map[string]any{"disabled": true}), want{200, 403, 404, 401}},
			{api("PATCH", u, map[string]any{"disabled": false}), want{200, 403, 404, 401}},
			{page("GET", "/settings/company"), want{200, 403, 200, 303}},
			{page("GET", "/settings/users"), want{200, 403, 200, 303}},
			{page("GET", "/settings/users/new"), want{200, 403, 200, 303}},
			{page("GET", "/settings/users/"+target), want{200, 403, 404, 303}},
			{page("GET", "/settings/users/"+target+"/reset-password"), want{200, 403, 404, 303}},
			{page("POST", "/settings/users/"+target+"/unlock"), want{303, 403, 404, 303}},
			{page("GET", "/settings/audit"), want{200, 403, 200, 303}},
			{page("GET", "/settings/audit?user_id="+target), want{200, 403, 404, 303}},
		}
		for _, tc := range cases {
			callers := []struct {
				name   string
				c      *servertest.Client
				status int
			}{
				{"anonymous", tn.anon, tc.want.anon},
				{"member", tn.asMember, tc.want.member},
				{"other company's admin", tn.asOther, tc.want.other},
				{"admin", tn.asAdmin, tc.want.admin},
			}
			for _, caller := range callers {
				before := auditCount(t, tn.s, tn.acme)
				r := do(t, caller.c, tc.call.method, tc.call.path, tc.call.body, tc.call.page, caller.name)
				if r.StatusCode != caller.status {
					t.Errorf("%s %s as %s: got %d %s, want %d", tc.call.method, tc.call.path, caller.name, r.StatusCode, r.Body, caller.status)
					continue
				}
				if caller.c == tn.asAdmin {
					continue
				}
				if after := auditCount(t, tn.s, tn.acme); after != before {
					t.Errorf("%s %s as %s: Acme's audit log grew from %d to %d events, want no change", tc.call.method, tc.call.path, caller.name, before, after)
				}
				if !tc.call.page && r.StatusCode == 403 && r.Code(t) != "forbidden" {
					t.Errorf("%s %s as %s: got code %q, want forbidden", tc.call.method, tc.call.path, caller.name, r.Code(t))
				}
				if !tc.call.page && r.StatusCode == 404 && r.Code(t) != "not_found" {
					t.Errorf("%s %s as %s: got code %q, want not_found", tc.call.method, tc.call.path, caller.name, r.Code(t))
				}
			}
		}
		// Globex's admin listed Globex only.
		r := tn.asOther.Get("/api/v1/company/users?limit=200")
		if strings.Contains(string(r.Body), "acme.example") {
			t.Errorf("Globex's user list names an Acme user: %s", r.Body)
		}
	})
}

// do sends a matrix call: JSON with a bearer token for the API; for pages
// the session as a cookie and forms as a browser sends them.
func do(t *testing.T, c *servertest.Client, method, path string, body any, page bool, caller string) *servertest.Response {
	t.Helper()
	if m, ok := body.(map[string]any); ok {
		if e, ok := m["email"].(string); ok && strings.Contains(e, "{caller}") {
			m2 := map[string]any{}
			for k, v := range m {
				m2[k] = v
			}
			m2["email"] = strings.ReplaceAll(e, "{caller}", strings.NewReplacer(" ", "-", "'", "").Replace(caller))
			body = m2
		}
	}
	if !page {
		return c.Do(method, path, body)
	}
	if c.Token != "" {
		c.Header["Cookie"] = "gatehouse_session=" + c.Token
		defer delete(c.Header, "Cookie")
	}
	token := c.Token
	c.Token = ""
	defer func() { c.Token = token }()
	if method == http.MethodPost {
		return c.PostForm(path, map[string]string{})
	}
	return c.Get(path)
}

// TestAdminRoutesDocumented checks that every admin endpoint is in the
// OpenAPI document the server serves.
func TestAdminRoutesDocumented(t *testing.T) {
	s := servertest.Start(t)
	r := s.Client(t).Get("/api/v1/openapi.json")
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{
		"GET /api/v1/company", "PATCH /api/v1/company", "GET /api/v1/company/users", "POST /api/v1/company/users",
		"GET /api/v1/company/users/{id}", "PATCH /api/v1/company/users/{id}", "POST /api/v1/company/users/{id}/password-reset",
		"POST /api/v1/company/users/{id}/unlock", "DELETE /api/v1/company/users/{id}/totp",
		"GET /api/v1/company/audit-events", "GET /api/v1/company/audit-events/export",
	} {
		method, path, _ := strings.Cut(route, " ")
		if doc.Paths[path][strings.ToLower(method)] == nil {
			t.Errorf("%s is not in openapi.json", route)
		}
	}
}
