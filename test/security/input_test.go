package security_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Threat: input that breaks the server (a 500, a crash, a hang), costs it
// a hash it should not compute, or slips past validation into the data.
// Every answer to hostile input is a 4xx, and nothing changes.

// hostileIDs are path parameters no ID has: NUL, bytes that are not
// UTF-8, traversal, an enormous one.
var hostileIDs = []string{"\x00", "a\x00b", "\xff", "\xc3", "..", "../../etc/passwd", "%00", strings.Repeat("x", 3000), "' OR '1'='1"}

// hostileValues go into every query parameter a page or endpoint reads.
var hostileValues = []string{"\x00", "\xff", "a\xc3", "%", "'; DROP TABLE users; --", strings.Repeat("z", 3000), "-1", "99999999999999999999"}

// queryParams are the parameters routes read from the query string.
var queryParams = []string{"query", "cursor", "limit", "type", "user_id", "token", "next", "recovery"}

// never500 fails the test when r is a server error.
func never500(t *testing.T, what string, r *servertest.Response) {
	t.Helper()
	if r.StatusCode >= 500 {
		t.Errorf("%s: got %d %s, want a 4xx", what, r.StatusCode, clip(r.Body))
	}
}

// rawQuery encodes v as a query value byte for byte, invalid UTF-8 and all.
func rawQuery(name, v string) string { return name + "=" + url.QueryEscape(v) }

func TestHostilePathsAndQueriesAreRefusedCleanly(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		ada := w.api(t, "ada@acme.example")
		adaWeb := w.browser(t, "ada@acme.example")
		op := w.s.Client(t) // the operator key, for its own routes
		op.Token = keyOf(t, w, "", "provisioning")
		before := w.s.Snapshot(t)
		for _, id := range hostileIDs {
			v := ids{User: id, Session: id}
			for _, r := range apiRoutes() {
				c := ada
				if inOperatorScope(r) {
					c = op
				}
				if strings.Contains(r.Pattern, "{id}") {
					never500(t, fmt.Sprintf("%s with id %q", r, id), c.Do(r.Method, r.path(v), userRouteBodies[r.String()]))
				}
			}
			for _, r := range pageRoutes() {
				if !strings.Contains(r.Pattern, "{id}") {
					continue
				}
				if r.Method == "GET" {
					never500(t, fmt.Sprintf("%s with id %q", r, id), adaWeb.Get(r.path(v)))
				} else {
					never500(t, fmt.Sprintf("%s with id %q", r, id), adaWeb.PostForm(r.path(v), userFormBodies[r.String()]))
				}
			}
		}
		for _, val := range hostileValues {
			for _, name := range queryParams {
				q := "?" + rawQuery(name, val)
				for _, r := range apiRoutes() {
					if r.Method == "GET" && !strings.HasSuffix(r.Pattern, "/export") {
						never500(t, fmt.Sprintf("%s%s", r, q), ada.Get(r.path(ids{User: w.mia})+q))
					}
				}
				for _, r := range pageRoutes() {
					if r.Method == "GET" {
						never500(t, fmt.Sprintf("%s%s", r, q), adaWeb.Get(r.path(ids{User: w.mia})+q))
					}
				}
			}
		}
		if after := w.s.Snapshot(t); after != before {
			t.Errorf("hostile paths and queries changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// Headers the client chooses end up in sessions, challenges, the audit log
// and mail: they must neither break a login nor be stored unreadable.
func TestHostileHeadersDoNotBreakLogins(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		for _, h := range []map[string]string{
			{"User-Agent": "Mozilla\xff\xfe"},
			{"User-Agent": "\xc3"},
			{"User-Agent": strings.Repeat("A", 8000)},
			{"Accept-Language": "\xff;q=1, *;q=nope, en-US-x-" + strings.Repeat("a", 500)},
			{"X-Forwarded-For": "not-an-address, \xff, ::ffff:999.1.1.1"},
			{"Cookie": "gatehouse_session=\xff; gatehouse_lang=\xff; gatehouse_flash=\xff"},
			{"Authorization": "Bearer \xff\xfe"},
		} {
			body := []byte(`{"email":"mia@acme.example","password":"` + pw + `"}`)
			r := send(t, w.s, "POST", "/api/v1/login", "application/json", body, h)
			if r.StatusCode != 200 {
				t.Errorf("login with %q: got %d %s, want 200", h, r.StatusCode, clip(r.Body))
			}
			never500(t, fmt.Sprintf("reset request with %q", h), send(t, w.s, "POST", "/api/v1/password-reset", "application/json",
				[]byte(`{"email":"mia@acme.example"}`), h))
			never500(t, fmt.Sprintf("login page with %q", h), send(t, w.s, "GET", "/login", "", nil, h))
			form := "email=mia%40acme.example&password=" + url.QueryEscape(pw)
			never500(t, fmt.Sprintf("login form with %q", h), send(t, w.s, "POST", "/login", "application/x-www-form-urlencoded", []byte(form), h))
		}
		// What was stored is readable: the sessions list shows it.
		mia := w.api(t, "mia@acme.example")
		r := mia.Get("/api/v1/me/sessions")
		wantStatus(t, "sessions after hostile headers", r, 200)
	})
}

// hostileBody is a JSON request body every route must refuse, and how.
type hostileBody struct {
	name, contentType, body string
	status                  int
	code                    string
}

// hostileBodies are the malformed bodies of every kind, for a route whose
// body has the string members members: each case of the API's decoding,
// held here once and sent to every route.
func hostileBodies(members []string) []hostileBody {
	const jsonType = "application/json"
	bad := func(name, body string) hostileBody {
		return hostileBody{name, jsonType, body, 400, gatehouse.EInvalidRequest}
	}
	bodies := []hostileBody{
		{"text/plain JSON", "text/plain", `{}`, 415, gatehouse.EUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", `email=a%40b.c`, 415, gatehouse.EUnsupportedMediaType},
		{"no content type", "", `{}`, 415, gatehouse.EUnsupportedMediaType},
		bad("broken JSON", `{"email": "mia@acme.example"`),
		bad("not JSON", `email=mia@acme.example`),
		bad("JSON array", `[{}]`),
		bad("null", `null`),
		bad("a string", `"mia@acme.example"`),
		bad("unknown member", `{"is_admin": true}`),
		bad("trailing data", `{} []`),
		bad("deep nesting", `{"x": `+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`),
		bad("raw NUL", "{\"x\": \"a\x00b\"}"),
		bad("invalid UTF-8", "{\"x\": \"a\xff\xfeb\"}"),
	}
	for _, m := range members {
		bodies = append(bodies,
			bad(m+" as a list", fmt.Sprintf(`{%q: ["mia@acme.example", "eve@evil.example"]}`, m)),
			bad(m+" as a number", fmt.Sprintf(`{%q: 123456}`, m)),
			bad(m+" as a huge number", fmt.Sprintf(`{%q: 1e999}`, m)),
			bad(m+" as true", fmt.Sprintf(`{%q: true}`, m)),
			bad(m+" as an object", fmt.Sprintf(`{%q: {"$ne": ""}}`, m)),
			bad(m+" in upper case", fmt.Sprintf(`{%q: "a"}`, strings.ToUpper(m))),
			bad(m+" as null and a string", fmt.Sprintf(`{%q: null, %q: "x"}`, m, strings.ToUpper(m))),
			bad(m+" twice in two cases", fmt.Sprintf(`{%q: "a", %q: "b"}`, m, strings.ToUpper(m[:1])+m[1:])),
			bad(m+" twice", fmt.Sprintf(`{%q: "a", %q: "b"}`, m, m)),
			bad(m+" with NUL", fmt.Sprintf(`{%q: "a\u0000b"}`, m)),
			bad(m+" with invalid UTF-8", fmt.Sprintf("{%q: \"a\xffb\"}", m)),
		)
	}
	return bodies
}

// Every route of the API, given a body of every malformed kind: the
// problem the decoding names, in the problem format, before any work, and
// nothing changes.
func TestHostileJSONBodiesAreRefusedCleanly(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		ada := w.api(t, "ada@acme.example")
		members := bodyMembers(t, w.s)
		before := w.s.Snapshot(t)
		hashed := w.s.App.Hasher.Hashed()
		for _, r := range apiRoutes() {
			if r.String() == "GET /api/v1/openapi.json" {
				continue // a document served as it is; it reads no body
			}
			path := r.path(ids{User: w.mia, Session: "x"})
			header := map[string]string{"Authorization": "Bearer " + ada.Token}
			for _, b := range hostileBodies(stringMembers(members[r.String()])) {
				resp := send(t, w.s, r.Method, path, b.contentType, []byte(b.body), header)
				if resp.StatusCode != b.status || resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s with %s: got %d %s %s, want %d problem %s", r, b.name, resp.StatusCode,
						resp.Header.Get("Content-Type"), clip(resp.Body), b.status, b.code)
					continue
				}
				var p map[string]any
				json.Unmarshal(resp.Body, &p)
				if p["code"] != b.code || p["type"] != "about:blank" || p["status"] != float64(b.status) || p["title"] == "" || p["detail"] == "" {
					t.Errorf("%s with %s: problem %s, want code %s with type, title, status and detail", r, b.name, clip(resp.Body), b.code)
				}
			}
		}
		if n := w.s.App.Hasher.Hashed() - hashed; n != 0 {
			t.Errorf("malformed bodies cost %d hashes, want 0", n)
		}
		if after := w.s.Snapshot(t); after != before {
			t.Errorf("malformed bodies changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// isPasswordField tells the body members and form fields that carry a
// password.
func isPasswordField(name string) bool { return strings.Contains(name, "password") }

// tooLongAnsweredOtherwise are the routes whose answer to a password over
// password.MaxBytes is not password_too_long: those that only confirm the
// current password refuse it as incorrect (or refuse the call before).
// The live check, which reports too_long as a reason (and counts the
// check against the address, as every check), is tested in api.
var tooLongAnsweredOtherwise = map[string]bool{"POST /api/v1/me/totp": true, "DELETE /api/v1/me/totp": true,
	"POST /api/v1/me/recovery-codes": true, "POST /api/v1/me/passkeys/begin": true, "DELETE /api/v1/me/passkeys/{id}": true}

// A 1 MB password never reaches the hasher: the body is too large, and a
// password over the 1,024-byte limit is too long. Both answers come before
// any hash, on every route that takes a password.
func TestHugePasswordsAreRefusedBeforeHashing(t *testing.T) {
	w := newWorld(t)
	ada := w.api(t, "ada@acme.example")
	adaWeb := w.browser(t, "ada@acme.example")
	members := bodyMembers(t, w.s)
	before := w.s.Snapshot(t)
	hashed := w.s.App.Hasher.Hashed()
	megabyte := strings.Repeat("correct horse ", 1<<20/14)
	tooLong := strings.Repeat("correct horse ", 150) // 2,100 bytes
	tried := 0
	for _, r := range apiRoutes() {
		var fields []string
		for _, m := range stringMembers(members[r.String()]) {
			if isPasswordField(m) {
				fields = append(fields, m)
			}
		}
		if len(fields) == 0 {
			continue
		}
		for _, size := range []struct {
			pw     string
			status int
			code   string
		}{{megabyte, 413, "request_too_large"}, {tooLong, 422, "password_too_long"}} {
			body := map[string]string{}
			for _, m := range stringMembers(members[r.String()]) {
				body[m] = "x"
			}
			for m, v := range map[string]string{"email": "mia@acme.example", "method": "temporary"} {
				if _, ok := body[m]; ok {
					body[m] = v
				}
			}
			for _, f := range fields {
				body[f] = size.pw
			}
			if size.status == 422 && r.String() == "POST /api/v1/password-check" {
				continue
			}
			resp := ada.Do(r.Method, r.path(ids{User: w.mia}), body)
			switch {
			case size.status == 422 && tooLongAnsweredOtherwise[r.String()]:
				if resp.StatusCode >= 500 {
					t.Errorf("%s with a %d-byte password: got %d %s, want an answer", r, len(size.pw), resp.StatusCode, clip(resp.Body))
				}
			case resp.StatusCode != size.status || resp.Code(t) != size.code:
				t.Errorf("%s with a %d-byte password: got %d %s, want %d %s", r, len(size.pw), resp.StatusCode, clip(resp.Body), size.status, size.code)
			}
			tried++
		}
	}
	// An unknown email costs no hash either.
	wantProblem(t, "login of an unknown email with a long password", w.s.Client(t).Do("POST", "/api/v1/login",
		map[string]string{"email": "ghost@acme.example", "password": tooLong}), 422, "password_too_long")
	for _, r := range pageRoutes() {
		if r.Method != "POST" || r.String() == "POST /logout" { // logout reads no form
			continue
		}
		form := map[string]string{"email": "mia@acme.example", "current_password": megabyte, "new_password": megabyte,
			"confirm_password": megabyte, "password": megabyte, "temporary_password": megabyte, "token": strings.Repeat("a", 43)}
		resp := adaWeb.PostForm(r.path(ids{User: w.mia, Session: "x"}), form)
		if resp.StatusCode != 413 && resp.StatusCode != 303 {
			t.Errorf("%s with a 1 MB password: got %d, want 413 (or 303 to the login page)", r, resp.StatusCode)
		}
		tried++
	}
	if tried < 10 {
		t.Fatalf("only %d routes take a password; the route list looks wrong", tried)
	}
	if n := w.s.App.Hasher.Hashed() - hashed; n != 0 {
		t.Errorf("overlong passwords cost %d hashes, want 0", n)
	}
	if after := w.s.Snapshot(t); after != before {
		t.Errorf("overlong passwords changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A 50 MB body is refused after the first 64 KiB: the server answers while
// the client is still sending, on every route that takes a body.
func TestFiftyMegabyteBodiesAreNotRead(t *testing.T) {
	w := newWorld(t)
	ada := w.api(t, "ada@acme.example")
	adaWeb := w.browser(t, "ada@acme.example")
	addr := strings.TrimPrefix(w.s.URL, "http://")
	cookie := sessionCookieHeader(adaWeb.SessionCookie())
	for _, r := range append(apiRoutes(), pageRoutes()...) {
		if !changesState(r.Method) || r.String() == "POST /logout" || r.String() == "POST /api/v1/logout" {
			continue // logging out reads no body, and would end Ada's sessions for the routes after it
		}
		contentType := "application/x-www-form-urlencoded"
		if strings.HasPrefix(r.Pattern, "/api/") {
			contentType = "application/json"
		}
		status := fiftyMegabytes(t, addr, r.Method, r.path(ids{User: w.mia, Session: "x"}), contentType,
			map[string]string{"Authorization": "Bearer " + ada.Token, "Cookie": cookie, "Origin": w.s.URL})
		if strings.HasPrefix(r.Pattern, "/api/") && status != 413 && status != 401 {
			t.Errorf("%s with 50 MB: got %d, want 413", r, status)
		}
		if status < 400 && status != 303 || status >= 500 {
			t.Errorf("%s with 50 MB: got %d, want a 4xx", r, status)
		}
	}
}

// fiftyMegabytes announces a 50 MB body, sends 200 KB of it and returns
// the status of the answer, which must come without the rest.
func fiftyMegabytes(t *testing.T, addr, method, path, contentType string, header map[string]string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n", method, path, addr, contentType, 50<<20)
	for k, v := range header {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	conn.Write(req.Bytes())
	go conn.Write(bytes.Repeat([]byte("a"), 200<<10)) // may block once the server stops reading
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: no answer before the 50 MB were sent: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
