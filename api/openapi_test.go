package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// openAPI reads api/openapi.json.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns "METHOD /path" for every operation of the document.
func operations(doc map[string]any) map[string]map[string]any {
	ops := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			if slices.Contains(httpMethods, method) {
				ops[strings.ToUpper(method)+" "+path], _ = op.(map[string]any)
			}
		}
	}
	return ops
}

// TestOpenAPIMatchesRoutes keeps the document and api/routes.go in step:
// every endpoint registered is documented, and every documented one is
// registered. Add each endpoint you create to api/openapi.json.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := openAPI(t)
	ops := operations(doc)
	routed := map[string]bool{}
	for _, pattern := range api.Endpoints() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/authz/") {
			t.Errorf("route %q: want \"METHOD /api/...\" or \"METHOD /authz/...\" so that it can be documented", pattern)
			continue
		}
		routed[pattern] = true
		if ops[pattern] == nil {
			t.Errorf("route %q is not in api/openapi.json", pattern)
		}
	}
	for op := range ops {
		if !routed[op] {
			t.Errorf("api/openapi.json documents %q, which api/routes.go does not register", op)
		}
	}
	if len(routed) == 0 {
		t.Fatal("api.Endpoints lists no routes")
	}
}

func TestOpenAPIDocumentIsComplete(t *testing.T) {
	doc := openAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: got %q, want 3.1.x", v)
	}
	schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if c, _ := schemes["cookieAuth"].(map[string]any); c["in"] != "cookie" || c["name"] != "gatehouse_session" {
		t.Errorf("securitySchemes.cookieAuth: got %v, want the gatehouse_session cookie", c)
	}
	if b, _ := schemes["bearerAuth"].(map[string]any); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("securitySchemes.bearerAuth: got %v, want http bearer", b)
	}

	// Every $ref resolves.
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if resolve(doc, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
			for k, x := range v {
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc, "#")

	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	paths := doc["paths"].(map[string]any)
	for name, op := range operations(doc) {
		id, _ := op["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: operationId %q missing or also used by %s", name, id, ids[id])
		}
		ids[id] = name
		if op["summary"] == nil {
			t.Errorf("%s: no summary", name)
		}
		responses, _ := op["responses"].(map[string]any)
		success := false
		for status := range responses {
			success = success || strings.HasPrefix(status, "2")
		}
		if !success {
			t.Errorf("%s: no success response", name)
		}
		_, path, _ := strings.Cut(name, " ")
		var declared []string
		for _, params := range []any{paths[path].(map[string]any)["parameters"], op["parameters"]} {
			list, _ := params.([]any)
			for _, p := range list {
				if p := p.(map[string]any); p["in"] == "path" {
					declared = append(declared, p["name"].(string))
				}
			}
		}
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			if !slices.Contains(declared, m[1]) {
				t.Errorf("%s: path parameter %q is not declared", name, m[1])
			}
		}
	}

	// The codes a client can meet are the codes of httpx.Codes.
	enum, _ := resolve(doc, "#/components/schemas/ErrorCode")["enum"].([]any)
	var documented []string
	for _, c := range enum {
		documented = append(documented, c.(string))
	}
	codes := httpx.Codes()
	sort.Strings(documented)
	sort.Strings(codes)
	if !slices.Equal(documented, codes) {
		t.Errorf("ErrorCode enum: got %v, want httpx.Codes() %v", documented, codes)
	}
}

// resolve follows a local JSON pointer such as #/components/schemas/User.
func resolve(doc map[string]any, ref string) map[string]any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

// conforms checks v against a schema of the document: types, enums,
// required members, and no member the schema does not name.
func conforms(doc map[string]any, schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		return conforms(doc, resolve(doc, ref), v, at)
	}
	var errs []string
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: got %T, want an object", at, v))
		}
		props, _ := schema["properties"].(map[string]any)
		for _, r := range schema["required"].([]any) {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required member %q missing", at, r))
			}
		}
		for k, x := range m {
			p, ok := props[k].(map[string]any)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: member %q is not documented", at, k))
				continue
			}
			errs = append(errs, conforms(doc, p, x, at+"."+k)...)
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return append(errs, fmt.Sprintf("%s: got %T, want an array", at, v))
		}
		for i, x := range list {
			errs = append(errs, conforms(doc, schema["items"].(map[string]any), x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: got %T, want a string", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: got %T, want a boolean", at, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s: got %v, want an integer", at, v))
		}
	}
	return errs
}

// TestAnswersMatchTheDocument sends real requests and checks each answer
// against the schema the document gives for its operation and status.
func TestAnswersMatchTheDocument(t *testing.T) {
	doc := openAPI(t)
	ops := operations(doc)
	s := startAcme(t)
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW)
	served := c.Get("/api/v1/openapi.json")
	if served.StatusCode != 200 || !strings.HasPrefix(served.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET openapi.json: got %d %s", served.StatusCode, served.Header.Get("Content-Type"))
	}
	file, _ := os.ReadFile("openapi.json")
	if string(served.Body) != string(file) {
		t.Errorf("the served document differs from api/openapi.json")
	}

	for _, call := range []struct {
		op   string
		path string
		body any
	}{
		{"POST /api/v1/login", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": goodPW}},
		{"POST /api/v1/login", "/api/v1/login", map[string]string{"email": "ada@example.com", "password": "wrong wrong wrong"}},
		{"POST /api/v1/login", "/api/v1/login", `{"email": 1}`},
		{"GET /api/v1/me", "/api/v1/me", nil},
		{"GET /api/v1/me/sessions", "/api/v1/me/sessions", nil},
		{"POST /api/v1/me/password", "/api/v1/me/password", map[string]string{"current_password": goodPW, "new_password": "password1234", "confirm_password": "password1234"}},
		{"POST /api/v1/password-reset", "/api/v1/password-reset", map[string]string{"email": "ada@example.com"}},
		{"POST /api/v1/password-reset/confirm", "/api/v1/password-reset/confirm", map[string]string{"token": "x", "new_password": otherPW, "confirm_password": otherPW}},
		{"POST /api/v1/login/totp", "/api/v1/login/totp", map[string]string{"challenge": "x", "code": "123456"}},
		{"DELETE /api/v1/me/sessions/{id}", "/api/v1/me/sessions/nope", nil},
	} {
		r := c.Do(strings.Fields(call.op)[0], call.path, call.body)
		op := ops[call.op]
		resp, _ := op["responses"].(map[string]any)[fmt.Sprint(r.StatusCode)].(map[string]any)
		if resp == nil {
			t.Errorf("%s: status %d is not documented (%s)", call.op, r.StatusCode, r.Body)
			continue
		}
		if ref, ok := resp["$ref"].(string); ok {
			resp = resolve(doc, ref)
		}
		content, _ := resp["content"].(map[string]any)
		media := strings.Split(r.Header.Get("Content-Type"), ";")[0]
		if len(content) == 0 {
			if len(r.Body) != 0 {
				t.Errorf("%s: %d has a body, the document says none", call.op, r.StatusCode)
			}
			continue
		}
		mt, _ := content[media].(map[string]any)
		if mt == nil {
			t.Errorf("%s: %d answered %s, the document says %v", call.op, r.StatusCode, media, content)
			continue
		}
		var v any
		json.Unmarshal(r.Body, &v)
		for _, e := range conforms(doc, mt["schema"].(map[string]any), v, call.op) {
			t.Error(e)
		}
	}
}

// TestOpenAPIDocumentsTheCommonRefusals: the refusals that come before an
// operation's own rules are documented on each operation they can reach.
// Every unsafe operation may meet the cross-site refusal (403 forbidden,
// from server.go's cross-origin protection; the OpenAPI witness found 13
// operations without it and the login's 403 naming only
// account_disabled), and every operation may meet decode's 400, 413 and
// 415, even one that takes no body (a GET with a text/plain body is 415),
// and 503 when the database is away (test/cluster's outage met it).
func TestOpenAPIDocumentsTheCommonRefusals(t *testing.T) {
	doc := openAPI(t)
	for name, op := range operations(doc) {
		method, _, _ := strings.Cut(name, " ")
		responses, _ := op["responses"].(map[string]any)
		description := func(status string) string {
			r, _ := responses[status].(map[string]any)
			if ref, ok := r["$ref"].(string); ok {
				r = resolve(doc, ref)
			}
			d, _ := r["description"].(string)
			return d
		}
		if method != "GET" && method != "HEAD" && !mentions(description("403"), "forbidden") {
			t.Errorf("%s: 403 %q, want it to document the cross-site refusal, code `forbidden`", name, description("403"))
		}
		if name == "GET /api/v1/openapi.json" {
			continue // a file, served without reading the request
		}
		for status, code := range map[string]string{"400": "invalid_request", "413": "request_too_large", "415": "unsupported_media_type", "503": "unavailable"} {
			if (status == "413" || status == "415") && strings.Contains(name, " /authz/") {
				continue // forward auth reads headers only: a proxy sends no body, and one sent is ignored
			}
			if !mentions(description(status), code) {
				t.Errorf("%s: %s %q, want it to document code `%s`", name, status, description(status), code)
			}
		}
	}
}

// mentions tells whether a description names the code as a word.
func mentions(description, code string) bool {
	return regexp.MustCompile(`(^|[^a-z_])` + code + `($|[^a-z_])`).MatchString(description)
}
