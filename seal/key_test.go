package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const exampleKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // bytes 0..31

func TestParseKey(t *testing.T) {
	for _, in := range []string{exampleKey, exampleKey + "\n", exampleKey + "\r\n", "  " + exampleKey + " \n"} {
		k, err := ParseKey(in)
		if err != nil || k != testKey(0) {
			t.Errorf("ParseKey(%q): got (%x, %v), want bytes 0..31", in, k[:], err)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "secret key is empty"},
		{"blank", " \n", "secret key is empty"},
		{"not base64", "this is not base64!", "secret key is not base64"},
		{"raw bytes", "\x00\x01\x02\xff", "secret key is not base64"},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace("++++" + exampleKey[4:]), "secret key is not base64"},
		{"too short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "secret key is 16 bytes, want 32"},
		{"too long", base64.StdEncoding.EncodeToString(make([]byte, 64)), "secret key is 64 bytes, want 32"},
		{"hex, as openssl rand -hex 32 prints", strings.Repeat("ab", 32), "secret key is 48 bytes, want 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey(tc.in)
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Errorf("got %q, want it to contain %q and how to make a key", err, tc.want)
			}
		})
	}
}

func TestKeyIsNotPrinted(t *testing.T) {
	k := testKey(0x41) // "ABCDEF…"
	for _, verb := range []string{"%v", "%s", "%q", "%x", "%X", "%#v", "%+v", "%d"} {
		got := fmt.Sprintf(verb, k)
		for _, leak := range []string{"ABCDEF", "414243", "65 66 67", "0x41"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: got %q, which shows the key", verb, got)
			}
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "key", k, "struct", struct{ Key Key }{k})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "key", k, "struct", struct{ Key Key }{k})
	if got := buf.String(); strings.Contains(got, "ABCDEF") || strings.Contains(got, "65,66") || strings.Contains(got, "65 66") {
		t.Errorf("slog shows the key: %s", got)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	// Group- and world-readable files are accepted: see LoadKey.
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte(exampleKey), 0o644); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKey(path); err != nil || k != testKey(0) {
		t.Errorf("got (%x, %v), want bytes 0..31", k[:], err)
	}

	if _, err := LoadKey(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("short\n"), 0o600)
	if _, err := LoadKey(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("bad file: got %v, want the path and how to make a key", err)
	}

	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 1<<20), 0o600)
	if _, err := LoadKey(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: got %v, want a size error", err)
	}
}

func TestLoadKeyFromOpenssl(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not found and CI=true: install it")
		}
		t.Skip("openssl not found; the format is covered by TestParseKey")
	}
	out, err := exec.Command(openssl, "rand", "-base64", "32").Output()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "secret.key")
	os.WriteFile(path, out, 0o600)
	if _, err := LoadKey(path); err != nil {
		t.Errorf("openssl's key %q: %v", out, err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first call: got (created %v, %v), want (true, nil)", created, err)
	}
	if k1 == (Key{}) {
		t.Fatal("created an all-zero key")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	// The file is what an operator could have written by hand.
	if k, err := LoadKey(path); err != nil || k != k1 {
		t.Errorf("LoadKey of the created file: got (%x, %v), want the created key", k[:], err)
	}

	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || k2 != k1 {
		t.Errorf("second call: got (created %v, %v, same key %v), want (false, nil, true)", created, err, k2 == k1)
	}
	// No temporary files left behind.
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the key", len(entries))
	}
}

func TestLoadOrCreateKeyRefusesBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a bad key file was accepted")
	}
	// and is not replaced: an operator's file, even a broken one, is theirs.
	if b, _ := os.ReadFile(path); string(b) != "not a key" {
		t.Errorf("file now holds %q", b)
	}
}

func TestLoadOrCreateKeyMissingFolder(t *testing.T) {
	if _, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "no", "secret.key")); err == nil {
		t.Fatal("got no error for a missing folder")
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	for range 20 {
		path := filepath.Join(t.TempDir(), "secret.key")
		const n = 8
		var (
			wg      sync.WaitGroup
			keys    [n]Key
			created [n]bool
			errs    [n]error
		)
		for i := range n {
			wg.Go(func() { keys[i], created[i], errs[i] = LoadOrCreateKey(path) })
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if keys[i] != keys[0] {
				t.Fatalf("caller %d got a different key", i)
			}
			if created[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Fatalf("%d callers report creating the key, want 1", creators)
		}
		if k, err := LoadKey(path); err != nil || k != keys[0] {
			t.Fatalf("file holds another key (%v)", err)
		}
	}
}
