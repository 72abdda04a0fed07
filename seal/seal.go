package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
)

// The sealed format, version 1:
//
//	version (1) | key id (4) | nonce (12) | ciphertext (len(plaintext)) | GCM tag (16)
const (
	version    = 1
	keyIDSize  = 4
	headerSize = 1 + keyIDSize
	nonceSize  = 12
	tagSize    = 16

	// Overhead is how many bytes Seal adds to a plaintext: a 20-byte TOTP
	// secret seals to 53 bytes.
	Overhead = headerSize + nonceSize + tagSize
)

// HKDF labels. Changing one makes every sealed value unreadable.
const (
	labelAESKey = "gatehouse seal v1 AES-256-GCM key"
	labelKeyID  = "gatehouse seal v1 key id"
)

var (
	// ErrWrongKey means the value was sealed under another key: typically
	// nodes started with different --secret-key-file contents, or the key
	// file was replaced.
	ErrWrongKey = errors.New("sealed under a different --secret-key-file key")
	// ErrCorrupt means the value is damaged, truncated, or belongs to another
	// record (its additional data differs).
	ErrCorrupt = errors.New("sealed value is corrupt or belongs to another record")
)

// A Sealer seals and opens values under one key. It is safe for concurrent
// use.
type Sealer struct {
	aead  cipher.AEAD
	keyID [keyIDSize]byte
}

// New returns a Sealer for k.
func New(k Key) *Sealer {
	block, err := aes.NewCipher(derive(k, labelAESKey, 32))
	if err != nil {
		panic(err) // unreachable: the key is 32 bytes
	}
	// Random nonces are safe for 2^32 values under one key, far more TOTP
	// secrets and mails than a deployment will ever seal.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic(err) // unreachable: the block is AES
	}
	s := &Sealer{aead: aead}
	copy(s.keyID[:], derive(k, labelKeyID, keyIDSize))
	return s
}

func derive(k Key, label string, size int) []byte {
	b, err := hkdf.Key(sha256.New, k[:], nil, label, size)
	if err != nil {
		panic(err) // unreachable: size is far below HKDF's limit
	}
	return b
}

// Seal encrypts plaintext bound to aad, which names the record the value
// belongs to, such as "totp:"+userID or "mail:"+messageID. The same aad must
// be given to Open. The result is len(plaintext)+Overhead bytes, different
// every time.
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, headerSize, len(plaintext)+Overhead)
	out[0] = version
	copy(out[1:], s.keyID[:])
	return s.aead.Seal(out, nil, plaintext, additionalData(out, aad))
}

// Open returns the plaintext of a value sealed with the same key and aad.
// It returns ErrWrongKey if another key sealed it and ErrCorrupt for any
// other failure, including a different aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != version {
		return nil, ErrCorrupt
	}
	// The key id is no secret, so an ordinary comparison is fine. A damaged
	// key id also lands here; it is far likelier to be a real key mix-up.
	if !bytes.Equal(sealed[1:headerSize], s.keyID[:]) {
		return nil, ErrWrongKey
	}
	plaintext, err := s.aead.Open(nil, nil, sealed[headerSize:], additionalData(sealed[:headerSize], aad))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plaintext, nil
}

// additionalData authenticates the header along with the caller's aad, so
// that a value cannot be passed off as another format version.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, headerSize+len(aad))
	ad = append(ad, header[:headerSize]...)
	return append(ad, aad...)
}
