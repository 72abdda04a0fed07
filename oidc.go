package gatehouse

import "time"

// The OpenID Connect provider's vocabulary (../shared/API.md, "OpenID
// Connect provider"; docs/OIDC.md). Package auth holds its rules, package
// oidcop speaks the protocol, package sqldb keeps the state.

// OIDC scopes Gatehouse knows.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
	ScopeCompany       = "company"
)

// OIDCScopes lists the scopes, in the order the discovery document names them.
var OIDCScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess, ScopeCompany}

// Error codes of the provider's store.
const (
	ESigningKeyExists = "signing_key_exists" // another key signs: retire it first
	ECodeUsed         = "code_used"          // an authorization code was used before
)

// OIDCSigningKey signs ID tokens. PrivateKey is sealed; PublicKey is
// published. One key signs at a time (RetiredAt zero); a retired key stays
// in the JWKS until what it signed has expired.
type OIDCSigningKey struct {
	ID         string // the kid
	Algorithm  string // RS256
	PrivateKey []byte // PKCS #8 DER, sealed
	PublicKey  []byte // PKIX DER
	CreatedAt  time.Time
	RetiredAt  time.Time
}

// OIDCAuthRequest is an authorization request from /authorize until its
// code is exchanged. It is done once a user signed in for it and was
// admitted; then a code (stored as its SHA-256) may be issued once, and
// used once.
type OIDCAuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scopes        []string
	State         string
	Nonce         string
	CodeChallenge string   // S256, the only method accepted
	Prompt        []string // none, login, consent, select_account
	MaxAge        int      // seconds; -1 when not given
	LoginHint     string
	UILocales     string
	CreatedAt     time.Time
	ExpiresAt     time.Time

	// Set when the login completes.
	UserID    string
	CompanyID string
	AuthTime  time.Time // when the user last authenticated
	AMR       []string
	DoneAt    time.Time

	CodeHash   []byte
	CodeUsedAt time.Time
}

// Done reports whether a user signed in for the request and was admitted.
func (r *OIDCAuthRequest) Done() bool { return !r.DoneAt.IsZero() }

// OIDCGrant is what a token stands for: a user's sign-in to an application
// with some scopes.
type OIDCGrant struct {
	ClientID  string
	UserID    string
	CompanyID string
	Scopes    []string
	AuthTime  time.Time
	AMR       []string
}

// OIDCAccessToken is an issued access token. The token a client holds is an
// encrypted reference to its ID, so deleting the row ends it.
type OIDCAccessToken struct {
	ID       string
	FamilyID string // the refresh token family it was issued with, or ""
	OIDCGrant
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OIDCRefreshToken is an issued refresh token, stored as its SHA-256. Every
// use rotates it: RotatedAt and SuccessorID record the rotation, and
// Successor (sealed) lets a racing second use within the grace get the same
// successor. A use after the grace revokes the family.
type OIDCRefreshToken struct {
	ID        string
	TokenHash []byte
	FamilyID  string
	OIDCGrant
	CreatedAt   time.Time
	ExpiresAt   time.Time
	RotatedAt   time.Time
	SuccessorID string
	Successor   []byte
	RevokedAt   time.Time
}

// OIDCSubject is the user a grant stands for, as the grant's checks and
// the claims need them: read with the token in one query, on every
// request that uses a token.
type OIDCSubject struct {
	UserID        string
	CompanyID     string
	CompanyName   string
	Email         string
	Name          string
	Role          Role
	Status        Status
	VerifiedEmail string // the address the user proved, or ""
}

// EmailVerified reports whether the user proved their current address.
func (s *OIDCSubject) EmailVerified() bool {
	return s.VerifiedEmail != "" && s.VerifiedEmail == s.Email
}

// OIDCConsent is a user's consent to a third-party application for some
// scopes.
type OIDCConsent struct {
	UserID    string
	ClientID  string
	CompanyID string
	Scopes    []string
	CreatedAt time.Time
}

// OIDCTx is the part of Tx that keeps the OpenID Connect provider's state.
type OIDCTx interface {
	// CreateSigningKey inserts a key that signs from now on. It returns
	// ESigningKeyExists when another key signs: retire it first.
	CreateSigningKey(k *OIDCSigningKey) error
	// RetireSigningKey makes the signing key stop signing at at; it
	// reports false when no key was signing.
	RetireSigningKey(at time.Time) (bool, error)
	// SigningKey returns the key that signs; ENotFound if none does.
	SigningKey() (*OIDCSigningKey, error)
	// SigningKeys returns the signing key and every key retired after
	// retiredAfter, newest first.
	SigningKeys(retiredAfter time.Time) ([]*OIDCSigningKey, error)

	CreateAuthRequest(r *OIDCAuthRequest) error
	// AuthRequest returns an unexpired request; ENotFound otherwise.
	AuthRequest(id string) (*OIDCAuthRequest, error)
	// CompleteAuthRequest records who signed in for a request that is not
	// done yet; ENotFound otherwise.
	CompleteAuthRequest(r *OIDCAuthRequest) error
	// SetAuthCode records the hash of the request's code, once, and the
	// code's end; ENotFound when the request is not done or has a code.
	SetAuthCode(id string, codeHash []byte, expiresAt time.Time) error
	// ConsumeAuthCode uses up an unexpired code and returns its request;
	// exactly one of many racing calls gets it, the others ENotFound. A
	// code already used answers ECodeUsed with the request, so that the
	// caller can revoke what the code issued.
	ConsumeAuthCode(codeHash []byte) (*OIDCAuthRequest, error)
	DeleteAuthRequest(id string) error

	CreateAccessToken(t *OIDCAccessToken) error
	// AccessToken returns an unexpired access token; ENotFound otherwise.
	AccessToken(id string) (*OIDCAccessToken, error)
	// AccessTokenSubject is AccessToken with the token's user, in one
	// query: the check of introspection.
	AccessTokenSubject(id string) (*OIDCAccessToken, *OIDCSubject, error)
	// AccessTokenScopes is AccessTokenSubject with nothing of the token
	// but its scopes: the check of userinfo.
	AccessTokenScopes(id string) ([]string, *OIDCSubject, error)
	// AccessTokenClient is AccessTokenSubject with what authenticates the
	// application the token was issued to, in one query: of the
	// Application only ClientID, RedirectURIs, Public and SecretHash; of
	// the token only what an introspection answers (not its FamilyID,
	// CompanyID or AMR).
	// ClientCredentials reads that alone, by client ID, with the ID of the
	// key that signs ("" if none): what a token request reads first, in
	// one query; ENotFound if there is no such application.
	AccessTokenClient(id string) (*OIDCAccessToken, *OIDCSubject, *Application, error)
	ClientCredentials(clientID string) (app *Application, signingKeyID string, err error)
	// TokenRequestRead is ClientCredentials and, when refreshHash is not
	// nil, RefreshTokenSubject of the same token in one query: rt and sub
	// are nil when RefreshTokenSubject would answer ENotFound; ENotFound
	// only if there is no such application.
	TokenRequestRead(clientID string, refreshHash []byte) (app *Application, signingKeyID string, rt *OIDCRefreshToken, sub *OIDCSubject, err error)
	// DeleteAccessToken reports false when there was none.
	DeleteAccessToken(id string) (bool, error)

	CreateRefreshToken(t *OIDCRefreshToken) error
	// RefreshTokenByHash returns the token whatever its state (expired,
	// rotated, revoked): the caller decides.
	RefreshTokenByHash(hash []byte) (*OIDCRefreshToken, error)
	// RefreshTokenSubject is RefreshTokenByHash with the token's user, in
	// one query, without the token's successor (SuccessorID, Successor:
	// RefreshToken reads them); ENotFound when either is gone.
	RefreshTokenSubject(hash []byte) (*OIDCRefreshToken, *OIDCSubject, error)
	RefreshToken(id string) (*OIDCRefreshToken, error)
	// RotateRefreshToken marks a current (unrotated, unrevoked) token
	// rotated to successorID; it reports false when it was not current
	// (another request rotated it first).
	RotateRefreshToken(id, successorID string, sealedSuccessor []byte) (bool, error)
	// RevokeRefreshFamily revokes every token of a family and deletes the
	// access tokens issued with them; it returns how many refresh tokens
	// were live.
	RevokeRefreshFamily(familyID string) (int, error)
	// RevokeOIDCTokens ends the user's access and refresh tokens for the
	// client, or for every client when clientID is ""; it returns how many
	// refresh token families were live.
	RevokeOIDCTokens(userID, clientID string) (int, error)

	// Consent returns the user's consent to the client; ENotFound if none.
	Consent(userID, clientID string) (*OIDCConsent, error)
	// SaveConsent inserts or replaces a consent.
	SaveConsent(c *OIDCConsent) error
	// DeleteConsent reports false when there was none.
	DeleteConsent(userID, clientID string) (bool, error)
	// Consents lists the user's consents, oldest first.
	Consents(userID string) ([]*OIDCConsent, error)

	// SetVerifiedEmail records that the user proved they receive mail at
	// email.
	SetVerifiedEmail(userID, email string) error
	// OIDCSubject returns the user with their company and verified
	// address, in one query; ENotFound when there is no such user.
	OIDCSubject(userID string) (*OIDCSubject, error)

	// DeleteExpiredOIDC removes expired requests and access tokens,
	// refresh tokens expired or revoked before before, and keys retired
	// before keysBefore.
	DeleteExpiredOIDC(before, keysBefore time.Time) (int, error)
}
