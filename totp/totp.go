package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"time"
)

// The parameters every authenticator app supports. Others (SHA-256,
// 8 digits, 60 s) are in the RFC but are silently ignored by some apps,
// which then show codes that never work.
const (
	Digits = 6
	Period = 30 * time.Second
	Skew   = 1 // steps accepted either side of the current one
)

// SecretSize is 160 bits, the length RFC 4226 recommends: the output size
// of SHA-1, so no shorter secret could be as strong.
const SecretSize = 20

// NewSecret returns a new random secret of SecretSize bytes.
func NewSecret() []byte {
	b := make([]byte, SecretSize)
	rand.Read(b) // never fails: crypto/rand crashes the program rather than return short
	return b
}

// base32NoPad is what authenticator apps expect to be typed or scanned:
// upper case, and no '=' padding, which some apps refuse.
var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret returns secret in RFC 4648 base32, upper case, without padding.
func EncodeSecret(secret []byte) string {
	return base32NoPad.EncodeToString(secret)
}

// Step returns the RFC 6238 time step that contains t.
func Step(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// Code returns the 6-digit SHA-1 code for secret at the given step.
func Code(secret []byte, step int64) string {
	return HOTP(sha1.New, secret, uint64(step), Digits)
}

// HOTP returns the RFC 4226 one-time password of the given number of digits
// (1 to 9) for counter, with HMAC over h. TOTP is HOTP with the time step as
// counter; the hash and digits are parameters only so that the RFC test
// vectors, which use SHA-256, SHA-512 and 8 digits, can check this code.
func HOTP(h func() hash.Hash, secret []byte, counter uint64, digits int) string {
	if digits < 1 || digits > 9 {
		panic(fmt.Sprintf("totp: HOTP with %d digits", digits))
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(h, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)

	// Dynamic truncation (RFC 4226 section 5.3): the low nibble of the last
	// byte picks four bytes; the top bit is dropped so the number is the
	// same whether read as signed or unsigned.
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff

	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Verify reports whether code is the code for secret at time t or one step
// either side, counting only steps after lastUsed. It returns the matching
// step, which the caller must record as the new lastUsed so that the code,
// and every code before it, is never accepted again. A lastUsed of 0 means
// no code has been used yet.
//
// The code goes through ParseCode first, so "123 456" is accepted.
func Verify(secret []byte, code string, t time.Time, lastUsed int64) (step int64, ok bool) {
	code, valid := ParseCode(code)
	if !valid || len(secret) == 0 {
		return 0, false
	}
	now := Step(t)
	// Every candidate is compared, in constant time, so that timing tells
	// nothing about which digits were right. If two steps give the same code
	// (one chance in a million) the later wins: recording the earlier would
	// let the same digits be replayed at the later step.
	for s := now - Skew; s <= now+Skew; s++ {
		if s <= lastUsed {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(Code(secret, s)), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}
