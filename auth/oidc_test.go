package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The provider's rules below the protocol, on both databases: package
// oidcop's tests show the same through a relying party over HTTP.

// oidcApp registers an OpenID Connect client: the operator's first-party
// app when companyID is "", else a company's (third-party) app.
func (e *env) oidcApp(t testing.TB, companyID string) *gatehouse.Application {
	t.Helper()
	a, err := e.svc.OperatorCreateApplication(ctx, companyID, auth.NewApplication{Name: "CRM", FirstParty: companyID == "",
		RedirectURIs: []string{"https://crm.example.com/callback"}}, e.client())
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	return a.Application
}

// authRequest stores an authorization request of the app for scopes, as
// op validated it.
func (e *env) authRequest(t testing.TB, app *gatehouse.Application, prompt []string, scopes ...string) *gatehouse.OIDCAuthRequest {
	t.Helper()
	sum := sha256.Sum256([]byte("verifier"))
	r := &gatehouse.OIDCAuthRequest{ClientID: app.ClientID, RedirectURI: app.RedirectURIs[0], Prompt: prompt, MaxAge: -1,
		Scopes: append([]string{gatehouse.ScopeOpenID}, scopes...), CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:])}
	if err := e.svc.CreateAuthRequest(ctx, r); err != nil {
		t.Fatalf("create auth request: %v", err)
	}
	return r
}

// tokens signs id in to the app through an authorization request and its
// code, and returns the first access token and refresh token.
func (e *env) tokens(t testing.TB, app *gatehouse.Application, id *auth.Identity) (*gatehouse.OIDCAccessToken, string) {
	t.Helper()
	r := e.authRequest(t, app, nil, gatehouse.ScopeOfflineAccess, gatehouse.ScopeEmail)
	step, done, err := e.svc.ContinueAuthorization(ctx, r.ID, id)
	if err != nil || step != auth.AuthorizeDone {
		t.Fatalf("continue authorization: got step %d, %v; want done", step, err)
	}
	code, _ := gatehouse.NewToken()
	if err := e.svc.SaveAuthCode(ctx, done.ID, code); err != nil {
		t.Fatal(err)
	}
	used, sub, err := e.svc.ConsumeAuthCode(ctx, code)
	if err != nil || used.ID != r.ID || sub.UserID != id.User.ID || sub.Email != id.User.Email {
		t.Fatalf("consume code: got %+v, %+v, %v", used, sub, err)
	}
	at, refresh, err := e.svc.IssueTokens(ctx, gatehouse.OIDCGrant{ClientID: app.ClientID, UserID: used.UserID,
		CompanyID: used.CompanyID, Scopes: used.Scopes, AuthTime: used.AuthTime, AMR: used.AMR}, used.ID)
	if err != nil {
		t.Fatalf("issue tokens: %v", err)
	}
	return at, refresh
}

// refresh checks and rotates a refresh token as the token endpoint does.
func (e *env) refresh(token string) (*gatehouse.OIDCAccessToken, string, error) {
	rg, err := e.svc.CheckRefreshToken(ctx, token)
	if err != nil {
		return nil, "", err
	}
	return e.svc.RotateRefreshToken(ctx, rg, nil)
}

// Rotation: every use of a refresh token issues a successor; a use of the
// rotated token within the grace gets the same successor (racers too);
// after the grace it is reuse, which ends the whole family, audited.
func TestRefreshRotationGraceAndReuse(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		app := e.oidcApp(t, "")
		first, refresh := e.tokens(t, app, admin)
		if at, sub, err := e.svc.OIDCAccess(ctx, first.ID); err != nil || at.ClientID != app.ClientID || sub.UserID != admin.User.ID {
			t.Fatalf("the first access token: got %+v, %+v, %v", at, sub, err)
		}

		at, next, err := e.refresh(refresh)
		if err != nil || next == "" || next == refresh || at.ID == first.ID {
			t.Fatalf("refresh: got %q, %v; want a new refresh token and access token", next, err)
		}
		// Within the grace: the same successor, a fresh access token.
		again, same, err := e.refresh(refresh)
		if err != nil || same != next || again.ID == at.ID {
			t.Fatalf("the rotated token within the grace: got %q, %v; want the same successor %q", same, err, next)
		}
		// Racers on the successor all get its one successor.
		got := make([]string, 8)
		errs := concurrently(len(got), func(i int) (err error) {
			_, got[i], err = e.refresh(next)
			return err
		})
		for i := range got {
			if errs[i] != nil || got[i] == "" || got[i] != got[0] {
				t.Fatalf("racer %d: got %q, %v; want %q like racer 0", i, got[i], errs[i], got[0])
			}
		}
		latest := got[0]

		e.clock.Advance(auth.OIDCRefreshGrace + time.Second)
		_, _, err = e.refresh(refresh)
		wantCode(t, "the rotated token after the grace", err, gatehouse.EInvalidToken)
		_, _, err = e.refresh(latest)
		wantCode(t, "the family's live token after reuse", err, gatehouse.EInvalidToken)
		_, _, err = e.svc.OIDCAccess(ctx, at.ID)
		wantCode(t, "the family's access token after reuse", err, gatehouse.ENotFound)
		if events := e.events(t, admin.User.CompanyID); !slices.Contains(events, gatehouse.EventOIDCRefreshReused) {
			t.Errorf("audit: got %v, want %s", events, gatehouse.EventOIDCRefreshReused)
		}
	})
}

// accessEnding is something that ends a user's access to an app.
type accessEnding struct {
	name string
	end  func(id *auth.Identity) error
}

// accessEndings are what ends a member's tokens for app: signing out of
// the app, being disabled by admin, changing the password.
func (e *env) accessEndings(admin *auth.Identity, app *gatehouse.Application) []accessEnding {
	return []accessEnding{
		{"logout of the app", func(id *auth.Identity) error {
			return e.svc.EndAppSession(ctx, id.User.ID, app.ClientID, e.client())
		}},
		{"user disabled", func(id *auth.Identity) error {
			disabled := true
			_, err := e.svc.UpdateUser(ctx, admin, id.User.ID, auth.UserUpdate{Disabled: &disabled}, e.client())
			return err
		}},
		{"password changed", func(id *auth.Identity) error {
			_, err := e.svc.ChangePassword(ctx, id, goodPW, otherPW, otherPW, false, e.client())
			return err
		}},
	}
}

// What ends a user's access between a refresh's check and its rotation
// leaves the token unrotated: the rotation reads nothing again but is
// refused by the token's row.
func TestRefreshRotationAfterTheCheck(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		app := e.oidcApp(t, "")
		for _, c := range append(e.accessEndings(admin, app), accessEnding{"another use first", func(*auth.Identity) error { return nil }}) {
			t.Run(c.name, func(t *testing.T) {
				member := e.member(t, admin)
				_, refresh := e.tokens(t, app, member)
				rg, err := e.svc.CheckRefreshToken(ctx, refresh)
				if err != nil || rg.Subject.UserID != member.User.ID || rg.Subject.Status != gatehouse.StatusActive {
					t.Fatalf("check: got %+v, %v", rg, err)
				}
				if err := c.end(member); err != nil {
					t.Fatal(err)
				}
				if c.name == "another use first" {
					_, won, err := e.refresh(refresh)
					if err != nil {
						t.Fatal(err)
					}
					// The checked request loses the race and gets the winner's successor.
					if _, got, err := e.svc.RotateRefreshToken(ctx, rg, nil); err != nil || got != won {
						t.Fatalf("the second use: got %q, %v; want the winner's %q", got, err, won)
					}
					return
				}
				_, _, err = e.svc.RotateRefreshToken(ctx, rg, nil)
				wantCode(t, "rotation after "+c.name, err, gatehouse.EInvalidToken)
				_, err = e.svc.CheckRefreshToken(ctx, refresh)
				wantCode(t, "the token after "+c.name, err, gatehouse.EInvalidToken)
			})
		}
	})
}

// An access token answers userinfo (OIDCAccessScopes) and introspection
// (OIDCAccess) alike: its scopes and its user while it lives, and no
// token (ENotFound) from the moment the user is disabled, changes the
// password, or signs out of the app.
func TestAccessTokenEnds(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		app := e.oidcApp(t, "")
		for _, c := range e.accessEndings(admin, app) {
			t.Run(c.name, func(t *testing.T) {
				member := e.member(t, admin)
				at, _ := e.tokens(t, app, member)
				scopes, sub, err := e.svc.OIDCAccessScopes(ctx, at.ID)
				if err != nil || sub.UserID != member.User.ID || !slices.Equal(scopes, at.Scopes) {
					t.Fatalf("userinfo's read of a live token: got %v, %+v, %v; want %v of %s", scopes, sub, err, at.Scopes, member.User.ID)
				}
				if got, sub, err := e.svc.OIDCAccess(ctx, at.ID); err != nil || got.ID != at.ID || sub.UserID != member.User.ID {
					t.Fatalf("introspection's read of a live token: got %+v, %+v, %v", got, sub, err)
				}
				if err := c.end(member); err != nil {
					t.Fatal(err)
				}
				_, _, err = e.svc.OIDCAccessScopes(ctx, at.ID)
				wantCode(t, "userinfo after "+c.name, err, gatehouse.ENotFound)
				_, _, err = e.svc.OIDCAccess(ctx, at.ID)
				wantCode(t, "introspection after "+c.name, err, gatehouse.ENotFound)
			})
		}
	})
}

// Consent: a company's app asks the user once for its scopes, again for
// more, never under prompt=none (consent_required); revoking the consent
// ends the app's tokens, audited.
func TestConsent(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		member := e.member(t, admin)
		app := e.oidcApp(t, admin.User.CompanyID)

		r := e.authRequest(t, app, []string{"none"}, gatehouse.ScopeEmail)
		if step, _, err := e.svc.ContinueAuthorization(ctx, r.ID, member); err != nil || step != auth.AuthorizeConsentRequired {
			t.Fatalf("prompt=none without consent: got step %d, %v; want consent required", step, err)
		}
		r = e.authRequest(t, app, nil, gatehouse.ScopeOfflineAccess, gatehouse.ScopeEmail)
		if step, _, err := e.svc.ContinueAuthorization(ctx, r.ID, member); err != nil || step != auth.AuthorizeConsent {
			t.Fatalf("without consent: got step %d, %v; want the consent page", step, err)
		}
		if err := e.svc.GrantConsent(ctx, member, r.ID, e.client()); err != nil {
			t.Fatal(err)
		}
		if step, _, err := e.svc.ContinueAuthorization(ctx, r.ID, member); err != nil || step != auth.AuthorizeDone {
			t.Fatalf("after consent: got step %d, %v; want done", step, err)
		}
		if step, _, err := e.svc.ContinueAuthorization(ctx, e.authRequest(t, app, []string{"none"}, gatehouse.ScopeEmail).ID, member); err != nil || step != auth.AuthorizeDone {
			t.Fatalf("prompt=none with consent: got step %d, %v; want done", step, err)
		}
		if step, _, err := e.svc.ContinueAuthorization(ctx, e.authRequest(t, app, nil, gatehouse.ScopeCompany).ID, member); err != nil || step != auth.AuthorizeConsent {
			t.Fatalf("more scopes: got step %d, %v; want the consent page", step, err)
		}
		if step, _, err := e.svc.ContinueAuthorization(ctx, e.authRequest(t, app, []string{"consent"}, gatehouse.ScopeEmail).ID, member); err != nil || step != auth.AuthorizeConsent {
			t.Fatalf("prompt=consent: got step %d, %v; want the consent page", step, err)
		}
		list, err := e.svc.ConnectedApps(ctx, member)
		if err != nil || len(list) != 1 || list[0].App.ClientID != app.ClientID || !slices.Contains(list[0].Consent.Scopes, gatehouse.ScopeEmail) {
			t.Fatalf("connected apps: got %+v, %v", list, err)
		}

		at, refresh := e.tokens(t, app, member)
		if err := e.svc.RevokeConnectedApp(ctx, member, app.ClientID, e.client()); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.OIDCAccess(ctx, at.ID)
		wantCode(t, "access token after the consent's revocation", err, gatehouse.ENotFound)
		_, err = e.svc.CheckRefreshToken(ctx, refresh)
		wantCode(t, "refresh token after the consent's revocation", err, gatehouse.EInvalidToken)
		err = e.svc.RevokeConnectedApp(ctx, member, app.ClientID, e.client())
		wantCode(t, "revoking twice", err, gatehouse.ENotFound)
		if step, _, err := e.svc.ContinueAuthorization(ctx, e.authRequest(t, app, nil, gatehouse.ScopeEmail).ID, member); err != nil || step != auth.AuthorizeConsent {
			t.Fatalf("after revoking: got step %d, %v; want the consent page again", step, err)
		}
		events := e.events(t, admin.User.CompanyID)
		for _, want := range []string{gatehouse.EventOIDCConsentGranted, gatehouse.EventOIDCConsentRevoked} {
			if !slices.Contains(events, want) {
				t.Errorf("audit: got %v, want %s", events, want)
			}
		}
	})
}

// An OIDC app that requires a second factor, on both databases: a session
// whose login passed none is sent to log in again (prompt=none: the error
// login_required), whether or not the user has a factor; that login, for
// the app (ForMFAApp), sets one up first where there is none, and its
// session completes the request with amr holding mfa.
func TestAuthorizeMFAApp(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		app, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "CRM", FirstParty: true,
			RedirectURIs: []string{"https://crm.example.com/callback"}, RequireMFA: true}, e.client())
		if err != nil {
			t.Fatal(err)
		}
		request := func(prompt ...string) string { return e.authRequest(t, app.Application, prompt).ID }
		wantStep := func(what, requestID string, id *auth.Identity, want auth.AuthorizeStep) *gatehouse.OIDCAuthRequest {
			t.Helper()
			step, done, err := e.svc.ContinueAuthorization(ctx, requestID, id)
			if err != nil || step != want {
				t.Fatalf("%s: got step %d, %v; want %d", what, step, err, want)
			}
			return done
		}

		// A member without a second factor, signed in with the password.
		member := e.member(t, admin)
		wantStep("no second factor", request(), member, auth.AuthorizeLogin)
		wantStep("no second factor, prompt=none", request("none"), member, auth.AuthorizeLoginRequired)

		// The login for the app asks for the setup before any session.
		requestID := request()
		done := e.loginForMFAApp(t, member.User.Email)
		r := wantStep("after the setup", requestID, e.authenticate(t, done.SessionToken), auth.AuthorizeDone)
		if !slices.Equal(r.AMR, []string{gatehouse.MethodPassword, gatehouse.MethodOTP, gatehouse.MethodMFA}) || r.UserID != member.User.ID {
			t.Errorf("the request completed for %s with amr %v, want %s with pwd otp mfa", r.UserID, r.AMR, member.User.ID)
		}

		// The admin enrolls a factor after signing in: their session still
		// passed none, and a login (which asks for the code) is needed.
		e.nextStep()
		secret, _ := e.enableTOTP(t, admin)
		wantStep("factor enrolled after the login", request(), admin, auth.AuthorizeLogin)
		e.nextStep()
		res := e.loginStep(t, admin.User.Email, goodPW, auth.StatusTOTPRequired)
		done, err = e.svc.LoginTOTP(ctx, res.Challenge, e.code(secret, 0), "", e.client())
		if err != nil || done.Status != auth.StatusAuthenticated {
			t.Fatalf("code: got %+v, %v", done, err)
		}
		wantStep("after the code", request(), e.authenticate(t, done.SessionToken), auth.AuthorizeDone)
	})
}

// Introspection's client authentication and token check: the client's own
// live token is read with the right secret only; another client's token
// and a token of a disabled user are inactive; a wrong secret or an
// unknown client is refused whatever the token.
func TestCheckClientAccess(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		member := e.member(t, admin)
		mine, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "CRM", FirstParty: true,
			RedirectURIs: []string{"https://crm.example.com/callback"}}, e.client())
		if err != nil {
			t.Fatal(err)
		}
		other, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "Wiki", FirstParty: true,
			RedirectURIs: []string{"https://wiki.example.com/callback"}}, e.client())
		if err != nil {
			t.Fatal(err)
		}
		at, _ := e.tokens(t, mine.Application, member)
		theirs, _ := e.tokens(t, other.Application, member)

		got, sub, err := e.svc.CheckClientAccess(ctx, mine.Application.ClientID, mine.ClientSecret, at.ID)
		if err != nil || got == nil || got.ID != at.ID || sub.UserID != member.User.ID {
			t.Fatalf("own live token: got %+v, %+v, %v", got, sub, err)
		}
		for what, id := range map[string]string{"another client's token": theirs.ID, "an unknown token": "nope"} {
			if got, sub, err := e.svc.CheckClientAccess(ctx, mine.Application.ClientID, mine.ClientSecret, id); err != nil || got != nil || sub != nil {
				t.Errorf("%s: got %+v, %+v, %v; want inactive", what, got, sub, err)
			}
		}
		for what, c := range map[string][2]string{
			"wrong secret, own token":     {mine.Application.ClientID, other.ClientSecret},
			"no secret, own token":        {mine.Application.ClientID, ""},
			"unknown client":              {"nobody", mine.ClientSecret},
			"the token's client's secret": {other.Application.ClientID, mine.ClientSecret},
		} {
			_, _, err := e.svc.CheckClientAccess(ctx, c[0], c[1], at.ID)
			wantCode(t, what, err, gatehouse.EInvalidCredentials)
		}
		disabled := true
		if _, err := e.svc.UpdateUser(ctx, admin, member.User.ID, auth.UserUpdate{Disabled: &disabled}, e.client()); err != nil {
			t.Fatal(err)
		}
		if got, sub, err := e.svc.CheckClientAccess(ctx, mine.Application.ClientID, mine.ClientSecret, at.ID); err != nil || got != nil || sub != nil {
			t.Errorf("token of a disabled user: got %+v, %+v, %v; want inactive", got, sub, err)
		}
	})
}

// A token request's one read (ReadTokenRequest) answers as the separate
// checks do: the client and its secret, the refresh token presented (its
// reuse after the grace revokes the family, audited), any other token by
// reading it, and the key that signs now.
func TestReadTokenRequest(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		mine, err := e.svc.OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "CRM", FirstParty: true,
			RedirectURIs: []string{"https://crm.example.com/callback"}}, e.client())
		if err != nil {
			t.Fatal(err)
		}
		app, secret := mine.Application, mine.ClientSecret
		if read, err := e.svc.ReadTokenRequest(ctx, app.ClientID, ""); err != nil {
			t.Fatalf("a read with no signing key: %v", err)
		} else if k, err := read.SigningKey(); err == nil {
			t.Fatalf("the signing key before the first start: got %+v, want an error", k)
		}
		if _, err := e.svc.EnsureSigningKey(ctx); err != nil {
			t.Fatal(err)
		}
		_, refresh := e.tokens(t, app, admin)
		_, other := e.tokens(t, app, admin)

		read, err := e.svc.ReadTokenRequest(ctx, app.ClientID, refresh)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := read.Client(); err != nil || a.ClientID != app.ClientID {
			t.Fatalf("the client: got %+v, %v", a, err)
		}
		if err := read.CheckClientSecret(secret); err != nil {
			t.Fatalf("the right secret: %v", err)
		}
		for _, wrong := range []string{"", "nope", secret + "x"} {
			wantCode(t, "a wrong secret", read.CheckClientSecret(wrong), gatehouse.EInvalidCredentials)
		}
		key, err := e.svc.SigningKey(ctx)
		if got, err2 := read.SigningKey(); err != nil || err2 != nil || got.ID != key.ID || got.Private == nil {
			t.Fatalf("the signing key: got %+v, %v; want %s", got, err2, key.ID)
		}
		rg, err := e.svc.CheckRequestRefresh(ctx, read, refresh)
		if err != nil || rg.Subject.UserID != admin.User.ID || rg.Token.ClientID != app.ClientID {
			t.Fatalf("the refresh token read: got %+v, %v", rg, err)
		}
		if _, _, err := e.svc.RotateRefreshToken(ctx, rg, nil); err != nil {
			t.Fatal(err)
		}
		// Another token than the one read is read itself.
		if rg, err := e.svc.CheckRequestRefresh(ctx, read, other); err != nil || rg.Token.TokenHash == nil ||
			!slices.Equal(rg.Token.TokenHash, gatehouse.HashToken(other)) {
			t.Fatalf("another token: got %+v, %v", rg, err)
		}
		// Of a code exchange (no refresh token read), too.
		codeRead, err := e.svc.ReadTokenRequest(ctx, app.ClientID, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := codeRead.SigningKey(); err != nil || got.ID != key.ID || got.Private == nil {
			t.Fatalf("the signing key, opened before: got %+v, %v; want %s", got, err, key.ID)
		}
		if _, err := e.svc.CheckRequestRefresh(ctx, codeRead, other); err != nil {
			t.Fatalf("a token after a read without one: %v", err)
		}

		unknown, err := e.svc.ReadTokenRequest(ctx, "nobody", refresh)
		if err != nil {
			t.Fatal(err)
		}
		_, err = unknown.Client()
		wantCode(t, "an unknown client", err, gatehouse.ENotFound)
		wantCode(t, "an unknown client's secret", unknown.CheckClientSecret(secret), gatehouse.EInvalidCredentials)

		// The rotated token after the grace: reuse, the family revoked.
		e.clock.Advance(auth.OIDCRefreshGrace + time.Second)
		reused, err := e.svc.ReadTokenRequest(ctx, app.ClientID, refresh)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CheckRequestRefresh(ctx, reused, refresh)
		wantCode(t, "the rotated token after the grace", err, gatehouse.EInvalidToken)
		_, err = e.svc.CheckRefreshToken(ctx, other)
		if err != nil {
			t.Fatalf("another family after reuse: %v", err)
		}
		if events := e.events(t, admin.User.CompanyID); !slices.Contains(events, gatehouse.EventOIDCRefreshReused) {
			t.Errorf("audit: got %v, want %s", events, gatehouse.EventOIDCRefreshReused)
		}
		garbage, err := e.svc.ReadTokenRequest(ctx, app.ClientID, "not a token")
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CheckRequestRefresh(ctx, garbage, "not a token")
		wantCode(t, "a malformed refresh token", err, gatehouse.EInvalidToken)

		// A well-formed token no row has, read with a known client (the
		// one query finds the client alone) and with an unknown one (the
		// token read by itself): refused either way.
		nope, _ := gatehouse.NewToken()
		for _, clientID := range []string{app.ClientID, "nobody"} {
			read, err := e.svc.ReadTokenRequest(ctx, clientID, nope)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.CheckRequestRefresh(ctx, read, nope)
			wantCode(t, "an unknown refresh token with client "+clientID, err, gatehouse.EInvalidToken)
		}
		// The token of a user disabled since (disabling revokes it):
		// refused from the one query, as CheckRefreshToken refuses it.
		member := e.member(t, admin)
		_, memberRefresh := e.tokens(t, app, member)
		disabled := true
		if _, err := e.svc.UpdateUser(ctx, admin, member.User.ID, auth.UserUpdate{Disabled: &disabled}, e.client()); err != nil {
			t.Fatal(err)
		}
		read, err = e.svc.ReadTokenRequest(ctx, app.ClientID, memberRefresh)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CheckRequestRefresh(ctx, read, memberRefresh)
		wantCode(t, "a disabled user's refresh token", err, gatehouse.EInvalidToken)
		_, err = e.svc.CheckRefreshToken(ctx, memberRefresh)
		wantCode(t, "a disabled user's refresh token, read alone", err, gatehouse.EInvalidToken)

		// A user disabled in the store without the revocation (a row
		// changed by hand, a path that forgot it): the token is live, and
		// the user's own state refuses it, from the one query and alone.
		other2 := e.member(t, admin)
		_, liveRefresh := e.tokens(t, app, other2)
		if err := e.store.Update(ctx, func(tx gatehouse.Tx) error {
			return tx.SetUserDisabled(other2.User.ID, e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		read, err = e.svc.ReadTokenRequest(ctx, app.ClientID, liveRefresh)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CheckRequestRefresh(ctx, read, liveRefresh)
		wantCode(t, "a live token of a user disabled in the store", err, gatehouse.EInvalidToken)
		_, err = e.svc.CheckRefreshToken(ctx, liveRefresh)
		wantCode(t, "a live token of a user disabled in the store, read alone", err, gatehouse.EInvalidToken)
	})
}
