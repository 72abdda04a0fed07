package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret as shown to people: Standard
// Webhooks' mark of a symmetric key, which its libraries strip.
const SecretPrefix = "whsec_"

// SecretBytes is the size of a signing key: the specification asks for 24
// to 64 random bytes.
const SecretBytes = 32

// NewSecret returns a fresh signing key.
func NewSecret() []byte {
	k := make([]byte, SecretBytes)
	rand.Read(k)
	return k
}

// FormatSecret is the key as receivers configure it: "whsec_" and its
// standard base64.
func FormatSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Sign returns the webhook-signature header of a message: for each key,
// "v1," and the base64 HMAC-SHA256 of "msgID.timestamp.body", separated by
// spaces (several keys while a rotated key still signs). Receivers accept
// the message when any signature verifies.
func Sign(msgID string, timestamp int64, body []byte, keys ...[]byte) string {
	var b strings.Builder
	ts := strconv.FormatInt(timestamp, 10)
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(msgID))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}
