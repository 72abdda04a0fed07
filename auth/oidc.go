package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The OpenID Connect provider's rules (docs/OIDC.md): which client may
// ask, who is admitted, when a login or a consent is needed, codes used
// once, refresh tokens rotated with a grace, tokens that end when the
// user's access ends. Package oidcop speaks the protocol over them.

// errInvalidGrant is a code, refresh token or access token that is
// unknown, used, expired or revoked: one answer for all.
func errInvalidGrant() error {
	return gatehouse.Errorf(gatehouse.EInvalidToken, "The grant is invalid, expired or revoked.")
}

// OIDCClient returns the application with the client ID if it is an
// OpenID Connect client (it registered redirect URIs); ENotFound otherwise.
// Its forward-auth hosts are not read.
func (s *Service) OIDCClient(ctx context.Context, clientID string) (*gatehouse.Application, error) {
	var a *gatehouse.Application
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		a, err = tx.OIDCClient(clientID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(a.RedirectURIs) == 0 {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "Application not found.")
	}
	return a, nil
}

// unknownSecretHash stands in for the hash of an unknown client, so that
// a wrong client ID costs the same comparison as a wrong secret.
var unknownSecretHash = sha256.Sum256([]byte("unknown client"))

// CheckClientSecret authenticates a confidential client: the secret's
// SHA-256 is compared in constant time with the stored one. Unknown
// clients, public clients and wrong secrets get the same EInvalidCredentials.
func (s *Service) CheckClientSecret(ctx context.Context, clientID, secret string) (*gatehouse.Application, error) {
	a, err := s.OIDCClient(ctx, clientID)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		return nil, err
	}
	if err := checkSecret(a, secret); err != nil {
		return nil, err
	}
	return a, nil
}

// checkSecret answers EInvalidCredentials unless secret is the secret of
// a confidential OpenID Connect client a (nil: unknown), in constant time.
func checkSecret(a *gatehouse.Application, secret string) error {
	if !secretMatches(a, secret) {
		return gatehouse.Errorf(gatehouse.EInvalidCredentials, "Unknown client or wrong secret.")
	}
	return nil
}

// secretMatches reports whether secret is the secret of a confidential
// OpenID Connect client a (nil: unknown), in constant time.
func secretMatches(a *gatehouse.Application, secret string) bool {
	stored := unknownSecretHash[:]
	if a != nil && len(a.SecretHash) == sha256.Size {
		stored = a.SecretHash
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], stored) == 1 && a != nil && !a.Public && len(a.RedirectURIs) > 0 && secret != ""
}

// CheckClientAccess authenticates a confidential client and reads the
// access token it asks about (introspection) with its user: one query
// when the token is the client's own and live, which reads the client with
// it. Otherwise the client is read alone, also after a wrong secret for
// its own live token, so that a caller without the secret cannot tell the
// two apart by the time. A token that is not the client's, not live, or
// of a user who can no longer sign in answers (nil, nil, nil): inactive.
// EInvalidCredentials as CheckClientSecret.
func (s *Service) CheckClientAccess(ctx context.Context, clientID, secret, tokenID string) (*gatehouse.OIDCAccessToken, *gatehouse.OIDCSubject, error) {
	var at *gatehouse.OIDCAccessToken
	var sub *gatehouse.OIDCSubject
	var app *gatehouse.Application
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		at, sub, app, err = tx.AccessTokenClient(tokenID)
		return err
	})
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		return nil, nil, err
	}
	if app != nil && app.ClientID == clientID && secretMatches(app, secret) {
		if sub.Status != gatehouse.StatusActive {
			return nil, nil, nil
		}
		return at, sub, nil
	}
	if _, err := s.CheckClientSecret(ctx, clientID, secret); err != nil {
		return nil, nil, err
	}
	return nil, nil, nil
}

// CreateAuthRequest stores an authorization request the protocol layer
// has validated (client, exact redirect URI, S256 challenge).
func (s *Service) CreateAuthRequest(ctx context.Context, r *gatehouse.OIDCAuthRequest) error {
	return s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
		r.ID = gatehouse.NewID(tx.Now())
		r.CreatedAt = tx.Now()
		r.ExpiresAt = tx.Now().Add(OIDCRequestLifetime)
		return tx.CreateAuthRequest(r)
	})
}

// AuthRequest returns an unexpired authorization request; ENotFound
// otherwise.
func (s *Service) AuthRequest(ctx context.Context, id string) (*gatehouse.OIDCAuthRequest, error) {
	var r *gatehouse.OIDCAuthRequest
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		r, err = tx.AuthRequest(id)
		return err
	})
	return r, err
}

// AuthorizeStep is what an authorization request needs next.
type AuthorizeStep int

const (
	AuthorizeLogin           AuthorizeStep = iota // send the browser through the login pages
	AuthorizeLoginRequired                        // prompt=none and a login is needed: error login_required
	AuthorizeConsent                              // show the consent page
	AuthorizeConsentRequired                      // prompt=none and consent is needed: error consent_required
	AuthorizeDenied                               // the app does not admit the user: error access_denied
	AuthorizeDone                                 // the request is done: issue the code
)

// SessionAMR tells how the session's login went (RFC 8176 values): the
// methods the session recorded (a passkey: hwk and mfa). A session older
// than that record is judged by what the store kept: a user whose
// authenticator was confirmed before the session began passed a code at
// its login.
func SessionAMR(sess *gatehouse.Session, u *gatehouse.User) []string {
	if len(sess.Methods) > 0 {
		return sess.Methods
	}
	if u.TOTPEnabled() && !u.TOTPEnabledAt.After(sess.CreatedAt) {
		return []string{gatehouse.MethodPassword, gatehouse.MethodOTP, gatehouse.MethodMFA}
	}
	return []string{gatehouse.MethodPassword}
}

// ContinueAuthorization decides what the request needs next for the
// browser's session (id nil when it has none), and completes the request
// when nothing is missing. ENotFound when the request or its app is gone.
func (s *Service) ContinueAuthorization(ctx context.Context, requestID string, id *Identity) (AuthorizeStep, *gatehouse.OIDCAuthRequest, error) {
	var step AuthorizeStep
	var r *gatehouse.OIDCAuthRequest
	err := s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) (err error) {
		if r, err = tx.AuthRequest(requestID); err != nil {
			return err
		}
		if r.Done() {
			return gatehouse.Errorf(gatehouse.ENotFound, "Authorization request not found.")
		}
		app, err := tx.ApplicationByClientID(r.ClientID)
		if err != nil {
			return err
		}
		step, err = s.authorizeStep(tx, r, app, id)
		if err != nil || step != AuthorizeDone {
			return err
		}
		r.UserID, r.CompanyID = id.User.ID, id.User.CompanyID
		r.AuthTime, r.AMR, r.DoneAt = id.Session.CreatedAt, SessionAMR(id.Session, id.User), tx.Now()
		return tx.CompleteAuthRequest(r)
	})
	return step, r, err
}

func (s *Service) authorizeStep(tx gatehouse.Tx, r *gatehouse.OIDCAuthRequest, app *gatehouse.Application, id *Identity) (AuthorizeStep, error) {
	none := slices.Contains(r.Prompt, "none")
	login := AuthorizeLogin
	if none {
		login = AuthorizeLoginRequired
	}
	if id == nil {
		return login, nil
	}
	// A login that began after the request satisfies prompt=login and any
	// max_age; an older one only if it is recent enough.
	fresh := !id.Session.CreatedAt.Before(r.CreatedAt)
	if !fresh && slices.Contains(r.Prompt, "login") {
		return login, nil
	}
	if !fresh && r.MaxAge >= 0 && tx.Now().Sub(id.Session.CreatedAt) > time.Duration(r.MaxAge)*time.Second {
		return login, nil
	}
	switch Admission(app, id) {
	case NotAdmittedCompany, NotAdmittedRole:
		return AuthorizeDenied, nil
	case NotAdmittedMFA:
		// A login for this app asks for the code, or first sets a second
		// factor up (the login's ForMFAApp), as forward auth's does.
		return login, nil
	}
	if app.FirstParty && app.Operator() {
		return AuthorizeDone, nil
	}
	consent, err := tx.Consent(id.User.ID, app.ClientID)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		return 0, err
	}
	if consent == nil || !covers(consent.Scopes, r.Scopes) || slices.Contains(r.Prompt, "consent") {
		if none {
			return AuthorizeConsentRequired, nil
		}
		return AuthorizeConsent, nil
	}
	return AuthorizeDone, nil
}

// covers reports whether granted holds every scope of wanted.
func covers(granted, wanted []string) bool {
	for _, w := range wanted {
		if !slices.Contains(granted, w) {
			return false
		}
	}
	return true
}

// GrantConsent records the signed-in user's consent to the request's app
// for its scopes (and any granted before), audited.
func (s *Service) GrantConsent(ctx context.Context, id *Identity, requestID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		r, err := tx.AuthRequest(requestID)
		if err != nil {
			return err
		}
		scopes := slices.Clone(r.Scopes)
		if old, err := tx.Consent(id.User.ID, r.ClientID); err == nil {
			for _, sc := range old.Scopes {
				if !slices.Contains(scopes, sc) {
					scopes = append(scopes, sc)
				}
			}
		}
		if err := tx.SaveConsent(&gatehouse.OIDCConsent{UserID: id.User.ID, ClientID: r.ClientID, CompanyID: id.User.CompanyID,
			Scopes: scopes, CreatedAt: tx.Now()}); err != nil {
			return err
		}
		e := event(gatehouse.EventOIDCConsentGranted, id.User.CompanyID, id.User.ID, id.User.ID, c)
		e.Detail = "client_id=" + r.ClientID + " scopes=" + strings.Join(scopes, ",")
		return s.audit(tx, e)
	})
}

// SaveAuthCode records the code of a done request, once.
func (s *Service) SaveAuthCode(ctx context.Context, requestID, code string) error {
	return s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
		return tx.SetAuthCode(requestID, gatehouse.HashToken(code), tx.Now().Add(OIDCCodeLifetime))
	})
}

// ConsumeAuthCode uses up a code and returns its request with the user
// it was issued to. A code used before revokes what it issued (RFC 6749,
// 4.1.2), audited; it and any other bad code answer EInvalidToken.
func (s *Service) ConsumeAuthCode(ctx context.Context, code string) (*gatehouse.OIDCAuthRequest, *gatehouse.OIDCSubject, error) {
	var r *gatehouse.OIDCAuthRequest
	var sub *gatehouse.OIDCSubject
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) (err error) {
		r, err = tx.ConsumeAuthCode(gatehouse.HashToken(code))
		switch gatehouse.ErrorCode(err) {
		case "":
			sub, err = grantSubject(tx, r.UserID)
			return err
		case gatehouse.ECodeUsed:
			o.err = errInvalidGrant()
			if _, err := tx.RevokeRefreshFamily(r.ID); err != nil {
				return err
			}
			e := event(gatehouse.EventOIDCCodeReused, r.CompanyID, "", r.UserID, Client{})
			e.Detail = "client_id=" + r.ClientID
			return s.audit(tx, e)
		case gatehouse.ENotFound:
			return errInvalidGrant()
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return r, sub, nil
}

// grantSubject returns the user of a grant, refusing one who can no
// longer sign in.
func grantSubject(tx gatehouse.Tx, userID string) (*gatehouse.OIDCSubject, error) {
	sub, err := tx.OIDCSubject(userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errInvalidGrant()
	}
	if err != nil {
		return nil, err
	}
	if err := checkGrantUser(sub); err != nil {
		return nil, err
	}
	return sub, nil
}

// checkGrantUser refuses a grant whose user can no longer sign in.
func checkGrantUser(sub *gatehouse.OIDCSubject) error {
	if sub.Status != gatehouse.StatusActive {
		return errInvalidGrant()
	}
	return nil
}

// IssueAccessToken issues an access token for the grant, in the family
// of the code or refresh token it came from.
func (s *Service) IssueAccessToken(ctx context.Context, g gatehouse.OIDCGrant, familyID string) (*gatehouse.OIDCAccessToken, error) {
	var at *gatehouse.OIDCAccessToken
	err := s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) (err error) {
		at, err = issueAccess(tx, g, familyID)
		return err
	})
	return at, err
}

func issueAccess(tx gatehouse.Tx, g gatehouse.OIDCGrant, familyID string) (*gatehouse.OIDCAccessToken, error) {
	at := &gatehouse.OIDCAccessToken{ID: gatehouse.NewID(tx.Now()), FamilyID: familyID, OIDCGrant: g,
		CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(OIDCAccessLifetime)}
	return at, tx.CreateAccessToken(at)
}

// IssueTokens starts a refresh token family (named after the code's
// request) with an access token and a refresh token.
func (s *Service) IssueTokens(ctx context.Context, g gatehouse.OIDCGrant, familyID string) (*gatehouse.OIDCAccessToken, string, error) {
	var at *gatehouse.OIDCAccessToken
	var refresh string
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) (err error) {
		if at, err = issueAccess(tx, g, familyID); err != nil {
			return err
		}
		var hash []byte
		refresh, hash = gatehouse.NewToken()
		return tx.CreateRefreshToken(&gatehouse.OIDCRefreshToken{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, FamilyID: familyID,
			OIDCGrant: g, CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(OIDCRefreshLifetime)})
	})
	return at, refresh, err
}

func refreshAAD(id string) []byte { return []byte("oidc-refresh:" + id) }

// RefreshGrant is a live refresh token a client presented, with its
// user, as CheckRefreshToken read them: what the request is checked
// against, and what RotateRefreshToken rotates.
type RefreshGrant struct {
	Token   *gatehouse.OIDCRefreshToken
	Subject *gatehouse.OIDCSubject
}

// CheckRefreshToken returns the live refresh token a client presents,
// with its user, for checking the request before rotation. A rotated
// token past the grace is reuse: its family is revoked (audited) and the
// answer is EInvalidToken, as for any unknown, expired or revoked token,
// or a user who can no longer sign in.
func (s *Service) CheckRefreshToken(ctx context.Context, token string) (*RefreshGrant, error) {
	var g RefreshGrant
	var refusal error
	if err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		refusal, err = readRefresh(tx, token, &g)
		return err
	}); err != nil {
		return nil, err
	}
	return s.admitRefresh(ctx, &g, refusal)
}

// readRefresh reads the refresh token with its user into g and returns
// why it is refused (nil: live; errReuse: rotated past the grace), or
// the store's error.
func readRefresh(tx gatehouse.Tx, token string, g *RefreshGrant) (refusal, err error) {
	if !gatehouse.TokenLooksValid(token) {
		return errInvalidGrant(), nil
	}
	g.Token, g.Subject, err = tx.RefreshTokenSubject(gatehouse.HashToken(token))
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return errInvalidGrant(), nil
	}
	if err != nil {
		return nil, err
	}
	return judgeRefresh(tx, g), nil
}

// judgeRefresh says why the refresh token g read (with its user) is
// refused: nil when it is live, errReuse when rotated past the grace.
// g.Token nil: no such token.
func judgeRefresh(tx gatehouse.Tx, g *RefreshGrant) error {
	if g.Token == nil {
		return errInvalidGrant()
	}
	if err := liveRefresh(tx, g.Token); err != nil {
		return err
	}
	return checkGrantUser(g.Subject)
}

// admitRefresh answers what readRefresh found: the grant, or its
// refusal, after revoking the family of a reused token.
func (s *Service) admitRefresh(ctx context.Context, g *RefreshGrant, refusal error) (*RefreshGrant, error) {
	if errors.Is(refusal, errReuse) {
		return nil, s.revokeReused(ctx, g.Token)
	}
	if refusal != nil {
		return nil, refusal
	}
	return g, nil
}

// TokenRequest is what a token request needs of the store, read at once
// when it arrives (ReadTokenRequest): what authenticates its client, the
// refresh token it presents with its user, and the signing key. The
// protocol layer asks for each in turn (the client, the client again to
// authenticate it, the refresh token, the key); each is answered from
// this read, which lives for the request only. Nothing is decided by the
// read: the secret is checked, and a refresh token refused or its reuse
// punished, when asked, as CheckClientSecret and CheckRefreshToken do.
type TokenRequest struct {
	ClientID     string
	client       *gatehouse.Application // nil: no such OpenID Connect client
	key          *SigningKey            // nil: none signs
	refreshToken string                 // "" for other grants
	refresh      RefreshGrant
	refusal      error // judgeRefresh's answer
}

// ReadTokenRequest reads what authenticates the client, the refresh token
// (refreshToken may be "": another grant) with its user, and which key
// signs: one point lookup (the client with the key's ID and the refresh
// token with its user, TokenRequestRead), the key's row only when this
// node has not opened that key yet. For an unknown client, the refresh
// token is read alone, as before the two were one query.
func (s *Service) ReadTokenRequest(ctx context.Context, clientID, refreshToken string) (*TokenRequest, error) {
	t := &TokenRequest{ClientID: clientID, refreshToken: refreshToken}
	var keyRow *gatehouse.OIDCSigningKey
	err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		var hash []byte
		if refreshToken != "" && gatehouse.TokenLooksValid(refreshToken) {
			hash = gatehouse.HashToken(refreshToken)
		}
		a, keyID, rt, sub, err := tx.TokenRequestRead(clientID, hash)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			return err
		}
		read := err == nil && hash != nil // the token was looked up with the client
		if read {
			t.refresh = RefreshGrant{Token: rt, Subject: sub}
			t.refusal = judgeRefresh(tx, &t.refresh)
		}
		if err == nil && len(a.RedirectURIs) > 0 {
			t.client = a
		}
		// An unknown client reads no key: op refuses it before signing.
		if keyID != "" {
			if t.key = s.openedSigningKey(keyID); t.key == nil {
				if keyRow, err = tx.SigningKey(); err != nil && gatehouse.ErrorCode(err) != gatehouse.ENotFound {
					return err
				}
			}
		}
		if refreshToken == "" || read {
			return nil
		}
		t.refusal, err = readRefresh(tx, refreshToken, &t.refresh)
		return err
	})
	if err != nil {
		return nil, err
	}
	if keyRow != nil {
		if t.key, err = s.openSigningKey(keyRow); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Client is OIDCClient's answer for the request's client, with only what
// authenticates it: ClientID, RedirectURIs, Public and SecretHash.
func (t *TokenRequest) Client() (*gatehouse.Application, error) {
	if t.client == nil {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "Application not found.")
	}
	return t.client, nil
}

// CheckClientSecret is Service.CheckClientSecret for the request's client.
func (t *TokenRequest) CheckClientSecret(secret string) error {
	return checkSecret(t.client, secret)
}

// CheckRequestRefresh is CheckRefreshToken answered from the request's
// read when token is the one it read.
func (s *Service) CheckRequestRefresh(ctx context.Context, t *TokenRequest, token string) (*RefreshGrant, error) {
	if t.refreshToken == "" || token != t.refreshToken {
		return s.CheckRefreshToken(ctx, token)
	}
	return s.admitRefresh(ctx, &t.refresh, t.refusal)
}

// SigningKey is Service.SigningKey as the request read it.
func (t *TokenRequest) SigningKey() (*SigningKey, error) {
	if t.key == nil {
		return nil, errNoSigningKey
	}
	return t.key, nil
}

// errReuse marks a rotated refresh token used after the grace.
var errReuse = errors.New("refresh token reused")

// liveRefresh refuses a revoked or expired token, and a rotated one
// after the grace (errReuse).
func liveRefresh(tx gatehouse.Tx, rt *gatehouse.OIDCRefreshToken) error {
	switch {
	case !rt.RevokedAt.IsZero(), !tx.Now().Before(rt.ExpiresAt):
		return errInvalidGrant()
	case !rt.RotatedAt.IsZero() && tx.Now().Sub(rt.RotatedAt) > OIDCRefreshGrace:
		return errReuse
	}
	return nil
}

// revokeReused revokes the family of a reused token, audited, and answers
// EInvalidToken.
func (s *Service) revokeReused(ctx context.Context, rt *gatehouse.OIDCRefreshToken) error {
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		n, err := tx.RevokeRefreshFamily(rt.FamilyID)
		if err != nil || n == 0 {
			return err // revoked already: audited then
		}
		e := event(gatehouse.EventOIDCRefreshReused, rt.CompanyID, "", rt.UserID, Client{})
		e.Detail = "client_id=" + rt.ClientID + " family=" + rt.FamilyID
		return s.audit(tx, e)
	})
	if err != nil {
		return err
	}
	return errInvalidGrant()
}

// RotateRefreshToken uses a refresh token CheckRefreshToken admitted:
// it issues a successor and an access token (for scopes, at most the
// token's). Of racing uses, the first rotates, and the others within
// OIDCRefreshGrace get the same successor (with an access token of their
// own): two tabs or two nodes refreshing at once keep one family. A use
// after the grace revokes the family.
//
// The rotation is one conditional UPDATE of the token's row and two
// INSERTs: the token and its user were read by the check, in this
// request, and whatever ends them since (a revocation, reuse elsewhere,
// a password change, disabling the user: each revokes the user's tokens
// in its own transaction) leaves the row rotated or revoked, so that the
// UPDATE changes nothing and the token is read again here.
func (s *Service) RotateRefreshToken(ctx context.Context, rg *RefreshGrant, scopes []string) (*gatehouse.OIDCAccessToken, string, error) {
	rt := rg.Token
	g := rt.OIDCGrant
	if len(scopes) > 0 && covers(rt.Scopes, scopes) {
		g.Scopes = scopes
	}
	var at *gatehouse.OIDCAccessToken
	var successor string
	var reused *gatehouse.OIDCRefreshToken
	err := s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
		if rt.RotatedAt.IsZero() && rt.RevokedAt.IsZero() && tx.Now().Before(rt.ExpiresAt) {
			next, hash := gatehouse.NewToken()
			succ := &gatehouse.OIDCRefreshToken{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, FamilyID: rt.FamilyID,
				OIDCGrant: rt.OIDCGrant, CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(OIDCRefreshLifetime)}
			won, err := tx.RotateRefreshToken(rt.ID, succ.ID, s.sealer.Seal([]byte(next), refreshAAD(rt.ID)))
			if err != nil {
				return err
			}
			if won {
				if err := tx.CreateRefreshToken(succ); err != nil {
					return err
				}
				successor = next
				at, err = issueAccess(tx, g, rt.FamilyID)
				return err
			}
		}
		// Rotated before (within the grace, as the check found) or
		// meanwhile, or ended since the check: read what happened.
		cur, err := tx.RefreshToken(rt.ID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return errInvalidGrant()
		}
		if err != nil {
			return err
		}
		if err := liveRefresh(tx, cur); err != nil {
			if errors.Is(err, errReuse) {
				reused = cur
			}
			return err
		}
		// Within the grace: the same successor, unless it was revoked.
		plain, err := s.sealer.Open(cur.Successor, refreshAAD(cur.ID))
		if err != nil {
			return errInvalidGrant()
		}
		succ, err := tx.RefreshToken(cur.SuccessorID)
		if err != nil || !succ.RevokedAt.IsZero() {
			return errInvalidGrant()
		}
		successor = string(plain)
		at, err = issueAccess(tx, g, rt.FamilyID)
		return err
	})
	if reused != nil {
		return nil, "", s.revokeReused(ctx, reused)
	}
	return at, successor, err
}

// OIDCAccess returns a live access token with its user: the check of
// introspection, one query. A token of a user who can no longer sign in
// is no token: ENotFound.
func (s *Service) OIDCAccess(ctx context.Context, tokenID string) (*gatehouse.OIDCAccessToken, *gatehouse.OIDCSubject, error) {
	var at *gatehouse.OIDCAccessToken
	var sub *gatehouse.OIDCSubject
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		at, sub, err = tx.AccessTokenSubject(tokenID)
		return err
	})
	if err = tokenOfActiveUser(sub, err); err != nil {
		return nil, nil, err
	}
	return at, sub, nil
}

// OIDCAccessScopes is OIDCAccess with nothing of the token but its
// scopes, which is all userinfo reads of it (Tx.AccessTokenScopes).
func (s *Service) OIDCAccessScopes(ctx context.Context, tokenID string) ([]string, *gatehouse.OIDCSubject, error) {
	var scopes []string
	var sub *gatehouse.OIDCSubject
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		scopes, sub, err = tx.AccessTokenScopes(tokenID)
		return err
	})
	if err = tokenOfActiveUser(sub, err); err != nil {
		return nil, nil, err
	}
	return scopes, sub, nil
}

// tokenOfActiveUser passes on the error of a token's read, and refuses a
// token of a user who can no longer sign in as no token (ENotFound).
func tokenOfActiveUser(sub *gatehouse.OIDCSubject, err error) error {
	if err == nil && sub.Status != gatehouse.StatusActive {
		return gatehouse.Errorf(gatehouse.ENotFound, "Access token not found.")
	}
	return err
}

// OIDCUserInfo returns the user behind a grant.
func (s *Service) OIDCUserInfo(ctx context.Context, userID string) (*gatehouse.OIDCSubject, error) {
	var sub *gatehouse.OIDCSubject
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		sub, err = tx.OIDCSubject(userID)
		return err
	})
	return sub, err
}

// RevokeTokenByID ends a token the client holds (RFC 7009), named by its
// ID: an access token, or a refresh token and its family (audited). A
// token of another client, or none, changes nothing.
func (s *Service) RevokeTokenByID(ctx context.Context, tokenID, clientID string) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if at, err := tx.AccessToken(tokenID); err == nil {
			if at.ClientID != clientID {
				return nil
			}
			_, err = tx.DeleteAccessToken(tokenID)
			return err
		}
		rt, err := tx.RefreshToken(tokenID)
		if err != nil || rt.ClientID != clientID {
			return nil
		}
		return s.revokeFamily(tx, rt, "revoked")
	})
}

// RevokeRefreshToken ends the family of a refresh token the client holds
// (RFC 7009), audited; a token of another client, or none, changes nothing.
func (s *Service) RevokeRefreshToken(ctx context.Context, token, clientID string) error {
	if !gatehouse.TokenLooksValid(token) {
		return nil
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		rt, err := tx.RefreshTokenByHash(gatehouse.HashToken(token))
		if err != nil || rt.ClientID != clientID {
			return nil
		}
		return s.revokeFamily(tx, rt, "revoked")
	})
}

func (s *Service) revokeFamily(tx gatehouse.Tx, rt *gatehouse.OIDCRefreshToken, why string) error {
	n, err := tx.RevokeRefreshFamily(rt.FamilyID)
	if err != nil || n == 0 {
		return err
	}
	e := event(gatehouse.EventOIDCFamilyRevoked, rt.CompanyID, rt.UserID, rt.UserID, Client{})
	e.Detail = "client_id=" + rt.ClientID + " why=" + why
	return s.audit(tx, e)
}

// RefreshTokenOwner returns the user and ID of a refresh token of the
// client; ENotFound otherwise.
func (s *Service) RefreshTokenOwner(ctx context.Context, token, clientID string) (*gatehouse.OIDCRefreshToken, error) {
	if !gatehouse.TokenLooksValid(token) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "Refresh token not found.")
	}
	var rt *gatehouse.OIDCRefreshToken
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		rt, err = tx.RefreshTokenByHash(gatehouse.HashToken(token))
		if err == nil && rt.ClientID != clientID {
			err = gatehouse.Errorf(gatehouse.ENotFound, "Refresh token not found.")
		}
		return err
	})
	return rt, err
}

// EndAppSession ends the user's tokens for the client (RP-initiated
// logout), audited when there were any.
func (s *Service) EndAppSession(ctx context.Context, userID, clientID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		u, err := tx.User(userID)
		if err != nil {
			return nil
		}
		n, err := tx.RevokeOIDCTokens(userID, clientID)
		if err != nil || n == 0 {
			return err
		}
		e := event(gatehouse.EventOIDCFamilyRevoked, u.CompanyID, u.ID, u.ID, c)
		e.Detail = "client_id=" + clientID + " why=logout"
		return s.audit(tx, e)
	})
}

// ConnectedApp is a third-party app the user consented to.
type ConnectedApp struct {
	App     *gatehouse.Application
	Consent *gatehouse.OIDCConsent
}

// ConnectedApps lists the apps the user consented to, oldest first.
func (s *Service) ConnectedApps(ctx context.Context, id *Identity) ([]ConnectedApp, error) {
	var list []ConnectedApp
	err := s.store.View(ctx, func(tx gatehouse.Tx) error {
		consents, err := tx.Consents(id.User.ID)
		if err != nil {
			return err
		}
		for _, c := range consents {
			a, err := tx.ApplicationByClientID(c.ClientID)
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
				continue // the app was deleted
			}
			if err != nil {
				return err
			}
			list = append(list, ConnectedApp{App: a, Consent: c})
		}
		return nil
	})
	return list, err
}

// RevokeConnectedApp takes back the user's consent to the app and ends
// its tokens at once, audited; ENotFound when there was no consent.
func (s *Service) RevokeConnectedApp(ctx context.Context, id *Identity, clientID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		ok, err := tx.DeleteConsent(id.User.ID, clientID)
		if err != nil {
			return err
		}
		if !ok {
			return gatehouse.Errorf(gatehouse.ENotFound, "Connected app not found.")
		}
		if _, err := tx.RevokeOIDCTokens(id.User.ID, clientID); err != nil {
			return err
		}
		e := event(gatehouse.EventOIDCConsentRevoked, id.User.CompanyID, id.User.ID, id.User.ID, c)
		e.Detail = "client_id=" + clientID
		return s.audit(tx, e)
	})
}
