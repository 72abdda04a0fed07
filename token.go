package gatehouse

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// NewToken returns a fresh secret token (32 random bytes, base64url without
// padding: 43 characters) and the SHA-256 that is stored in its place.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a token as it is stored. A token from a
// client is hashed and looked up; it is never compared in the clear.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenLooksValid reports whether s has the shape of a token made by
// NewToken, so that garbage is refused before it reaches the database.
// Only the 64 characters of base64url count: the decoder alone would skip
// line breaks, and let 43 characters that hold fewer than 32 bytes through.
func TokenLooksValid(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new identifier: 26 characters of Crockford base32 holding
// 48 bits of milliseconds and 80 random bits. IDs made later sort later,
// which keeps inserts at the end of indexes and cursors stable.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

// Clock tells the time; tests set it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time, rounded to the millisecond that the store keeps.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
