package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// jsonEndpoint is a JSON endpoint with a valid body to break.
type jsonEndpoint struct {
	method, path string
	authed       bool
	members      []string // the string members of its body
}

var jsonEndpoints = []jsonEndpoint{
	{"POST", "/api/v1/login", false, []string{"email", "password"}},
	{"POST", "/api/v1/login/totp", false, []string{"challenge", "code", "recovery_code"}},
	{"POST", "/api/v1/login/password", false, []string{"challenge", "new_password", "confirm_password"}},
	{"POST", "/api/v1/login/totp-setup", false, []string{"challenge"}},
	{"POST", "/api/v1/login/totp-setup/confirm", false, []string{"challenge", "code"}},
	{"POST", "/api/v1/logout", true, nil},
	{"GET", "/api/v1/me", true, nil},
	{"POST", "/api/v1/me/password", true, []string{"current_password", "new_password", "confirm_password"}},
	{"GET", "/api/v1/me/sessions", true, nil},
	{"DELETE", "/api/v1/me/sessions/someid", true, nil},
	{"POST", "/api/v1/password-reset", false, []string{"email"}},
	{"POST", "/api/v1/password-reset/confirm", false, []string{"token", "new_password", "confirm_password"}},
}

// badBody is a body every JSON endpoint must refuse with a clear 4xx.
type badBody struct {
	name        string
	contentType string
	body        []byte
	status      int
	code        string
}

func badBodies(e jsonEndpoint) []badBody {
	member := "x"
	if len(e.members) > 0 {
		member = e.members[0]
	}
	obj := func(v string) []byte { return []byte(fmt.Sprintf(`{%q: %s}`, member, v)) }
	bodies := []badBody{
		{"broken JSON", "application/json", []byte(`{"email": "ada@example.com"`), 400, "invalid_request"},
		{"not JSON", "application/json", []byte(`email=ada@example.com`), 400, "invalid_request"},
		{"an array", "application/json", []byte(`["ada@example.com"]`), 400, "invalid_request"},
		{"null", "application/json", []byte(`null`), 400, "invalid_request"},
		{"a string", "application/json", []byte(`"ada@example.com"`), 400, "invalid_request"},
		{"two objects", "application/json", []byte(`{} {}`), 400, "invalid_request"},
		{"unknown member", "application/json", []byte(`{"is_admin": true}`), 400, "invalid_request"},
		{"duplicate member", "application/json", []byte(fmt.Sprintf(`{%q: "a", %q: "b"}`, member, member)), 400, "invalid_request"},
		{"member in upper case", "application/json", []byte(fmt.Sprintf(`{%q: "a"}`, strings.ToUpper(member))), 400, "invalid_request"},
		{"duplicate member in another case", "application/json", []byte(fmt.Sprintf(`{%q: "a", %q: "b"}`, member, strings.ToUpper(member[:1])+member[1:])), 400, "invalid_request"},
		{"deep nesting", "application/json", []byte(`{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), 400, "invalid_request"},
		{"invalid UTF-8", "application/json", append(append([]byte(`{"x": "`), 0xff, 0xfe), []byte(`"}`)...), 400, "invalid_request"},
		{"raw NUL", "application/json", []byte("{\"x\": \"a\x00b\"}"), 400, "invalid_request"},
		{"text/plain", "text/plain", []byte(`{}`), 415, "unsupported_media_type"},
		{"form", "application/x-www-form-urlencoded", []byte(`email=a`), 415, "unsupported_media_type"},
		{"no content type", "", []byte(`{}`), 415, "unsupported_media_type"},
		{"10 MB", "application/json", tenMegabytes(member), 413, "request_too_large"},
	}
	if len(e.members) > 0 {
		bodies = append(bodies,
			badBody{"a list for a string", "application/json", obj(`["a@b.c"]`), 400, "invalid_request"},
			badBody{"a number for a string", "application/json", obj(`123`), 400, "invalid_request"},
			badBody{"a huge number", "application/json", obj(`1e999`), 400, "invalid_request"},
			badBody{"an object for a string", "application/json", obj(`{"a": "b"}`), 400, "invalid_request"},
			badBody{"true for a string", "application/json", obj(`true`), 400, "invalid_request"},
			badBody{"escaped NUL", "application/json", obj(`"ada\u0000@example.com"`), 400, "invalid_request"},
		)
	}
	return bodies
}

// tenMegabytes is a valid JSON object of 10 MB.
func tenMegabytes(member string) []byte {
	return []byte(fmt.Sprintf(`{%q: "%s"}`, member, strings.Repeat("a", 10<<20)))
}

func TestJSONEndpointsRefuseBadBodies(t *testing.T) {
	s := startAcme(t)
	token := s.Client(t).Login("ada@example.com", goodPW)
	before := s.Snapshot(t)
	for _, e := range jsonEndpoints {
		for _, b := range badBodies(e) {
			t.Run(e.method+" "+e.path+"/"+b.name, func(t *testing.T) {
				header := map[string]string{}
				if e.authed {
					header["Authorization"] = "Bearer " + token
				}
				r := raw(t, s, e.method, e.path, b.contentType, b.body, header)
				wantProblem(t, b.name, r, b.status, b.code)
				var p map[string]any
				json.Unmarshal(r.Body, &p)
				if p["type"] != "about:blank" || p["status"] != float64(b.status) || p["title"] == "" {
					t.Errorf("problem: got %s, want type, title and status", r.Body)
				}
			})
		}
	}
	if after := s.Snapshot(t); after != before {
		t.Errorf("bad bodies changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestLongPasswordsAreRefusedBeforeHashing(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	token := c.Login("ada@example.com", goodPW)
	long := strings.Repeat("correct horse ", 150) // 2,100 bytes
	before := s.Snapshot(t)
	hashed := s.App.Hasher.Hashed()
	for _, call := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/login", map[string]string{"email": "ada@example.com", "password": long}},
		{"/api/v1/login", map[string]string{"email": "ghost@example.com", "password": long}},
		{"/api/v1/me/password", map[string]string{"current_password": goodPW, "new_password": long, "confirm_password": long}},
		{"/api/v1/password-reset/confirm", map[string]string{"token": strings.Repeat("a", 43), "new_password": long, "confirm_password": long}},
		{"/api/v1/login/password", map[string]string{"challenge": strings.Repeat("a", 43), "new_password": long, "confirm_password": long}},
	} {
		c.Token = token
		wantProblem(t, call.path, c.Do("POST", call.path, call.body), 422, "password_too_long")
	}
	if n := s.App.Hasher.Hashed() - hashed; n != 0 {
		t.Errorf("hashes computed for overlong passwords: got %d, want 0", n)
	}
	if after := s.Snapshot(t); after != before {
		t.Errorf("overlong passwords changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestOversizeBodyIsNotRead sends the headers of a 10 MB body and only
// the first 100 KB of it: the answer must come without the rest.
func TestOversizeBodyIsNotRead(t *testing.T) {
	s := startAcme(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 10<<20)
	conn.Write(append([]byte(`{"email": "`), bytes.Repeat([]byte("a"), 100<<10)...))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the whole body was sent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status: got %d, want 413", resp.StatusCode)
	}
}

func TestWrongMethodsAndUnknownPaths(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	wantProblem(t, "unknown path", c.Get("/api/v1/nope"), 404, "not_found")
	r := c.Do("PUT", "/api/v1/login", map[string]string{})
	wantProblem(t, "PUT on login", r, 405, "method_not_allowed")
	if got := r.Header.Get("Allow"); got != "POST" {
		t.Errorf("Allow: got %q, want POST", got)
	}
	wantProblem(t, "GET on password-reset", c.Get("/api/v1/password-reset"), 405, "method_not_allowed")
}

func TestTokensOfTheWrongShape(t *testing.T) {
	s := startAcme(t)
	for _, token := range []string{"", "short", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("+", 43), strings.Repeat("a", 4000)} {
		wantProblem(t, "token "+token, confirmReset(s.Client(t), token, otherPW), 400, "invalid_token")
		wantProblem(t, "challenge "+token, s.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": token, "code": "123456"}), 401, "invalid_challenge")
	}
}
