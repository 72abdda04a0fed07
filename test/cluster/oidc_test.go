package cluster

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// The OpenID Connect provider across real processes on one PostgreSQL: a
// code issued on one node is exchanged on another; the same refresh token
// raced on two nodes gives every racer the same successor (one family,
// nobody signed out); `keys rotate` run beside the nodes is seen by all of
// them at their next token.
func TestOIDCAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 2})
	a, b := c.Nodes[0], c.Nodes[1]
	email := c.CreateUser("oidc@example.com")
	const redirect = "https://app.example.com/callback"
	out, err := c.Command("", "app", "create", "--name", "CRM", "--redirect-uri", redirect, "--first-party")
	if err != nil {
		t.Fatalf("app create: %v", err)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &app); err != nil {
		t.Fatalf("app create printed %q", out)
	}
	browser := a.Client(t)
	browser.Login(email, password)
	session := browser.SessionCookie()

	// code authorizes on node a with the session and returns a code and
	// its verifier.
	code := func() (string, string) {
		t.Helper()
		verifier := strings.Repeat("v", 43)
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
			"scope": {"openid offline_access"}, "state": {"s"}, "code_challenge_method": {"S256"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
		next := a.URL + "/authorize?" + q.Encode()
		for range 3 {
			req, _ := http.NewRequest("GET", next, nil)
			req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: session})
			resp, err := browser.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("authorize: got %d, want a redirect", resp.StatusCode)
			}
			if strings.HasPrefix(loc.String(), redirect) {
				return loc.Query().Get("code"), verifier
			}
			next = loc.String()
		}
		t.Fatal("authorize: no code")
		return "", ""
	}
	token := func(n *node, form url.Values) (int, map[string]any) {
		req, _ := http.NewRequest("POST", n.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(app.ClientID), url.QueryEscape(app.ClientSecret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	exchange := func(n *node) map[string]any {
		t.Helper()
		cd, v := code()
		status, body := token(n, url.Values{"grant_type": {"authorization_code"}, "code": {cd}, "redirect_uri": {redirect}, "code_verifier": {v}})
		if status != 200 {
			t.Fatalf("exchange on %s: got %d %v", n.Name, status, body)
		}
		return body
	}

	// A code issued on a, exchanged on b; its replay on a fails.
	cd, v := code()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cd}, "redirect_uri": {redirect}, "code_verifier": {v}}
	status, body := token(b, form)
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("code from node1 exchanged on node2: got %d %v", status, body)
	}
	if status, body := token(a, form); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the code replayed on node1: got %d %v, want 400 invalid_grant", status, body)
	}

	// The same refresh token raced on both nodes: one successor for all.
	rt := exchange(b)["refresh_token"].(string)
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			n := c.Nodes[i%2]
			if status, body := token(n, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); status == 200 {
				got[i], _ = body["refresh_token"].(string)
			}
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] == "" || got[i] != got[0] {
			t.Fatalf("racer %d on %s: got %q, want the successor racer 0 got (%q)", i, c.Nodes[i%2].Name, got[i], got[0])
		}
	}
	succ := sha256.Sum256([]byte(got[0]))
	family := `(SELECT family_id FROM oidc_refresh_tokens WHERE token_hash = $1)`
	if n := c.Int(`SELECT COUNT(*) FROM oidc_refresh_tokens WHERE family_id = `+family, succ[:]); n != 2 {
		t.Errorf("tokens in the family after the race: got %d, want 2 (the raced one and one successor)", n)
	}
	if n := c.Int(`SELECT COUNT(*) FROM oidc_refresh_tokens WHERE rotated_at = 0 AND revoked_at = 0 AND family_id = `+family, succ[:]); n != 1 {
		t.Errorf("live tokens in the family after the race: got %d, want 1", n)
	}

	// keys rotate beside the running nodes: both publish the new key and
	// sign with it at once.
	out, err = c.Command("", "keys", "rotate")
	if err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	var rotated struct{ Kid string }
	json.Unmarshal([]byte(out), &rotated)
	for _, n := range c.Nodes {
		resp := n.Client(t).Get("/keys")
		if resp.StatusCode != 200 || !strings.Contains(string(resp.Body), rotated.Kid) {
			t.Errorf("JWKS of %s after the rotation: got %d, want the new kid %s", n.Name, resp.StatusCode, rotated.Kid)
		}
		idt, _ := exchange(n)["id_token"].(string)
		header, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(idt, ".", 2)[0])
		if !strings.Contains(string(header), rotated.Kid) {
			t.Errorf("ID token from %s after the rotation: header %s, want kid %s", n.Name, header, rotated.Kid)
		}
	}
}
