package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/passkeytest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// options returns the "options" member of a begin call's answer.
func options(t *testing.T, r *servertest.Response) []byte {
	t.Helper()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("begin: got %d %s, want 200", r.StatusCode, r.Body)
	}
	var v struct {
		Options json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || len(v.Options) == 0 {
		t.Fatalf("begin: %v %s", err, r.Body)
	}
	return v.Options
}

// addPasskey adds a passkey from a through the API with c's session.
func addPasskey(t *testing.T, c *servertest.Client, a *passkeytest.Authenticator, name string) map[string]any {
	t.Helper()
	answer, _, err := a.Create(options(t, c.Do("POST", "/api/v1/me/passkeys/begin", nil)))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Do("POST", "/api/v1/me/passkeys", map[string]any{"name": name, "credential": json.RawMessage(answer)})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("add passkey: got %d %s, want 201", r.StatusCode, r.Body)
	}
	return r.JSON(t)
}

// TestPasskeysAPI: the ceremonies through the JSON API, as a script or an
// app would drive them, with a software authenticator at the public URL.
func TestPasskeysAPI(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := servertest.Start(t, db, servertest.WithLocalhost())
		s.Company(t, "Acme", "ada@example.com", goodPW)
		c := s.Client(t)
		c.Token = c.Login("ada@example.com", goodPW)
		a := passkeytest.New(s.URL)

		key := addPasskey(t, c, a, "Laptop")
		if key["name"] != "Laptop" || key["last_used_at"] != nil {
			t.Errorf("added: got %v", key)
		}
		list := c.Get("/api/v1/me/passkeys").JSON(t)["passkeys"].([]any)
		if len(list) != 1 {
			t.Fatalf("list: got %v", list)
		}
		id := key["id"].(string)
		if r := c.Do("PATCH", "/api/v1/me/passkeys/"+id, map[string]string{"name": "Work laptop"}); r.StatusCode != 204 {
			t.Errorf("rename: got %d %s", r.StatusCode, r.Body)
		}
		wantProblem(t, "rename to nothing", c.Do("PATCH", "/api/v1/me/passkeys/"+id, map[string]string{"name": ""}), 400, "invalid_request")
		wantProblem(t, "rename another's", c.Do("PATCH", "/api/v1/me/passkeys/nope", map[string]string{"name": "x"}), 404, "not_found")

		// A sign-in with the passkey alone.
		anon := s.Client(t)
		answer, err := a.Get(options(t, anon.Do("POST", "/api/v1/login/passkey/begin", map[string]bool{"conditional": true})))
		if err != nil {
			t.Fatal(err)
		}
		r := anon.Do("POST", "/api/v1/login/passkey", map[string]any{"credential": json.RawMessage(answer)})
		if r.StatusCode != 200 || r.Str(t, "status") != auth.StatusAuthenticated || anon.SessionCookie() == "" {
			t.Fatalf("passkey sign-in: got %d %s, want authenticated with a cookie", r.StatusCode, r.Body)
		}
		wantProblem(t, "the same answer again", anon.Do("POST", "/api/v1/login/passkey", map[string]any{"credential": json.RawMessage(answer)}), 401, "invalid_passkey")
		wantProblem(t, "no answer", anon.Do("POST", "/api/v1/login/passkey", map[string]any{}), 401, "invalid_passkey")

		// After the password, the passkey is the second factor.
		r = login(anon, "ada@example.com", goodPW)
		if r.Str(t, "status") != auth.StatusPasskeyRequired || r.JSON(t)["passkey"] != true {
			t.Fatalf("password step: got %s, want passkey_required with passkey true", r.Body)
		}
		ch := r.Str(t, "challenge")
		answer, _ = a.Get(options(t, anon.Do("POST", "/api/v1/login/passkey-2fa/begin", map[string]string{"challenge": ch})))
		r = anon.Do("POST", "/api/v1/login/passkey-2fa", map[string]any{"challenge": ch, "credential": json.RawMessage(answer)})
		if r.Str(t, "status") != auth.StatusAuthenticated {
			t.Fatalf("second factor: got %d %s", r.StatusCode, r.Body)
		}
		wantProblem(t, "begin with a dead challenge", anon.Do("POST", "/api/v1/login/passkey-2fa/begin", map[string]string{"challenge": ch}), 401, "invalid_challenge")

		// Another origin: refused.
		evil := passkeytest.New("https://evil.example")
		opts := options(t, c.Do("POST", "/api/v1/me/passkeys/begin", nil))
		answer, _, _ = evil.Create(opts)
		wantProblem(t, "a passkey made on another site", c.Do("POST", "/api/v1/me/passkeys", map[string]any{"credential": json.RawMessage(answer)}), 401, "invalid_passkey")

		// Removal, and the admin's removal of a member's passkeys.
		if r := c.Do("DELETE", "/api/v1/me/passkeys/"+id, nil); r.StatusCode != 204 {
			t.Fatalf("remove: got %d %s", r.StatusCode, r.Body)
		}
		wantProblem(t, "remove again", c.Do("DELETE", "/api/v1/me/passkeys/"+id, nil), 404, "not_found")

		companyID := c.Get("/api/v1/me").Str(t, "company_id")
		s.AddUser(t, companyID, "bob@example.com", goodPW, "member")
		bob := s.Client(t)
		bob.Token = bob.Login("bob@example.com", goodPW)
		bobKey := passkeytest.New(s.URL)
		addPasskey(t, bob, bobKey, "")
		bobID := bob.Get("/api/v1/me").Str(t, "id")
		wantProblem(t, "a member removing passkeys", bob.Do("DELETE", "/api/v1/company/users/"+bobID+"/passkeys", nil), 403, "forbidden")
		if r := c.Do("DELETE", "/api/v1/company/users/"+bobID+"/passkeys", nil); r.StatusCode != 204 {
			t.Fatalf("admin removal: got %d %s", r.StatusCode, r.Body)
		}
		wantProblem(t, "bob's session after", bob.Get("/api/v1/me"), 401, "unauthenticated")
		wantProblem(t, "again", c.Do("DELETE", "/api/v1/company/users/"+bobID+"/passkeys", nil), 404, "not_found")
	})
}

// TestPasskeysNeedADomain: a public URL on an IP address has no relying
// party id; the passkey calls say so, and the rest works.
func TestPasskeysNeedADomain(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	wantProblem(t, "begin on an IP address", c.Do("POST", "/api/v1/login/passkey/begin", nil), 403, "forbidden")
	c.Token = c.Login("ada@example.com", goodPW)
	wantProblem(t, "add on an IP address", c.Do("POST", "/api/v1/me/passkeys/begin", nil), 403, "forbidden")
}
