package web_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// TestOIDCAppRequiresMFAJourney, with forms alone: a member signed in
// with a password and no second factor opens an app that requires one.
// The provider sends him to log in again for the request, that login
// takes him through the forced 2FA setup (its page naming the app, a
// wrong code keeping the way back), the recovery codes page leads
// back to the request, and the app gets a code whose ID token says mfa.
func TestOIDCAppRequiresMFAJourney(t *testing.T) {
	s := servertest.Start(t)
	ctx := context.Background()
	companyID, _ := s.Company(t, "Acme", "ada@example.com", goodPW)
	s.AddUser(t, companyID, "bob@example.com", goodPW, gatehouse.RoleMember)
	const redirect = "https://crm.example.com/callback"
	app, err := s.Service().OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "CRM", FirstParty: true,
		RedirectURIs: []string{redirect}, RequireMFA: true}, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: app.Application.ClientID, ClientSecret: app.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()

	c := s.Client(t)
	loginForm(t, c, "bob@example.com", goodPW)
	start, _ := url.Parse(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nc")))
	r := c.Get(start.RequestURI())
	continueURL := r.Header.Get("Location")
	if !strings.HasPrefix(continueURL, "/authorize/continue?id=") {
		t.Fatalf("authorize: got %d to %q, want the way back to the request", r.StatusCode, continueURL)
	}
	// His password-only session is not the app's: a login for the request.
	login := "/login?" + url.Values{"next": {continueURL}}.Encode()
	wantRedirect(t, "the request with a password-only session", c.Get(continueURL), login)
	wantPage(t, "login page", c.Get(login), 200, `name="next" value="`+continueURL+`"`, "CRM requires two-factor authentication. Log in")
	setup := "/login/setup-2fa?" + url.Values{"next": {continueURL}}.Encode()
	wantRedirect(t, "bob's password", c.PostForm("/login", map[string]string{"email": "bob@example.com", "password": goodPW,
		"next": continueURL}), setup)
	page := c.Get(setup)
	wantPage(t, "setup page", page, 200, "CRM requires two-factor authentication.", `name="next" value="`+continueURL+`"`)
	m := secretPattern.FindStringSubmatch(string(page.Body))
	if m == nil {
		t.Fatalf("the setup page shows no secret:\n%s", page.Body)
	}
	// A wrong code keeps the way back.
	wantPage(t, "wrong code", c.PostForm("/login/setup-2fa", map[string]string{"code": "000000", "next": continueURL}), 401,
		"CRM requires two-factor authentication.", `name="next" value="`+continueURL+`"`, "data-secret>"+m[1]+"<")
	codes := c.PostForm("/login/setup-2fa", map[string]string{"code": codeAt(t, s, m[1]), "next": continueURL})
	wantPage(t, "recovery codes", codes, 200, "Save your recovery codes", `href="`+continueURL+`"`)

	// On to the app, with a code for an ID token that says how.
	r = c.Get(continueURL)
	back, err := url.Parse(r.Header.Get("Location"))
	if err != nil || back.Scheme+"://"+back.Host+back.Path != redirect || back.Query().Get("state") != "st" {
		t.Fatalf("the request after the setup: got %d to %q, want the app's callback", r.StatusCode, r.Header.Get("Location"))
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != "nc" || !slices.Contains(claims.AMR, gatehouse.MethodMFA) {
		t.Errorf("ID token: nonce %q amr %v, want nc and mfa", idt.Nonce, claims.AMR)
	}
}
