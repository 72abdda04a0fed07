package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// fuzzBody has the kinds of member the API's bodies have.
type fuzzBody struct {
	Email    string  `json:"email"`
	Password string  `json:"password"`
	Name     *string `json:"name"`
	Disabled *bool   `json:"disabled"`
}

// FuzzDecode: decode never panics and refuses with a 4xx code; what it
// accepts is one JSON object of valid UTF-8 without NUL, whose members are
// the struct's, each once and spelled exactly, and which means the same
// to encoding/json.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.c","password":"x"}`, `{}`, ``, `{"email":"a","email":"b"}`, `{"email":"a","EMAIL":"b"}`,
		`{"emaiſ":"a"}`, `{"name":null,"disabled":true}`, `{"email":"a\u0000"}`, "{\"email\":\"\xff\"}", `[{}]`, `{} {}`, `{"email":1}`,
		`{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, `{"password":"` + strings.Repeat("a", 70<<10) + `"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var got fuzzBody
		err := decode(r, &got)
		if err != nil {
			e := gatehouse.AsError(err)
			if e == nil || httpx.Status(e.Code) < 400 || httpx.Status(e.Code) >= 500 {
				t.Fatalf("decode(%q): %v, want a 4xx *gatehouse.Error", body, err)
			}
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return
		}
		if !json.Valid(body) || bytes.IndexByte(body, 0) >= 0 || len(body) > MaxBodyBytes {
			t.Fatalf("decode accepted %q", body)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("decode accepted %q, which is not an object: %v", body, err)
		}
		for k := range members {
			if k != "email" && k != "password" && k != "name" && k != "disabled" {
				t.Fatalf("decode accepted %q with the member %q", body, k)
			}
		}
		keys := 0
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.Token()
		for dec.More() {
			dec.Token()
			var v json.RawMessage
			dec.Decode(&v)
			keys++
		}
		if keys != len(members) {
			t.Fatalf("decode accepted %q, which repeats a member", body)
		}
		var want fuzzBody
		if err := json.Unmarshal(body, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q) = %+v, encoding/json reads %+v (%v)", body, got, want, err)
		}
	})
}

// FuzzDecodeContentType: only application/json (any parameters, any case)
// is read; every other type is 415 before the body is looked at.
func FuzzDecodeContentType(f *testing.F) {
	for _, s := range []string{"application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
		"application/x-www-form-urlencoded", "application/json;", "application/jsonx", "", "multipart/form-data; boundary=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		r := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{}`))
		r.Header = http.Header{"Content-Type": {ct}}
		err := decode(r, &fuzzBody{})
		if err == nil {
			mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
			if strings.TrimSpace(mt) != "application/json" {
				t.Fatalf("decode accepted Content-Type %q", ct)
			}
		} else if code := gatehouse.ErrorCode(err); code != gatehouse.EUnsupportedMediaType && code != gatehouse.EInvalidRequest {
			t.Fatalf("Content-Type %q: got %v", ct, err)
		}
	})
}
