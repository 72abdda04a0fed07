package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id parameters (Memory in KiB).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams: 64 MiB, one pass, one thread. OWASP's first argon2id
// configuration is 46 MiB and one pass; this spends 39% more memory, for
// about 20 ms a hash on one core of the reference machine:
// see docs/PASSWORDS.md for the measurements and the trade-off. One thread,
// because under load every core is already busy with its own hash.
var DefaultParams = Params{Memory: 64 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	// MaxBytes is the longest password accepted (after NFKC normalisation), in bytes.
	MaxBytes = 1024
	// MinLength is the shortest password Check accepts, in characters (runes).
	MinLength = 12

	// maxRawBytes bounds the input before normalising it. NFKC shrinks text
	// by at most 4 times (a 4-byte letter such as U+1D400 becomes a 1-byte
	// "A"), so a longer input cannot normalise to MaxBytes or fewer.
	maxRawBytes = 4 * MaxBytes

	// bcryptMaxBytes is where bcrypt stops reading a password.
	bcryptMaxBytes = 72
)

var (
	// ErrBusy is what a caller the Hasher turns away gets (as a
	// *BusyError, which says how long to wait): one it could not serve
	// within the queue wait, or whose context ended while it waited. The
	// auth service answers 503 with Retry-After.
	ErrBusy = errors.New("password: too many hashes in progress")
	// ErrTooLong is returned for a password of more than MaxBytes,
	// before any hashing.
	ErrTooLong = errors.New("password: longer than 1024 bytes")
)

// memory to map for the hash.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	normalized, err := normalizeBounded(password)
	if err != nil {
		return "", err
	}
	salt := randomBytes(h.params.SaltLen)
	ws, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(ws)
	key, err := h.run(ws, []byte(normalized), salt, h.params)
	if err != nil {
		return "", err
	}
	return encodePHC(phcHash{params: h.params, salt: salt, key: key}), nil
}

// Verify checks password against an encoded hash: argon2id PHC (any
// parameters within the limits) or bcrypt ($2a$, $2b$, $2y$, for imported
// users). rehash is true, only when ok, if the hash should be replaced by
// Hash: bcrypt, or argon2id with parameters other than the Hasher's.
// The comparison is constant-time.
// Errors: ErrTooLong, ErrInvalidHash (stored data is wrong), ErrBusy, or
// the system's when it has no memory to map for the hash.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	normalized, err := normalizeBounded(password)
	if err != nil {
		return false, false, err
	}
	if isBcrypt(encoded) {
		return h.verifyBcrypt(ctx, encoded, normalized, password)
	}
	stored, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	ws, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.release(ws)
	key, err := h.run(ws, []byte(normalized), stored.salt, stored.params)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(key, stored.key) == 1
	return ok, ok && stored.params != h.params, nil
}

// VerifyDummy does the same work as Verify against a hash with the Hasher's
// parameters and reports nothing: used for unknown emails, so that they cost
// the same time as known ones. Errors: ErrTooLong, ErrBusy, as Verify.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

// Normalize returns the NFKC form of password (NIST SP 800-63B), so that
// the same characters typed on different keyboards or systems match.
func Normalize(password string) string {
	return norm.NFKC.String(password)
}

// normalizeBounded normalises password, refusing it with ErrTooLong when it
// is, or would be, longer than MaxBytes.
func normalizeBounded(password string) (string, error) {
	if len(password) > maxRawBytes {
		return "", ErrTooLong
	}
	normalized := Normalize(password)
	if len(normalized) > MaxBytes {
		return "", ErrTooLong
	}
	return normalized, nil
}
func isBcrypt(encoded string) bool {
	return strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$")
}

// verifyBcrypt checks an imported bcrypt hash. bcrypt reads only the first
// 72 bytes of a password; so did the system that made the hash. The system
// may not have normalised, so the password as typed is tried too when its
// NFKC form differs (rare: ligatures, full-width letters).
func (h *Hasher) verifyBcrypt(ctx context.Context, encoded, normalized, typed string) (ok, rehash bool, err error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrInvalidHash, err)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d: want at most %d", ErrInvalidHash, cost, maxBcryptCost)
	}
	ws, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer h.release(ws)
	candidates := []string{normalized}
	if typed != normalized {
		candidates = append(candidates, typed)
	}
	for _, candidate := range candidates {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), truncate(candidate, bcryptMaxBytes))
		switch {
		case err == nil:
			return true, true, nil
		case !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, fmt.Errorf("%w: bcrypt: %v", ErrInvalidHash, err)
		}
	}
	return false, false, nil
}

func truncate(s string, n int) []byte {
	if len(s) > n {
		s = s[:n]
	}
	return []byte(s)
}

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails: it crashes the program if the system's source does
	return b
}
