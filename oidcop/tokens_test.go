package oidcop_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/oidcop"
)

// Introspection (RFC 7662) for authenticated clients and their own
// tokens, revocation (RFC 7009), RP-initiated logout with id_token_hint,
// a registered post_logout_redirect_uri and state, and a password change
// that ends the app's tokens at once.
func TestRevokeIntrospectEndSession(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		ctx := context.Background()
		logout := "https://app.example.com/bye"
		r := newRig(t, db, auth.NewApplication{FirstParty: true, PostLogoutRedirectURIs: []string{logout}}, true)
		cfg := r.config(oidc.ScopeOfflineAccess, "email")
		browser := r.signedIn(t, r.email)
		signIn := func() *oauth2.Token { return r.signIn(t, browser, cfg) }
		post := func(path string, form url.Values, user, pass string) (int, map[string]any) {
			req, _ := http.NewRequest("POST", r.srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if user != "" {
				req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			return resp.StatusCode, body
		}
		id, secret := cfg.ClientID, cfg.ClientSecret
		tok := signIn()

		status, body := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, id, secret)
		if status != 200 || body["active"] != true || body["sub"] != r.adminID || body["client_id"] != id {
			t.Fatalf("introspect a live token: got %d %v", status, body)
		}
		// A single-page app's introspection across origins gets op's CORS
		// answer, as the token endpoint's (the provider calls op's
		// introspection handler without op's router).
		for _, path := range []string{"/oauth/introspect", "/oauth/token"} {
			req, _ := http.NewRequest("POST", r.srv.URL+path, strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://spa.example.com")
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if h := resp.Header; h.Get("Access-Control-Allow-Origin") != "https://spa.example.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
				h.Get("Access-Control-Expose-Headers") != "Location, Content-Length" || !slices.Contains(h.Values("Vary"), "Origin") {
				t.Errorf("POST %s from another origin: got %d %v, want op's CORS headers", path, resp.StatusCode, h)
			}
		}
		if status, _ := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, id, "wrong secret"); status != 401 && status != 400 {
			t.Errorf("introspect with a wrong secret: got %d, want 401", status)
		}
		if status, _ := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, "", ""); status == 200 {
			t.Errorf("introspect without client authentication: got 200")
		}
		// Discovery tells the truth about how a client authenticates to
		// introspection: each method it names works, and the secret in the
		// form (which op's introspection does not read) is not named.
		var doc struct {
			Methods []string `json:"introspection_endpoint_auth_methods_supported"`
		}
		disc, err := http.Get(r.srv.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(disc.Body).Decode(&doc)
		disc.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range doc.Methods {
			if m != "client_secret_basic" {
				t.Errorf("discovery names %q for introspection, which is not served", m)
			}
		}
		if len(doc.Methods) == 0 {
			t.Error("discovery names no authentication method for introspection")
		}
		if status, body := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {id}, "client_secret": {secret}}, "", ""); status == 200 {
			t.Errorf("introspect with the secret in the form: got 200 %v; if op reads it now, discovery may name client_secret_post", body)
		}
		// Another client learns nothing of this client's tokens.
		other, err := r.srv.Service().OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "Other", FirstParty: true,
			RedirectURIs: []string{r.redirect}}, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if status, body := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, other.Application.ClientID, other.ClientSecret); status != 200 || body["active"] != false {
			t.Errorf("introspect another client's token: got %d %v, want active false", status, body)
		}

		// Revoking an access token ends it alone.
		second := signIn()
		if status, _ := post("/oauth/revoke", url.Values{"token": {second.AccessToken}, "token_type_hint": {"access_token"}}, id, secret); status != 200 {
			t.Fatalf("revoke an access token: got %d", status)
		}
		if status, body := post("/oauth/introspect", url.Values{"token": {second.AccessToken}}, id, secret); status != 200 || body["active"] != false {
			t.Errorf("introspect a revoked access token: got %d %v, want active false", status, body)
		}
		if _, err := refresh(ctx, cfg, second.RefreshToken); err != nil {
			t.Errorf("refresh after revoking only the access token: %v", err)
		}

		// Revoking the refresh token ends its family and its access tokens.
		if status, _ := post("/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, id, secret); status != 200 {
			t.Fatalf("revoke: got %d", status)
		}
		if _, err := refresh(ctx, cfg, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Errorf("refresh after revocation: got %v, want invalid_grant", err)
		}
		if status, body := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}, id, secret); status != 200 || body["active"] != false {
			t.Errorf("introspect after the family's revocation: got %d %v, want active false", status, body)
		}
		if status, _ := post("/oauth/revoke", url.Values{"token": {"unknown"}}, id, secret); status != 200 {
			t.Errorf("revoke an unknown token: got %d, want 200 (RFC 7009)", status)
		}

		// A password change ends the app's tokens at once.
		tok = signIn()
		r.srv.Client(t).Login(r.email, pw) // another session, to change the password from
		changer := r.srv.Client(t)
		changer.Login(r.email, pw)
		resp := changer.Do("POST", "/api/v1/me/password", map[string]string{"current_password": pw,
			"new_password": testenv.OtherPassword, "confirm_password": testenv.OtherPassword})
		if resp.StatusCode != 204 {
			t.Fatalf("change password: got %d %s", resp.StatusCode, resp.Body)
		}
		if _, err := refresh(ctx, cfg, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Errorf("refresh after a password change: got %v, want invalid_grant", err)
		}
		if _, err := r.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo after a password change: the access token still works")
		}

		// End session: the registered post-logout URI with state, and the
		// browser's Gatehouse session ends.
		browser = changer
		tok = signIn()
		raw, _ := tok.Extra("id_token").(string)
		bad := browser.Get("/end_session?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.example.com/"}}.Encode())
		if bad.StatusCode == http.StatusFound && strings.HasPrefix(bad.Header.Get("Location"), "https://evil.example.com") {
			t.Fatal("end session redirected to an unregistered URI")
		}
		end := browser.Get("/end_session?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {logout}, "state": {"s1"}}.Encode())
		if end.StatusCode != http.StatusFound || end.Header.Get("Location") != logout+"?state=s1" {
			t.Fatalf("end session: got %d to %q, want 302 to %s?state=s1", end.StatusCode, end.Header.Get("Location"), logout)
		}
		if me := browser.Get("/api/v1/me"); me.StatusCode != 401 {
			t.Errorf("the Gatehouse session after end session: got %d, want 401", me.StatusCode)
		}
		if _, err := refresh(ctx, cfg, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Errorf("refresh after end session: got %v, want invalid_grant", err)
		}
	})
}

// Every POST to the provider reads at most MaxFormBytes of form: a larger
// one is refused invalid_request before anything runs, where net/http
// would have read up to 10 MB into memory.
func TestOversizedForms(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) { testOversizedForms(t, db) })
}

func testOversizedForms(t *testing.T, db servertest.Option) {
	r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
	cfg := r.config(oidc.ScopeOfflineAccess)
	tok := r.signIn(t, r.signedIn(t, r.email), cfg)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"padding": {strings.Repeat("a", oidcop.MaxFormBytes)}}.Encode()
	for _, path := range []string{oidcop.TokenPath, oidcop.IntrospectionPath, oidcop.RevocationPath,
		oidcop.UserinfoPath, oidcop.AuthorizePath, oidcop.EndSessionPath} {
		req, _ := http.NewRequest("POST", r.srv.URL+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(cfg.ClientID, cfg.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		json.Unmarshal(raw, &body)
		if resp.StatusCode != http.StatusBadRequest || body.Error != "invalid_request" ||
			body.ErrorDescription != "The request is larger than 64 KiB." {
			t.Errorf("POST %s of %d bytes: got %d %s; want 400 invalid_request, larger than 64 KiB", path, len(form), resp.StatusCode, raw)
		}
	}
	// Nothing ran: the refresh token still rotates.
	if _, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("the refresh token after the refused requests: %v", err)
	}
}
