package gatehouse_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// A key made by NewAPIKey parses back to its ID and hashes to what is
// stored; nothing else of its length parses, and no session token is
// taken for a key.
func TestAPIKeyShape(t *testing.T) {
	id := gatehouse.NewID(time.Now())
	key, hash := gatehouse.NewAPIKey(id)
	if got, ok := gatehouse.ParseAPIKey(key); !ok || got != id {
		t.Fatalf("ParseAPIKey(%q) = %q, %v; want %q, true", key, got, ok, id)
	}
	if !bytes.Equal(hash, gatehouse.HashToken(key)) || !gatehouse.IsAPIKey(key) {
		t.Fatalf("the key's hash or IsAPIKey is wrong")
	}
	other, _ := gatehouse.NewAPIKey(id)
	if other == key {
		t.Fatalf("two keys for one ID are equal")
	}
	for _, bad := range []string{"", "gh_", key[:len(key)-1], key + "0", strings.ToUpper(key), "gx" + key[2:],
		key[:len(key)-1] + "u", key[:29] + "-" + key[30:], key[:5] + "\x00" + key[6:], key[:5] + "é" + key[7:]} {
		if _, ok := gatehouse.ParseAPIKey(bad); ok {
			t.Errorf("ParseAPIKey(%q) accepted", bad)
		}
	}
	// A session token that starts with gh_ by chance stays a session token.
	tok, _ := gatehouse.NewToken()
	if lucky := "gh_" + tok[3:]; gatehouse.IsAPIKey(lucky) || !gatehouse.IsAPIKey("gh_short") {
		t.Errorf("IsAPIKey: a session token starting gh_ is a key, or a short gh_ string is not")
	}
}

func FuzzParseAPIKey(f *testing.F) {
	key, _ := gatehouse.NewAPIKey(gatehouse.NewID(time.Now()))
	f.Add(key)
	f.Add(key[:len(key)-1] + "z")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := gatehouse.ParseAPIKey(s)
		if !ok {
			return
		}
		if len(s) != gatehouse.APIKeyLength || !strings.HasPrefix(s, "gh_"+id+"_") {
			t.Fatalf("ParseAPIKey(%q) accepted with ID %q", s, id)
		}
	})
}
