package oidcop_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// The tests of the provider speak to a real `gatehouse serve` (servertest)
// on each database, with a real relying party: github.com/coreos/go-oidc
// and golang.org/x/oauth2, as an app in Go would connect. The browser is
// an HTTP client with a cookie jar that follows Gatehouse's redirects by
// hand; the browser journeys through the pages are in package web.

const pw = testenv.GoodPassword

// rig is a server, a company with an admin, and a relying party.
type rig struct {
	srv       *servertest.Server
	companyID string
	adminID   string
	email     string
	app       *auth.CreatedApplication
	rp        *oidc.Provider
	redirect  string
}

func newRig(t *testing.T, db servertest.Option, na auth.NewApplication, operator bool) *rig {
	t.Helper()
	srv := servertest.Start(t, db)
	r := &rig{srv: srv, email: "ann@acme.test", redirect: "https://app.example.com/callback"}
	r.companyID, r.adminID = srv.Company(t, "Acme", r.email, pw)
	if na.Name == "" {
		na.Name = "CRM"
	}
	if na.RedirectURIs == nil {
		na.RedirectURIs = []string{r.redirect}
	}
	company := r.companyID
	if operator {
		company = ""
	}
	app, err := srv.Service().OperatorCreateApplication(context.Background(), company, na, auth.Client{})
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	r.app = app
	rp, err := oidc.NewProvider(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("discovery by the relying party: %v", err)
	}
	r.rp = rp
	return r
}

func (r *rig) config(scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: r.app.Application.ClientID, ClientSecret: r.app.ClientSecret,
		Endpoint: r.rp.Endpoint(), RedirectURL: r.redirect, Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
}

// flow is one authorization request of the relying party.
type flow struct {
	state, nonce, verifier string
	url                    string
}

func (r *rig) start(cfg *oauth2.Config, extra ...oauth2.AuthCodeOption) *flow {
	f := &flow{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}, extra...)
	f.url = cfg.AuthCodeURL(f.state, opts...)
	return f
}

func random() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// follow walks a browser through Gatehouse's redirects until one leaves
// for the app (returned), or a page answers (returned with its status).
func follow(t *testing.T, c *servertest.Client, srv *servertest.Server, start string) (*url.URL, *servertest.Response) {
	t.Helper()
	next := start
	for range 10 {
		req, _ := http.NewRequest("GET", next, nil)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", next, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return nil, &servertest.Response{Response: resp}
		}
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("redirect without Location from %s", next)
		}
		if !strings.HasPrefix(loc.String(), srv.URL) {
			return loc, nil
		}
		next = loc.String()
	}
	t.Fatalf("too many redirects from %s", start)
	return nil, nil
}

// signedIn is a browser signed in as email.
func (r *rig) signedIn(t *testing.T, email string) *servertest.Client {
	c := r.srv.Client(t)
	c.Login(email, pw)
	return c
}

// authorize runs the flow in the browser and returns where it lands at
// the app, checking state and iss.
func (r *rig) authorize(t *testing.T, c *servertest.Client, f *flow) url.Values {
	t.Helper()
	loc, page := follow(t, c, r.srv, f.url)
	if loc == nil {
		t.Fatalf("authorize: stopped at a page with status %d, want a redirect to the app", page.StatusCode)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != r.redirect {
		t.Fatalf("authorize: redirected to %s, want %s", loc, r.redirect)
	}
	q := loc.Query()
	if q.Get("state") != f.state {
		t.Errorf("state: got %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("iss") != r.srv.URL {
		t.Errorf("iss in the authorization response (RFC 9207): got %q, want %q", q.Get("iss"), r.srv.URL)
	}
	return q
}

// signIn runs a flow of cfg in the browser and exchanges its code.
func (r *rig) signIn(t *testing.T, c *servertest.Client, cfg *oauth2.Config) *oauth2.Token {
	t.Helper()
	f := r.start(cfg)
	q := r.authorize(t, c, f)
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// wantAudited fails the test unless the company's audit log holds each
// event type of want.
func (r *rig) wantAudited(t *testing.T, want ...string) {
	t.Helper()
	var types []string
	err := r.srv.App.DB.View(context.Background(), func(tx gatehouse.Tx) error {
		events, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: r.companyID, Limit: 100})
		for _, e := range events {
			types = append(types, e.Type)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !slices.Contains(types, w) {
			t.Errorf("audit: no %s in %v", w, types)
		}
	}
}

// The whole code flow with the relying party: discovery, authorize with
// PKCE and nonce, the code exchanged with client_secret_basic, the ID
// token verified with the JWKS and its claims, userinfo with the access
// token, the code replayed, refresh rotation with the grace and reuse.
func TestCodeFlow(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		ctx := context.Background()
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config(oidc.ScopeOfflineAccess, "profile", "email", "company")
		browser := r.signedIn(t, r.email)
		f := r.start(cfg)
		q := r.authorize(t, browser, f)
		code := q.Get("code")
		if code == "" {
			t.Fatalf("no code: %v", q)
		}
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.rp.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		var claims struct {
			Sub           string   `json:"sub"`
			Email         string   `json:"email"`
			EmailVerified *bool    `json:"email_verified"`
			Name          string   `json:"name"`
			AuthTime      int64    `json:"auth_time"`
			AMR           []string `json:"amr"`
			Nonce         string   `json:"nonce"`
			CompanyID     string   `json:"company_id"`
			CompanyName   string   `json:"company_name"`
			Role          string   `json:"role"`
			Groups        []string `json:"groups"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if claims.Sub != r.adminID || claims.Email != r.email || claims.EmailVerified == nil || *claims.EmailVerified /* no mailed link used yet */ ||
			claims.Name != "ann" || claims.AuthTime == 0 || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.Nonce != f.nonce ||
			claims.CompanyID != r.companyID || claims.CompanyName != "Acme" || claims.Role != "admin" ||
			!slices.Equal(claims.Groups, []string{"admin"}) {
			t.Errorf("ID token claims: got %+v", claims)
		}
		info, err := r.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if info.Subject != r.adminID || info.Email != r.email {
			t.Errorf("userinfo: got sub %q email %q", info.Subject, info.Email)
		}

		// The code works once; its replay ends what it issued.
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier)); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("code replayed: got %v, want invalid_grant", err)
		}
		if _, err := r.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo after the code's replay: the access token still works")
		}
		if _, err := refresh(ctx, cfg, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Errorf("refresh after the code's replay: got %v, want invalid_grant", err)
		}

		// A new sign-in: refresh rotates; a racing second use within the
		// grace gets the same successor; a use after it ends the family.
		f = r.start(cfg)
		q = r.authorize(t, browser, f)
		tok, err = cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		first, err := refresh(ctx, cfg, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if first.RefreshToken == "" || first.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh did not rotate: got %q", first.RefreshToken)
		}
		if raw, _ := first.Extra("id_token").(string); raw == "" {
			t.Error("refresh answered no ID token")
		} else if _, err := r.rp.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, raw); err != nil {
			t.Errorf("refreshed ID token: %v", err)
		}
		second, err := refresh(ctx, cfg, tok.RefreshToken)
		if err != nil || second.RefreshToken != first.RefreshToken {
			t.Fatalf("second use within the grace: got %q, %v; want the same successor %q", second.RefreshToken, err, first.RefreshToken)
		}
		r.srv.Clock.Advance(auth.OIDCRefreshGrace + time.Second)
		if _, err := refresh(ctx, cfg, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("use after the grace: got %v, want invalid_grant", err)
		}
		if _, err := refresh(ctx, cfg, first.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("the successor after reuse: got %v, want invalid_grant (the family is revoked)", err)
		}
		r.wantAudited(t, gatehouse.EventOIDCCodeReused, gatehouse.EventOIDCRefreshReused)
	})
}

func refresh(ctx context.Context, cfg *oauth2.Config, token string) (*oauth2.Token, error) {
	return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: token, Expiry: time.Now().Add(-time.Hour)}).Token()
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

// Racing refreshes of one token (two tabs, two nodes): every racer gets
// the same successor, one family, nobody signed out; 64 distinct tokens
// refreshed at once each rotate once, none lost or doubled.
func TestRefreshRace(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		ctx := context.Background()
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config(oidc.ScopeOfflineAccess)
		browser := r.signedIn(t, r.email)
		signIn := func() *oauth2.Token { return r.signIn(t, browser, cfg) }
		tok := signIn()
		const racers = 8
		got := make([]string, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				nt, err := refresh(ctx, cfg, tok.RefreshToken)
				errs[i] = err
				if err == nil {
					got[i] = nt.RefreshToken
				}
			})
		}
		wg.Wait()
		for i := range racers {
			if errs[i] != nil || got[i] == "" || got[i] != got[0] {
				t.Fatalf("racer %d: got %q, %v; want the same successor as racer 0 (%q)", i, got[i], errs[i], got[0])
			}
		}
		if _, err := refresh(ctx, cfg, got[0]); err != nil {
			t.Fatalf("the shared successor: %v", err)
		}

		tokens := make([]string, 64)
		for i := range tokens {
			tokens[i] = signIn().RefreshToken
		}
		next := make([]string, len(tokens))
		for i := range tokens {
			wg.Go(func() {
				nt, err := refresh(ctx, cfg, tokens[i])
				if err != nil {
					t.Errorf("refresh %d: %v", i, err)
					return
				}
				next[i] = nt.RefreshToken
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, n := range next {
			if n == "" || n == tokens[i] || seen[n] {
				t.Fatalf("refresh %d: got %q, want a new successor of its own", i, n)
			}
			seen[n] = true
		}
	})
}
