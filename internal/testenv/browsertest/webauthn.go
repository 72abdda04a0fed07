package browsertest

import (
	"context"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Authenticator is a virtual authenticator of Chromium's DevTools WebAuthn
// domain, attached to one page: a platform authenticator with resident
// keys and user verification (a fingerprint that always matches, until
// SetUserVerified(false)), on which navigator.credentials works as on a
// laptop with a fingerprint reader. Presence is confirmed at once.
type Authenticator struct {
	p  *Page
	ID webauthn.AuthenticatorID
}

// AddAuthenticator attaches a new virtual authenticator to the page.
func (p *Page) AddAuthenticator() *Authenticator {
	p.T.Helper()
	a := &Authenticator{p: p}
	p.do("add a virtual authenticator", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		a.ID = res.AuthenticatorID
		return err
	}))
	return a
}

// SetUserVerified makes user verification succeed or fail from now on.
func (a *Authenticator) SetUserVerified(ok bool) {
	a.p.T.Helper()
	a.p.do("set user verification", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: a.ID, IsUserVerified: ok})
		return err
	}))
}

// Credentials returns the credentials the authenticator holds.
func (a *Authenticator) Credentials() []*webauthn.Credential {
	a.p.T.Helper()
	var creds []*webauthn.Credential
	a.p.do("list credentials", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: a.ID})
		creds = res.Credentials
		return err
	}))
	return creds
}

// WithoutPasskeyAutofill makes the page's browser one without the
// passkeys' autofill (conditional mediation), as many still are: with a
// virtual authenticator, Chromium answers a conditional request at once
// with the first passkey, which signs in before a test can press a button.
func (p *Page) WithoutPasskeyAutofill() {
	p.T.Helper()
	p.do("switch off conditional mediation", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`})
		return err
	}))
}

// WithoutWebAuthn makes the page's browser one without passkeys at all
// (no PublicKeyCredential), as an old or locked-down browser is.
func (p *Page) WithoutWebAuthn() {
	p.T.Helper()
	p.do("switch off WebAuthn", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `delete window.PublicKeyCredential;`})
		return err
	}))
}
