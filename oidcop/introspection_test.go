package oidcop_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// An introspection answers exactly the claims its token's scopes allow
// (../shared/API.md, "OpenID Connect provider"; docs/OIDC.md): the
// token's own fields always, name with profile, email and email_verified
// (false too) with email, company_id, company_name, role and groups with
// company, and nothing else.
func TestIntrospectionClaims(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		r := newRig(t, db, auth.NewApplication{FirstParty: true}, true)
		browser := r.signedIn(t, r.email)
		id := r.app.Application.ClientID
		for _, tc := range []struct {
			scopes []string
			want   map[string]any // besides the token's own fields
		}{
			{nil, map[string]any{}},
			{[]string{"offline_access"}, map[string]any{}},
			{[]string{"profile"}, map[string]any{"name": "ann"}},
			{[]string{"email"}, map[string]any{"email": r.email, "email_verified": false}},
			{[]string{"company"}, map[string]any{"company_id": r.companyID, "company_name": "Acme", "role": "admin",
				"groups": []any{"admin"}}},
			{[]string{"offline_access", "profile", "email", "company"}, map[string]any{"name": "ann", "email": r.email,
				"email_verified": false, "company_id": r.companyID, "company_name": "Acme", "role": "admin", "groups": []any{"admin"}}},
		} {
			cfg := r.config(tc.scopes...)
			tok := r.signIn(t, browser, cfg)
			req, _ := http.NewRequest("POST", r.srv.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(cfg.ClientSecret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("scopes %q: got %d %v", cfg.Scopes, resp.StatusCode, err)
			}
			// The times are numbers of seconds, an hour or less apart.
			exp, _ := got["exp"].(float64)
			iat, _ := got["iat"].(float64)
			at, _ := got["auth_time"].(float64)
			if iat <= 0 || at <= 0 || at > iat || exp <= iat || exp > iat+3600 {
				t.Errorf("scopes %q: exp %v, iat %v, auth_time %v", cfg.Scopes, got["exp"], got["iat"], got["auth_time"])
			}
			delete(got, "exp")
			delete(got, "iat")
			delete(got, "auth_time")
			want := map[string]any{"active": true, "scope": strings.Join(cfg.Scopes, " "), "client_id": id, "token_type": "Bearer",
				"sub": r.adminID, "aud": []any{id}}
			for k, v := range tc.want {
				want[k] = v
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("scopes %q: got %v, want %v", cfg.Scopes, got, want)
			}
		}
	})
}
