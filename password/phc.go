package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidHash is returned by Verify for an encoded hash it cannot use:
// not argon2id or bcrypt, malformed, or with parameters beyond the limits
// below. It means stored data is wrong, not that the password is.
var ErrInvalidHash = errors.New("password: invalid encoded hash")

// Limits on the parameters of a hash Verify will compute. They are checked
// before any memory is allocated, so a corrupt or hostile stored hash
// ("m=4294967295") cannot make a login allocate 4 TiB or run for hours.
// They are generous: 4 times the default memory, and more passes than
// anyone uses.
const (
	maxMemory     = 256 * 1024 // KiB, 256 MiB
	maxTime       = 10
	maxThreads    = 16
	minSaltLen    = 8 // bytes, the PHC string format's minimum
	maxSaltLen    = 64
	minKeyLen     = 16 // bytes
	maxKeyLen     = 64
	maxBcryptCost = 14 // about 1.2 s on one core of the reference machine

	// maxEncodedLen is longer than any hash within the limits above.
	maxEncodedLen = 256
)

// b64 is how the argon2 reference implementation writes salt and hash:
// standard alphabet, no padding. Strict refuses non-canonical trailing bits,
// so each hash has exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// phcHash is a decoded argon2id PHC string.
type phcHash struct {
	params Params
	salt   []byte
	key    []byte
}

// Validate reports whether p can be used to hash and verify: within the
// limits Verify accepts for stored hashes, so that every hash this package
// writes it can also read. It does not judge strength; DefaultParams does.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: time %d: want 1 to %d", p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("password: threads %d: want 1 to %d", p.Threads, maxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("password: memory %d KiB: want %d to %d", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length %d: want %d to %d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length %d: want %d to %d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// encodePHC writes $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>.
func encodePHC(h phcHash) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// decodePHC parses an argon2id PHC string strictly: version 19 only,
// parameters in the order m, t, p without leading zeros, and every value
// within the limits. It never allocates in proportion to a parameter.
func decodePHC(encoded string) (phcHash, error) {
	if len(encoded) > maxEncodedLen {
		return phcHash{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidHash, maxEncodedLen)
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return phcHash{}, fmt.Errorf("%w: want $argon2id$v=19$m=,t=,p=$salt$hash", ErrInvalidHash)
	}
	if fields[1] != "argon2id" {
		return phcHash{}, fmt.Errorf("%w: algorithm %q: want argon2id", ErrInvalidHash, fields[1])
	}
	if fields[2] != "v=19" {
		return phcHash{}, fmt.Errorf("%w: version %q: want v=19", ErrInvalidHash, fields[2])
	}
	var h phcHash
	m, t, p, err := parseMTP(fields[3])
	if err != nil {
		return phcHash{}, err
	}
	h.params = Params{Memory: m, Time: t, Threads: p}
	if h.salt, err = decodeB64(fields[4]); err != nil {
		return phcHash{}, fmt.Errorf("%w: salt: %v", ErrInvalidHash, err)
	}
	if h.key, err = decodeB64(fields[5]); err != nil {
		return phcHash{}, fmt.Errorf("%w: hash: %v", ErrInvalidHash, err)
	}
	h.params.SaltLen = uint32(len(h.salt))
	h.params.KeyLen = uint32(len(h.key))
	if err := h.params.Validate(); err != nil {
		return phcHash{}, fmt.Errorf("%w: %v", ErrInvalidHash, err)
	}
	return h, nil
}

// decodeB64 is b64.DecodeString refusing the line breaks it would skip.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break")
	}
	return b64.DecodeString(s)
}

// parseMTP parses "m=65536,t=1,p=1".
func parseMTP(s string) (m, t uint32, p uint8, err error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, fmt.Errorf("%w: parameters %q: want m=,t=,p=", ErrInvalidHash, s)
	}
	var values [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(parts[i], name)
		if !ok || !isCanonicalNumber(digits) {
			return 0, 0, 0, fmt.Errorf("%w: parameters %q: want m=,t=,p=", ErrInvalidHash, s)
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%w: parameter %s%s out of range", ErrInvalidHash, name, digits)
		}
		values[i] = uint32(v)
	}
	if values[2] > maxThreads {
		return 0, 0, 0, fmt.Errorf("%w: p=%d: want at most %d", ErrInvalidHash, values[2], maxThreads)
	}
	return values[0], values[1], uint8(values[2]), nil
}

// isCanonicalNumber reports whether s is decimal digits without a sign or
// leading zero, so that a parameter has one spelling.
func isCanonicalNumber(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
