package api

import (
	"net/http"
	"strings"
	"testing"
)

type base struct {
	Name string `json:"name"`
}

type embedding struct {
	base
	Role     *string `json:"role"`
	Disabled bool
	Ignored  string `json:"-"`
	secret   string
}

// TestDecodeKnowsEmbeddedMembers: members of embedded structs are known,
// spelled exactly; ignored and unexported fields are not members.
func TestDecodeKnowsEmbeddedMembers(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"name": "a", "role": "admin", "Disabled": true}`: true,
		`{"Name": "a"}`:      false,
		`{"disabled": true}`: false,
		`{"Ignored": "x"}`:   false,
		`{"secret": "x"}`:    false,
		`{"base": {}}`:       false,
	} {
		r, _ := http.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var v embedding
		err := decode(r, &v)
		if (err == nil) != ok {
			t.Errorf("%s: got error %v, want ok=%v", body, err, ok)
		}
	}
}
