package oidcop_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Bad authorization requests: where the client or the redirect URI is not
// right, a page says so and nothing goes anywhere; after that, the error
// goes to the registered redirect URI with state and iss.
func TestAuthorizeBadInput(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		cfg := r.config()
		good := func() url.Values {
			f := r.start(cfg)
			u, _ := url.Parse(f.url)
			return u.Query()
		}
		browser := r.signedIn(t, r.email)
		for _, tc := range []struct {
			name  string
			edit  func(q url.Values)
			raw   string // appended to the query as is
			error string // "" : a 400 page, no redirect
			// fragment: the error comes in the fragment, the default
			// response mode of the response type asked for.
			fragment bool
		}{
			{name: "unknown client", edit: func(q url.Values) { q.Set("client_id", "nope") }},
			{name: "no client", edit: func(q url.Values) { q.Del("client_id") }},
			{name: "no redirect_uri", edit: func(q url.Values) { q.Del("redirect_uri") }},
			{name: "redirect_uri with a trailing slash", edit: func(q url.Values) { q.Set("redirect_uri", r.redirect+"/") }},
			{name: "redirect_uri in another case", edit: func(q url.Values) { q.Set("redirect_uri", strings.ToUpper(r.redirect)) }},
			{name: "redirect_uri with a port", edit: func(q url.Values) {
				q.Set("redirect_uri", strings.Replace(r.redirect, "app.example.com", "app.example.com:8443", 1))
			}},
			{name: "redirect_uri with a fragment", edit: func(q url.Values) { q.Set("redirect_uri", r.redirect+"#x") }},
			{name: "redirect_uri with a query", edit: func(q url.Values) { q.Set("redirect_uri", r.redirect+"?a=b") }},
			{name: "client_id twice", raw: "&client_id=" + cfg.ClientID},
			{name: "state twice", raw: "&state=again"},
			{name: "no code_challenge", edit: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, error: "invalid_request"},
			{name: "plain PKCE", edit: func(q url.Values) { q.Set("code_challenge_method", "plain") }, error: "invalid_request"},
			{name: "no code_challenge_method", edit: func(q url.Values) { q.Del("code_challenge_method") }, error: "invalid_request"},
			{name: "short code_challenge", edit: func(q url.Values) { q.Set("code_challenge", "abc") }, error: "invalid_request"},
			{name: "implicit flow", edit: func(q url.Values) { q.Set("response_type", "id_token") }, error: "unsupported_response_type", fragment: true},
			{name: "no response_type", edit: func(q url.Values) { q.Del("response_type") }, error: "invalid_request"},
			{name: "no openid scope", edit: func(q url.Values) { q.Set("scope", "email") }, error: "invalid_scope"},
			{name: "fragment response mode", edit: func(q url.Values) { q.Set("response_mode", "fragment") }, error: "invalid_request"},
			{name: "request object", edit: func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, error: "request_not_supported"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := good()
				if tc.edit != nil {
					tc.edit(q)
				}
				loc, page := follow(t, browser, r.srv, r.srv.URL+"/authorize?"+q.Encode()+tc.raw)
				if tc.error == "" {
					if loc != nil || page.StatusCode != http.StatusBadRequest {
						t.Fatalf("got a redirect to %v (page %v), want a 400 page and no redirect", loc, page)
					}
					return
				}
				if loc == nil {
					t.Fatalf("got a page with status %d, want error=%s at the redirect URI", page.StatusCode, tc.error)
				}
				if got := loc.Scheme + "://" + loc.Host + loc.Path; got != r.redirect {
					t.Fatalf("error sent to %s, want %s", got, r.redirect)
				}
				params := loc.Query()
				if tc.fragment {
					params, _ = url.ParseQuery(loc.Fragment)
				}
				if got := params.Get("error"); got != tc.error {
					t.Errorf("error: got %q, want %q", got, tc.error)
				}
				if params.Get("state") != q.Get("state") || params.Get("iss") != r.srv.URL {
					t.Errorf("error response: got state %q iss %q, want %q and %q", params.Get("state"),
						params.Get("iss"), q.Get("state"), r.srv.URL)
				}
			})
		}
	})
}

// Who is admitted, and when a login or consent is needed: prompt=none
// without a session, prompt=login and max_age with one, a company's app
// (third party: consent, remembered, revoked on /settings/connected-apps
// with its tokens), another company's app, an app for admins only.
func TestAuthorizeDecisions(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		ctx := context.Background()
		r := newRig(t, db, auth.NewApplication{}, false) // the company's own app: consent needed
		cfg := r.config(oidc.ScopeOfflineAccess, "email")

		// No session: prompt=none answers login_required; otherwise the login page.
		anon := r.srv.Client(t)
		loc, _ := follow(t, anon, r.srv, r.start(cfg, oauth2.SetAuthURLParam("prompt", "none")).url)
		if loc == nil || loc.Query().Get("error") != "login_required" {
			t.Fatalf("prompt=none without a session: got %v, want error=login_required", loc)
		}
		if loc := firstRedirect(t, anon, r.start(cfg).url); !strings.HasPrefix(loc, "/login?next=") {
			t.Fatalf("no session: got %q, want the login page", loc)
		}

		browser := r.signedIn(t, r.email)
		// Consent: prompt=none says consent_required; the page, then allow.
		loc, _ = follow(t, browser, r.srv, r.start(cfg, oauth2.SetAuthURLParam("prompt", "none")).url)
		if loc == nil || loc.Query().Get("error") != "consent_required" {
			t.Fatalf("prompt=none before consent: got %v, want error=consent_required", loc)
		}
		f := r.start(cfg)
		_, page := follow(t, browser, r.srv, f.url)
		if page == nil || page.StatusCode != 200 || !strings.HasPrefix(page.Request.URL.Path, "/authorize/consent") {
			t.Fatalf("a third-party app: got %v, want the consent page", page)
		}
		requestID := page.Request.URL.Query().Get("id")
		deny := browser.PostForm("/authorize/consent", map[string]string{"id": requestID, "action": "deny"})
		loc, _ = follow(t, browser, r.srv, r.srv.URL+deny.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Fatalf("consent denied: got %v, want error=access_denied", loc)
		}
		f = r.start(cfg)
		_, page = follow(t, browser, r.srv, f.url)
		allow := browser.PostForm("/authorize/consent", map[string]string{"id": page.Request.URL.Query().Get("id"), "action": "allow"})
		loc, _ = follow(t, browser, r.srv, r.srv.URL+allow.Header.Get("Location"))
		if loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("consent allowed: got %v, want a code", loc)
		}
		tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		// Remembered: the next sign-in needs no page.
		r.authorize(t, browser, r.start(cfg))

		// prompt=login and max_age=0 send a signed-in browser to log in again.
		for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
			if loc := firstRedirect(t, browser, r.start(cfg, opt).url); !strings.HasPrefix(loc, "/login?next=") {
				t.Errorf("%v: got %q, want the login page", opt, loc)
			}
		}

		// Connected apps: listed, and revoking ends the tokens at once.
		list := browser.Get("/settings/connected-apps")
		if list.StatusCode != 200 || !strings.Contains(string(list.Body), "CRM") {
			t.Fatalf("connected apps: got %d, want CRM listed", list.StatusCode)
		}
		revoke := browser.PostForm("/settings/connected-apps/"+cfg.ClientID+"/revoke", nil)
		if revoke.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: got %d", revoke.StatusCode)
		}
		if _, err := refresh(ctx, cfg, tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Errorf("refresh after the app was revoked: got %v, want invalid_grant", err)
		}
		if _, err := r.rp.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo after the app was revoked: the access token still works")
		}
		if _, page := follow(t, browser, r.srv, r.start(cfg).url); page == nil || !strings.HasPrefix(page.Request.URL.Path, "/authorize/consent") {
			t.Error("after revoking, the app signed in without asking again")
		}

		// Not admitted: a member for an admins-only app, another company's user.
		memberEmail := "max@acme.test"
		r.srv.AddUser(t, r.companyID, memberEmail, pw, gatehouse.RoleMember)
		admins, err := r.srv.Service().OperatorCreateApplication(ctx, "", auth.NewApplication{Name: "Console", FirstParty: true,
			RedirectURIs: []string{r.redirect}, RequireRole: gatehouse.RoleAdmin}, auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		adminsCfg := r.config()
		adminsCfg.ClientID, adminsCfg.ClientSecret = admins.Application.ClientID, admins.ClientSecret
		member := r.signedIn(t, memberEmail)
		if loc, _ := follow(t, member, r.srv, r.start(adminsCfg).url); loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Errorf("a member at an admins-only app: got %v, want error=access_denied", loc)
		}
		r.srv.Company(t, "Globex", "gus@globex.test", pw)
		outsider := r.signedIn(t, "gus@globex.test")
		if loc, _ := follow(t, outsider, r.srv, r.start(cfg).url); loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Errorf("another company's user: got %v, want error=access_denied", loc)
		}
		r.wantAudited(t, gatehouse.EventOIDCConsentGranted, gatehouse.EventOIDCConsentRevoked)
	})
}

// firstRedirect returns where GET u sends the browser, past the
// provider's own hop to /authorize/continue.
func firstRedirect(t *testing.T, c *servertest.Client, u string) string {
	t.Helper()
	base, _ := url.Parse(u)
	for range 3 {
		resp, err := c.HTTP.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s: got %d, want a redirect", u, resp.StatusCode)
		}
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/authorize/continue") {
			return loc
		}
		u = base.Scheme + "://" + base.Host + loc
	}
	t.Fatalf("GET %s: too many hops", u)
	return ""
}
