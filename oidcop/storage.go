package oidcop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// storage is op's view of the store, through the rules of package auth.
type storage struct {
	svc      *auth.Service
	loginURL func(id string) string
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// errNotFound is what op gets for anything unknown: a plain error (op
// answers server_error only for oidc.ErrServerError).
var errNotFound = errors.New("not found")

// storeError passes a domain refusal as a plain error and anything else
// (the database away) as server_error.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	if code := gatehouse.ErrorCode(err); code != gatehouse.EInternal && code != gatehouse.EUnavailable {
		return fmt.Errorf("%w: %s", errNotFound, gatehouse.ErrorMessage(err))
	}
	return oidc.ErrServerError().WithParent(err)
}

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	r := &gatehouse.OIDCAuthRequest{ClientID: req.ClientID, RedirectURI: req.RedirectURI, Scopes: req.Scopes,
		State: req.State, Nonce: req.Nonce, CodeChallenge: req.CodeChallenge, Prompt: req.Prompt, MaxAge: -1,
		LoginHint: req.LoginHint, UILocales: req.UILocales.String()}
	if req.MaxAge != nil {
		r.MaxAge = int(min(*req.MaxAge, 1<<31-1))
	}
	if err := s.svc.CreateAuthRequest(ctx, r); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return authRequest{r: r}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.svc.AuthRequest(ctx, id)
	if err != nil {
		return nil, storeError(err)
	}
	return authRequest{r: r}, nil
}

// AuthRequestByCode uses the code up: op asks for it once per exchange,
// and a code must work once however many exchanges race.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, sub, err := s.svc.ConsumeAuthCode(ctx, code)
	if err != nil {
		return nil, storeError(err)
	}
	return authRequest{r: r, sub: sub}, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.svc.SaveAuthCode(ctx, id, code)
}

// DeleteAuthRequest keeps the request: its used code must still be found,
// so that a replay revokes what the code issued. Housekeeping deletes it
// when it expires.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

func grantOf(req op.TokenRequest) (gatehouse.OIDCGrant, string, error) {
	switch r := req.(type) {
	case authRequest:
		return gatehouse.OIDCGrant{ClientID: r.r.ClientID, UserID: r.r.UserID, CompanyID: r.r.CompanyID, Scopes: r.r.Scopes,
			AuthTime: r.r.AuthTime, AMR: r.r.AMR}, r.r.ID, nil
	case *refreshRequest:
		g := r.g.Token.OIDCGrant
		g.Scopes = r.scopes
		return g, r.g.Token.FamilyID, nil
	}
	return gatehouse.OIDCGrant{}, "", fmt.Errorf("unexpected token request %T", req)
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, family, err := grantOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	at, err := s.svc.IssueAccessToken(ctx, g, family)
	if err != nil {
		return "", time.Time{}, err
	}
	return at.ID, at.ExpiresAt, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, family, err := grantOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if current == "" {
		at, refresh, err := s.svc.IssueTokens(ctx, g, family)
		if err != nil {
			return "", "", time.Time{}, err
		}
		return at.ID, refresh, at.ExpiresAt, nil
	}
	rr, ok := req.(*refreshRequest)
	if !ok || !bytes.Equal(gatehouse.HashToken(current), rr.g.Token.TokenHash) {
		return "", "", time.Time{}, fmt.Errorf("rotation of %T for another token", req)
	}
	at, refresh, err := s.svc.RotateRefreshToken(ctx, rr.g, g.Scopes)
	if gatehouse.ErrorCode(err) == gatehouse.EInvalidToken {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("The refresh token is invalid, expired or revoked.")
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return at.ID, refresh, at.ExpiresAt, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	var rg *auth.RefreshGrant
	var err error
	if t := tokenRead(ctx); t != nil {
		rg, err = s.svc.CheckRequestRefresh(ctx, t, token)
	} else {
		rg, err = s.svc.CheckRefreshToken(ctx, token)
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInvalidToken {
			return nil, oidc.ErrInvalidGrant().WithDescription("The refresh token is invalid, expired or revoked.")
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return &refreshRequest{g: rg, scopes: rg.Token.Scopes}, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return s.svc.EndAppSession(ctx, userID, clientID, auth.Client{})
}

// RevokeToken: a token op recognised arrives as its ID with its user (an
// access token, or a refresh token GetRefreshTokenInfo found); any other
// as itself (RFC 7009). Another client's token, or an unknown one, is
// answered as revoked and changes nothing.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	var err error
	if userID != "" {
		err = s.svc.RevokeTokenByID(ctx, tokenOrID, clientID)
	} else {
		err = s.svc.RevokeRefreshToken(ctx, tokenOrID, clientID)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	rt, err := s.svc.RefreshTokenOwner(ctx, token, clientID)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.UserID, rt.ID, nil
}

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	var k *auth.SigningKey
	var err error
	if t := tokenRead(ctx); t != nil {
		k, err = t.SigningKey()
	} else {
		k, err = s.svc.SigningKey(ctx)
	}
	if err != nil {
		return nil, err
	}
	return signingKey{k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.svc.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	set := make([]op.Key, len(keys))
	for i, k := range keys {
		set[i] = publicKey{k}
	}
	return set, nil
}

// readTokenRequest returns what the token request in ctx read for the
// client (Provider.token), reading it when op first asks: nil outside a
// token request.
func (s *storage) readTokenRequest(ctx context.Context, clientID string) (*auth.TokenRequest, error) {
	t, ok := ctx.Value(tokenRequestKey{}).(*tokenRequest)
	if !ok {
		return nil, nil
	}
	if t.read == nil || t.read.ClientID != clientID {
		read, err := s.svc.ReadTokenRequest(ctx, clientID, t.refreshToken)
		if err != nil {
			return nil, err
		}
		t.read = read
	}
	return t.read, nil
}

// tokenRead returns what the token request in ctx read, if it did.
func tokenRead(ctx context.Context) *auth.TokenRequest {
	if t, ok := ctx.Value(tokenRequestKey{}).(*tokenRequest); ok {
		return t.read
	}
	return nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	t, err := s.readTokenRequest(ctx, clientID)
	var a *gatehouse.Application
	switch {
	case err != nil:
	case t != nil:
		a, err = t.Client()
	default:
		a, err = s.svc.OIDCClient(ctx, clientID)
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, oidc.ErrInvalidClient().WithDescription("Unknown client.")
	}
	if err != nil {
		return nil, storeError(err)
	}
	return client{a: a, loginURL: s.loginURL}, nil
}

// AuthorizeClientIDSecret authenticates a confidential client: in a token
// request, the client its read found (Provider.token); in an
// introspection (Provider.introspect), reading the token asked about too.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	if m, ok := ctx.Value(introspectionKey{}).(*introspection); ok && !m.done {
		at, sub, err := s.svc.CheckClientAccess(ctx, clientID, secret, m.tokenID)
		if err != nil {
			return storeError(err)
		}
		m.at, m.sub, m.done = at, sub, true
		return nil
	}
	if t := tokenRead(ctx); t != nil && t.ClientID == clientID {
		return storeError(t.CheckClientSecret(secret))
	}
	_, err := s.svc.CheckClientSecret(ctx, clientID, secret)
	return storeError(err)
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest
// fills the ID token.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the claims in the ID token itself, from
// the user the grant's check read in this request (the code's or the
// refresh token's), or from the store.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	var sub *gatehouse.OIDCSubject
	switch r := req.(type) {
	case authRequest:
		sub = r.sub
	case *refreshRequest:
		sub = r.g.Subject
	}
	if sub == nil || sub.UserID != req.GetSubject() {
		var err error
		if sub, err = s.svc.OIDCUserInfo(ctx, req.GetSubject()); err != nil {
			return err
		}
	}
	setClaims(info, sub, scopes)
	return nil
}

// SetUserinfoFromToken answers userinfo for a live access token only.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	scopes, sub, err := s.svc.OIDCAccessScopes(ctx, tokenID)
	if err != nil {
		err = storeError(err)
		if u, ok := ctx.Value(userinfoKey{}).(*userinfoCall); ok {
			u.failed = err
		}
		return err
	}
	setClaims(info, sub, scopes)
	return nil
}

// SetIntrospectionFromToken answers for the client's own live tokens; a
// token of another client is inactive to it, so that one company's app
// learns nothing of another's users.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	var at *gatehouse.OIDCAccessToken
	var sub *gatehouse.OIDCSubject
	if m, ok := ctx.Value(introspectionKey{}).(*introspection); ok && m.done && m.tokenID == tokenID {
		at, sub = m.at, m.sub // read with the client's authentication; nil: inactive
	} else if a, u, err := s.svc.OIDCAccess(ctx, tokenID); err == nil {
		at, sub = a, u
	}
	if at == nil || at.ClientID != clientID {
		return errNotFound
	}
	var info oidc.UserInfo
	setClaims(&info, sub, at.Scopes)
	resp.SetUserInfo(&info)
	resp.Active = true
	resp.Scope = at.Scopes
	resp.ClientID = at.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(at.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(at.CreatedAt)
	resp.AuthTime = oidc.FromTime(at.AuthTime)
	resp.Subject = at.UserID
	resp.Audience = []string{at.ClientID}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// setClaims fills the claims the scopes allow (../shared/API.md).
func setClaims(info *oidc.UserInfo, sub *gatehouse.OIDCSubject, scopes []string) {
	info.Subject = sub.UserID
	for _, sc := range scopes {
		switch sc {
		case gatehouse.ScopeProfile:
			info.Name = sub.Name
		case gatehouse.ScopeEmail:
			info.Email = sub.Email
			info.EmailVerified = oidc.Bool(sub.EmailVerified())
			if !sub.EmailVerified() {
				info.AppendClaims("email_verified", false) // present when false too
			}
		case gatehouse.ScopeCompany:
			info.AppendClaims("company_id", sub.CompanyID)
			info.AppendClaims("company_name", sub.CompanyName)
			info.AppendClaims("role", string(sub.Role))
			info.AppendClaims("groups", []string{string(sub.Role)})
		}
	}
}
