package api_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/password"
)

// TestOpenAPIPasswordLimits holds the document's words and schemas to the
// one source of each limit: no password member has a maxLength (a count
// of characters), each new password's description says
// password.MaxBytes, every "at least N characters" says password.MinLength,
// every "N bytes" says password.MaxBytes, or auth.MaxCheckInputBytes where
// it speaks of user inputs (whose count, "more than N" or "At most N", is
// auth.MaxCheckInputs).
func TestOpenAPIPasswordLimits(t *testing.T) {
	doc := openAPI(t)
	atLeast := regexp.MustCompile(`at least (\d+) characters`)
	bytes := regexp.MustCompile(`(\d[\d,]*) bytes`)
	inputs := regexp.MustCompile(`(?:more than|At most) (\d+) user inputs|At most (\d+), each`)
	var members, sentences int
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if prop, ok := x.(map[string]any); ok && strings.HasSuffix(k, "password") && prop["type"] == "string" && strings.Contains(at, "/properties") {
					members++
					// JSON Schema's maxLength counts characters; the limit
					// is bytes of the normalised form, refused with 422
					// password_too_long, which a validator reading
					// maxLength would take for a malformed request (400).
					if max, ok := prop["maxLength"]; ok {
						t.Errorf("%s/%s: maxLength %v, want none: say password.MaxBytes in the description", at, k, max)
					}
					if d, _ := prop["description"].(string); k == "new_password" && !bytes.MatchString(d) {
						t.Errorf("%s/%s: description %q, want it to say the limit in bytes", at, k, d)
					}
				}
				walk(x, at+"/"+k)
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		case string:
			for _, m := range atLeast.FindAllStringSubmatch(v, -1) {
				sentences++
				if n, _ := strconv.Atoi(m[1]); n != password.MinLength {
					t.Errorf("%s: %q, want password.MinLength %d", at, m[0], password.MinLength)
				}
			}
			want := password.MaxBytes
			if strings.Contains(at, "user_inputs") || strings.Contains(v, "user inputs") {
				want = auth.MaxCheckInputBytes
			}
			for _, m := range bytes.FindAllStringSubmatch(v, -1) {
				sentences++
				if n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", "")); n != want {
					t.Errorf("%s: %q, want %d", at, m[0], want)
				}
			}
			for _, m := range inputs.FindAllStringSubmatch(v, -1) {
				sentences++
				if n, _ := strconv.Atoi(m[1] + m[2]); n != auth.MaxCheckInputs {
					t.Errorf("%s: %q, want auth.MaxCheckInputs %d", at, m[0], auth.MaxCheckInputs)
				}
			}
		}
	}
	walk(doc, "#")
	if members == 0 || sentences == 0 {
		t.Fatalf("found %d password members and %d sentences with a limit: is the walk broken?", members, sentences)
	}
}
