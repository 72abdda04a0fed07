package main

import (
	"encoding/json"
	"testing"
)

// keys rotate prints the new key's kid, a new one each time; it works on a
// data folder no server has started on (the first rotation creates the
// first key).
func TestKeysRotate(t *testing.T) {
	data := []string{"--data", t.TempDir()}
	var kids []string
	for range 2 {
		r := runCmd(t, nil, "", append([]string{"keys", "rotate"}, data...)...).wantOK(t, "keys rotate")
		var out map[string]string
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 || out["kid"] == "" {
			t.Fatalf("keys rotate printed %q, want {\"kid\"}", r.stdout)
		}
		kids = append(kids, out["kid"])
	}
	if kids[0] == kids[1] {
		t.Fatalf("two rotations made the same kid %q", kids[0])
	}
	if r := runCmd(t, nil, "", append([]string{"keys"}, data...)...); r.code == 0 {
		t.Error(`"keys" without a subcommand: exit 0`)
	}
}
