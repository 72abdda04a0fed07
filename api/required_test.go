package api_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestRequiredMembersAreRequired sends every operation of the document
// whose body has required members a body without them: {}, and each
// required member left out of an otherwise complete body. Each must be
// refused with 400 invalid_request naming the missing member, before any
// rule judges the rest: a login without a password is not a wrong
// password (it answered 401 invalid_credentials), a password change
// without the new password is not a weak one (it answered 422
// password_too_weak). Derived from api/openapi.json, so a new endpoint is
// covered as soon as it is documented.
func TestRequiredMembersAreRequired(t *testing.T) {
	doc := openAPI(t)
	s := startAcme(t)
	admin := s.Client(t)
	admin.Token = admin.Login("ada@example.com", goodPW)
	op := s.Client(t) // for the operator key's routes
	op.Token = operatorKey(t, s, "", "provisioning").Key
	before := s.Snapshot(t)

	cases := 0
	ops := operations(doc)
	names := make([]string, 0, len(ops))
	for name := range ops {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		schema := requestSchema(doc, ops[name])
		if schema == nil {
			continue
		}
		required := stringList(schema["required"])
		if len(required) == 0 {
			continue
		}
		props, _ := schema["properties"].(map[string]any)
		method, path, _ := strings.Cut(name, " ")
		path = strings.NewReplacer("{id}", "06h50k00000000000000000000", "{delivery_id}", "06h50k00000000000000000001").Replace(path)

		bodies := []struct {
			what    string
			body    map[string]any
			missing []string // the member the answer may name
		}{{"{}", map[string]any{}, required}}
		for _, m := range required {
			body := map[string]any{}
			for _, other := range required {
				if other != m {
					prop, _ := props[other].(map[string]any)
					body[other] = sampleValue(doc, prop)
				}
			}
			bodies = append(bodies, struct {
				what    string
				body    map[string]any
				missing []string
			}{"without " + m, body, []string{m}})
		}
		for _, b := range bodies {
			cases++
			c := admin
			if strings.HasPrefix(path, "/api/v1/companies") {
				c = op
			}
			r := c.Do(method, path, b.body)
			what := fmt.Sprintf("%s %s", name, b.what)
			if r.StatusCode != 400 || r.Code(t) != "invalid_request" {
				t.Errorf("%s: got %d %s, want 400 invalid_request", what, r.StatusCode, r.Body)
				continue
			}
			title := r.Str(t, "title")
			if !slices.ContainsFunc(b.missing, func(m string) bool { return strings.Contains(title, fmt.Sprintf("%q is required", m)) }) {
				t.Errorf("%s: title %q, want it to say which of %v is required", what, title, b.missing)
			}
		}
	}
	if cases < 20 {
		t.Fatalf("only %d bodies sent: is the walk of the document broken?", cases)
	}
	if after := s.Snapshot(t); after != before {
		t.Errorf("refused bodies changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The two the witness found, said plainly.
	for _, tc := range []struct {
		path  string
		body  any
		title string
	}{
		{"/api/v1/login", "{}", `The member "email" is required.`},
		{"/api/v1/login", "", `The member "email" is required.`},
		{"/api/v1/me/password", map[string]string{"current_password": goodPW}, `The member "new_password" is required.`},
	} {
		r := admin.Do("POST", tc.path, tc.body)
		wantProblem(t, fmt.Sprintf("POST %s %v", tc.path, tc.body), r, 400, "invalid_request")
		if got := r.Str(t, "title"); got != tc.title {
			t.Errorf("POST %s %v: title %q, want %q", tc.path, tc.body, got, tc.title)
		}
	}
}

// requestSchema is the JSON schema of an operation's body, resolved.
func requestSchema(doc map[string]any, op map[string]any) map[string]any {
	rb, _ := op["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	schema, _ := mt["schema"].(map[string]any)
	for schema != nil && schema["$ref"] != nil {
		schema = resolve(doc, schema["$ref"].(string))
	}
	return schema
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

// sampleValue is a value of a member's documented type.
func sampleValue(doc map[string]any, schema map[string]any) any {
	for schema != nil && schema["$ref"] != nil {
		schema = resolve(doc, schema["$ref"].(string))
	}
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch schema["type"] {
	case "boolean":
		return false
	case "integer", "number":
		return 1
	case "array":
		return []any{}
	case "object":
		return map[string]any{}
	}
	return "x"
}
