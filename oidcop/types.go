package oidcop

import (
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// authRequest is a stored authorization request as op sees it; sub is
// its user when the code exchange read it.
type authRequest struct {
	r   *gatehouse.OIDCAuthRequest
	sub *gatehouse.OIDCSubject
}

var _ op.AuthRequest = authRequest{}

func (a authRequest) GetID() string                    { return a.r.ID }
func (a authRequest) GetACR() string                   { return "" }
func (a authRequest) GetAMR() []string                 { return a.r.AMR }
func (a authRequest) GetAudience() []string            { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time           { return a.r.AuthTime }
func (a authRequest) GetClientID() string              { return a.r.ClientID }
func (a authRequest) GetNonce() string                 { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string           { return a.r.RedirectURI }
func (a authRequest) GetScopes() []string              { return a.r.Scopes }
func (a authRequest) GetState() string                 { return a.r.State }
func (a authRequest) GetSubject() string               { return a.r.UserID }
func (a authRequest) Done() bool                       { return a.r.Done() }
func (authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseModeQuery }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}

// refreshRequest is a live refresh token as op sees it.
type refreshRequest struct {
	g      *auth.RefreshGrant
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string                 { return r.g.Token.AMR }
func (r *refreshRequest) GetAudience() []string            { return []string{r.g.Token.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.g.Token.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.g.Token.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.g.Token.UserID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// client is an application as op sees it. Redirect URIs are matched
// exactly before op sees a request (provider.validate), so DevMode only
// keeps op from refusing the loopback http URIs auth allowed at
// registration.
type client struct {
	a        *gatehouse.Application
	loginURL func(id string) string
}

var _ op.Client = client{}

func (c client) GetID() string                    { return c.a.ClientID }
func (c client) RedirectURIs() []string           { return c.a.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return c.a.PostLogoutRedirectURIs }
func (c client) ApplicationType() op.ApplicationType {
	if c.a.Public {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}
func (c client) AuthMethod() oidc.AuthMethod {
	if c.a.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (client) ResponseTypes() []oidc.ResponseType { return []oidc.ResponseType{oidc.ResponseTypeCode} }
func (client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c client) LoginURL(id string) string          { return c.loginURL(id) }
func (client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (client) IDTokenLifetime() time.Duration       { return auth.OIDCIDTokenLifetime }
func (client) DevMode() bool                        { return true }
func (client) ClockSkew() time.Duration             { return 0 }
func (client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (client) IsScopeAllowed(scope string) bool     { return slices.Contains(gatehouse.OIDCScopes, scope) }
func (client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// signingKey and publicKey are the provider's keys as op sees them.
type signingKey struct{ k *auth.SigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(k.k.Algorithm)
}
func (k signingKey) Key() any   { return k.k.Private }
func (k signingKey) ID() string { return k.k.ID }

type publicKey struct{ k *auth.SigningKey }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(k.k.Algorithm) }
func (publicKey) Use() string                          { return "sig" }
func (k publicKey) Key() any                           { return k.k.Public }
