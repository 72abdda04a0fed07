package gatehouse

import (
	"crypto/rand"
	"time"
)

// APIKey lets a program call the API without a person (../shared/API.md,
// "API keys and provisioning"). A company key acts as an administrator of
// its company on every /api/v1/company/... endpoint; an operator key
// (CompanyID empty) creates and lists companies and mints company keys.
// Only the SHA-256 of the key is stored; the key itself is shown once.
type APIKey struct {
	ID        string
	CompanyID string // empty: an operator key
	Name      string
	// Hash is the SHA-256 of the whole key (HashToken).
	Hash      []byte
	CreatedAt time.Time
	// CreatedBy is the actor who made it: a user's or a key's ID; empty
	// for the operator's command line.
	CreatedBy string
	// ExpiresAt is when it stops working; zero for never.
	ExpiresAt time.Time
	// LastUsedAt is when it last opened a request, recorded at most once a
	// minute (auth.APIKeyTouchInterval); zero when never used.
	LastUsedAt time.Time
}

// Operator reports whether k is an operator key.
func (k *APIKey) Operator() bool { return k.CompanyID == "" }

// Expired reports whether k no longer works at now.
func (k *APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// The shape of a key: "gh_", the key's ID (public: it names the key in
// lists and lets secret scanners' reports be traced), "_", and 32 random
// bytes in the same lower-case base32 as IDs:
//
//	gh_01kx3m2c9v8w7q6p5n4r3t2s1a_6f8k...(52 characters)
const (
	APIKeyPrefix    = "gh_"
	apiKeySecretLen = 52 // 32 bytes in base32 without padding
	apiKeyIDLen     = 26 // NewID
	// APIKeyLength is the length of every key.
	APIKeyLength = len(APIKeyPrefix) + apiKeyIDLen + 1 + apiKeySecretLen
)

// NewAPIKey returns a fresh key for the key ID id, and the hash that is
// stored in its place.
func NewAPIKey(id string) (key string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	key = APIKeyPrefix + id + "_" + idEncoding.EncodeToString(b)
	return key, HashToken(key)
}

// ParseAPIKey returns the ID a key names, and false when s does not have
// the shape of a key made by NewAPIKey (so that garbage never reaches the
// database).
func ParseAPIKey(s string) (id string, ok bool) {
	if len(s) != APIKeyLength || s[:len(APIKeyPrefix)] != APIKeyPrefix || s[len(APIKeyPrefix)+apiKeyIDLen] != '_' {
		return "", false
	}
	id = s[len(APIKeyPrefix) : len(APIKeyPrefix)+apiKeyIDLen]
	for _, part := range []string{id, s[len(APIKeyPrefix)+apiKeyIDLen+1:]} {
		for i := 0; i < len(part); i++ {
			if c := part[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
				return "", false
			}
		}
		if _, err := idEncoding.DecodeString(part); err != nil {
			return "", false
		}
	}
	return id, true
}

// IsAPIKey reports whether a bearer credential is meant as an API key
// rather than a session token: it starts with APIKeyPrefix and is not a
// session token (one in 262,144 of those starts with "gh_" by chance).
func IsAPIKey(s string) bool {
	return len(s) >= len(APIKeyPrefix) && s[:len(APIKeyPrefix)] == APIKeyPrefix && !TokenLooksValid(s)
}
