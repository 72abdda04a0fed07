package seal

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A Key is the 32 random bytes of --secret-key-file.
type Key [32]byte

// The key never appears in logs, errors or JSON, whatever prints it: a
// configuration struct dumped at start-up would otherwise show it.
const redacted = "seal.Key(REDACTED)"

func (Key) String() string                { return redacted }
func (Key) Format(f fmt.State, verb rune) { io.WriteString(f, redacted) }
func (Key) MarshalText() ([]byte, error)  { return []byte(redacted), nil }

const howToMake = "the file must hold 32 random bytes, base64-encoded; make one with: openssl rand -base64 32"

// maxKeyFile is far above the 44 characters of a key plus a newline; a
// larger file is the wrong file, and is not read into memory.
const maxKeyFile = 1024

// ParseKey decodes a key in standard base64 as openssl rand -base64 32
// prints it. Surrounding white space, such as a trailing newline, is ignored.
func ParseKey(b64 string) (Key, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return Key{}, errors.New("secret key is empty; " + howToMake)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// err gives only a position, never key material.
		return Key{}, fmt.Errorf("secret key is not base64 (%v); %s", err, howToMake)
	}
	if len(raw) != len(Key{}) {
		return Key{}, fmt.Errorf("secret key is %d bytes, want 32; %s", len(raw), howToMake)
	}
	return Key(raw), nil
}

// LoadKey reads the key from a file written as openssl rand -base64 32
// prints it.
//
// It does not refuse a file that others may read: key files mounted from a
// secret store are often 0644 inside a container that runs nothing else,
// and refusing them would stop a working deployment. LoadOrCreateKey makes
// new files 0600.
func LoadKey(path string) (Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, err // *fs.PathError names the file; fs.ErrNotExist is detectable
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return Key{}, err
	}
	if len(b) > maxKeyFile {
		return Key{}, fmt.Errorf("secret key file %s: larger than %d bytes; %s", path, maxKeyFile, howToMake)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return Key{}, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateKey reads the key file at path, or, if there is none, creates
// it with a new random key, readable by its owner only (0600). created
// reports whether this call made the file. The folder must exist.
//
// Creation is safe against a concurrent caller (another goroutine, or a
// second process started at the same moment): exactly one key is written and
// every caller returns it.
func LoadOrCreateKey(path string) (k Key, created bool, err error) {
	k, err = LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	rand.Read(k[:]) // never fails: crypto/rand crashes the program rather than return short
	err = createExclusive(path, []byte(base64.StdEncoding.EncodeToString(k[:])+"\n"))
	if errors.Is(err, fs.ErrExist) {
		// Another caller won the race; its file is complete, because it
		// appeared under path only once written.
		k, err = LoadKey(path)
		return k, false, err
	}
	if err != nil {
		return Key{}, false, fmt.Errorf("create secret key file: %w", err)
	}
	return k, true, nil
}

// createExclusive writes data to a new file at path with mode 0600, failing
// with fs.ErrExist if path exists.
//
// It writes a temporary file and hard-links it into place rather than
// opening path with O_EXCL: with O_EXCL the file exists, empty, while it is
// written, so a concurrent reader (or every start after a crash at the wrong
// moment) finds an empty key. A link, unlike a rename, refuses to replace an
// existing file, so the first caller's key is never overwritten.
func createExclusive(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable, so that a key handed out
// (and used to seal data) survives a power cut. Some systems cannot sync a
// directory; the file itself is already synced, so failure is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
