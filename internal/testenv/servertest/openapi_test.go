package servertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestWitnessCatchesDrift shows the witness catching each kind of drift
// between a server and api/openapi.json, with a server that answers as the
// test says, and keeping quiet when the answer is right.
func TestWitnessCatchesDrift(t *testing.T) {
	problem := func(status int, code string) (int, string, string) {
		return status, "application/problem+json", fmt.Sprintf(`{"type":"about:blank","title":"t","status":%d,"code":%q}`, status, code)
	}
	event := `{"id":"a","at":"2026-01-01T00:00:00.000Z","type":"login.succeeded","actor_id":"u","actor_email":"a@example.com","target_id":"","target_email":null,"ip":"127.0.0.1","user_agent":"x","detail":""}`
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		status       int
		contentType  string
		answer       string
		want         string // in the error reported; "" for none
	}{
		{"a refused request refused", "POST", "/api/v1/login", map[string]any{}, 0, "", "", ""},
		{"a login without members judged as a wrong password", "POST", "/api/v1/login", map[string]any{}, 401, "application/problem+json", `{"type":"about:blank","title":"t","status":401,"code":"invalid_credentials"}`, "want 400"},
		{"an undocumented status", "POST", "/api/v1/login", map[string]string{"email": "a@example.com", "password": "p"}, 418, "application/problem+json", `{"type":"about:blank","title":"t","status":418,"code":"internal"}`, "status is not supported"},
		{"a body of the wrong shape", "GET", "/api/v1/me", nil, 200, "application/json", `{"id":1}`, "does not match"},
		{"the wrong media type", "GET", "/api/v1/me/sessions", nil, 401, "text/html", `<p>no</p>`, "does not match"},
		{"an undocumented endpoint that answers", "GET", "/api/v1/nope", nil, 200, "application/json", `{}`, "is not in api/openapi.json"},
		{"an undocumented endpoint refused", "GET", "/api/v1/nope", nil, 404, "application/problem+json", `{"type":"about:blank","title":"t","status":404,"code":"not_found"}`, ""},
		{"an audit line that is no AuditEvent", "GET", "/api/v1/company/audit-events/export", nil, 200, "application/jsonl", event + "\n{\"id\":2}\n", "line 2 is not an AuditEvent"},
		{"audit lines that are AuditEvents", "GET", "/api/v1/company/audit-events/export", nil, 200, "application/jsonl", event + "\n" + event + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, contentType, answer := tc.status, tc.contentType, tc.answer
			if status == 0 {
				status, contentType, answer = problem(400, "invalid_request")
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", contentType)
				w.WriteHeader(status)
				w.Write([]byte(answer))
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			NewClient(rec, srv.URL).Do(tc.method, tc.path, tc.body)
			got := strings.Join(rec.errors, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("got the error %q, want none", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("got the errors %q, want one saying %q", got, tc.want)
			}
		})
	}
}
