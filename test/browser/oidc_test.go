package browser_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// relyingParty is an app that signs its users in with Gatehouse through
// github.com/coreos/go-oidc and golang.org/x/oauth2, as a Go app would:
// /start sends the browser to Gatehouse, /callback checks state and iss,
// exchanges the code with the PKCE verifier, verifies the ID token and
// shows who signed in and how.
type relyingParty struct {
	*httptest.Server
	cfg      *oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string
	mu       sync.Mutex
	flows    map[string][2]string // state -> PKCE verifier, nonce
}

func startRelyingParty(t *testing.T, issuer string, register func(redirect string) *auth.CreatedApplication) *relyingParty {
	t.Helper()
	rp := &relyingParty{issuer: issuer, flows: map[string][2]string{}}
	mux := http.NewServeMux()
	rp.Server = httptest.NewServer(mux)
	t.Cleanup(rp.Close)
	app := register(rp.URL + "/callback")
	provider, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp.cfg = &oauth2.Config{ClientID: app.Application.ClientID, ClientSecret: app.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: rp.URL + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email", "company"}}
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: app.Application.ClientID})
	page := func(w http.ResponseWriter, heading, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>CRM</title></head><body><main><h1>%s</h1>%s</main></body></html>`,
			html.EscapeString(heading), body)
	}
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		state, nonce, v := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.flows[state] = [2]string{v, nonce}
		rp.mu.Unlock()
		http.Redirect(w, r, rp.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(v), oidc.Nonce(nonce)), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		rp.mu.Lock()
		flow, ok := rp.flows[q.Get("state")]
		rp.mu.Unlock()
		if !ok || q.Get("iss") != rp.issuer {
			page(w, "Refused", `<p id="error">bad state or iss</p>`)
			return
		}
		if e := q.Get("error"); e != "" {
			page(w, "Not signed in", `<p id="error">`+html.EscapeString(e)+`</p>`)
			return
		}
		tok, err := rp.cfg.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(flow[0]))
		if err != nil {
			page(w, "Not signed in", `<p id="error">`+html.EscapeString(err.Error())+`</p>`)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(r.Context(), raw)
		if err != nil || idt.Nonce != flow[1] {
			page(w, "Not signed in", `<p id="error">bad ID token</p>`)
			return
		}
		var c struct {
			Email       string   `json:"email"`
			AMR         []string `json:"amr"`
			CompanyName string   `json:"company_name"`
		}
		idt.Claims(&c)
		page(w, "Signed in", fmt.Sprintf(`<p id="who">%s</p><p id="amr">%s</p><p id="company">%s</p>`,
			html.EscapeString(c.Email), html.EscapeString(strings.Join(c.AMR, " ")), html.EscapeString(c.CompanyName)))
	})
	return rp
}

// wantSignedIn waits for the relying party's callback page and fails the
// test unless the ID token it verified names email, signed in by amr
// (its methods, space-separated).
func wantSignedIn(t *testing.T, p *browsertest.Page, email, amr string) {
	t.Helper()
	p.WaitPath("/callback")
	p.WaitText("Signed in")
	if who, got := p.Text("#who"), p.Text("#amr"); who != email || got != amr {
		t.Errorf("the app got email %q amr %q, want %q and %q", who, got, email, amr)
	}
}

// registered is startRelyingParty's register: it creates na with the
// relying party's redirect URI, the app of the company companyID ("" the
// operator's).
func registered(t *testing.T, s *acme, companyID string, na auth.NewApplication) func(redirect string) *auth.CreatedApplication {
	return func(redirect string) *auth.CreatedApplication {
		na.RedirectURIs = []string{redirect}
		app, err := s.Service().OperatorCreateApplication(context.Background(), companyID, na, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
}

// TestSignInWithGatehouse: an app of the company signs its users in
// through Gatehouse's pages in Chromium: a user with 2FA (the code page,
// then the consent page, remembered the next time), and a user who must
// first replace a temporary password. The app gets an ID token that
// go-oidc verifies, with amr telling how the user signed in.
func TestSignInWithGatehouse(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	ctx := context.Background()
	rp := startRelyingParty(t, s.URL, registered(t, s, s.CompanyID, auth.NewApplication{Name: "CRM"}))
	secret, _ := enableTOTP(t, s.Server, carlEmail, goodPW)

	p := browsertest.NewPage(t, rp.URL)
	p.Open("/start")
	p.WaitPath("/login")
	answerLogin(p, carlEmail, goodPW, "/login/2fa")
	answerCode(p, nextCode(s.Server, secret), "/authorize/consent")
	p.WaitText("Allow CRM to sign you in?")
	p.CheckAccessibility("consent")
	p.Screenshot("oidc-consent")
	p.Submit(`form[action="/authorize/consent"] button[value=allow]`)
	wantSignedIn(t, p, carlEmail, "pwd otp mfa")
	if company := p.Text("#company"); company != "Acme" {
		t.Errorf("the app got company %q, want Acme", company)
	}
	// The consent is remembered: signed in already, the app gets in at once.
	p.Open("/start")
	wantSignedIn(t, p, carlEmail, "pwd otp mfa")

	// Connected apps lists it.
	q := browsertest.NewPage(t, s.URL)
	login(q, carlEmail, goodPW, "/login/2fa")
	answerCode(q, nextCode(s.Server, secret), "/settings/profile")
	q.Open("/settings/connected-apps")
	q.WaitText("CRM")
	q.CheckAccessibility("connected apps")
	q.Screenshot("oidc-connected-apps")
	q.Submit(`form[action$="/revoke"] button`)
	q.WaitText("You have not connected any apps.")

	// A temporary password: changed first, then on to the app.
	temp, _, err := s.Service().OperatorTemporaryPassword(ctx, adaEmail, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	r := browsertest.NewPage(t, rp.URL)
	r.Open("/start")
	r.WaitPath("/login")
	answerLogin(r, adaEmail, temp, "/login/change-password")
	r.Fill("#new_password", thirdPW)
	r.Fill("#confirm_password", thirdPW)
	r.Submit(`form[action="/login/change-password"] button[type=submit]`)
	r.WaitPath("/authorize/consent")
	r.Submit(`form[action="/authorize/consent"] button[value=allow]`)
	wantSignedIn(t, r, adaEmail, "pwd")
}

// TestSignInWithGatehouseStraightToTheApp: a first-party app, a user with
// no second factor: the login form's answer leads through the provider
// straight to the app, a redirect chain the browser holds to the login
// page's form-action (it was blocked there: the page allowed only itself).
func TestSignInWithGatehouseStraightToTheApp(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	rp := startRelyingParty(t, s.URL, registered(t, s, "", auth.NewApplication{Name: "CRM", FirstParty: true}))
	p := browsertest.NewPage(t, rp.URL)
	p.Open("/start")
	p.WaitPath("/login")
	answerLogin(p, adaEmail, goodPW, "/callback")
	wantSignedIn(t, p, adaEmail, "pwd")
}

// TestSignInWithGatehouseSetsUpTheSecondFactor: an app that requires a
// second factor, a member signed in with a password and none set up. The
// app sends him to Gatehouse, which asks him to log in again for it; that
// login takes him through the forced 2FA setup (the QR code read as a
// phone's camera would, the recovery codes) and on to the app, whose ID
// token says mfa.
func TestSignInWithGatehouseSetsUpTheSecondFactor(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	rp := startRelyingParty(t, s.URL, registered(t, s, "", auth.NewApplication{Name: "CRM", FirstParty: true, RequireMFA: true}))
	p := browsertest.NewPage(t, s.URL)
	login(p, carlEmail, goodPW, "/settings/profile")
	p.Base = rp.URL
	p.Open("/start")
	p.WaitPath("/login")
	p.WaitText("CRM requires two-factor authentication.")
	answerLogin(p, carlEmail, goodPW, "/login/setup-2fa")
	p.WaitText("CRM requires two-factor authentication.")
	setUpTOTPAtLogin(t, p, s.Server, "oidc-setup-two-factor")
	p.ClickLink("I saved my codes, continue")
	wantSignedIn(t, p, carlEmail, "pwd otp mfa")
	// Signed in with the factor now, the app gets in at once.
	p.Open("/start")
	wantSignedIn(t, p, carlEmail, "pwd otp mfa")
}
