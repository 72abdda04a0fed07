package cluster

import (
	"encoding/base32"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/totp"
)

var resetLink = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]+)`)

// resetToken returns the token of the link in a reset mail.
func resetToken(t testing.TB, m smtptest.Mail) string {
	t.Helper()
	match := resetLink.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no reset link in the mail to %v:\n%s", m.To, m.Text)
	}
	return match[1]
}

// A TOTP step used on one node is refused on every other: the used step is
// recorded in the database, not in a node's memory. Two users enroll, each
// across nodes: one by self-service, one through the login's forced setup
// after their admin required 2FA for the company. (The admin is the first,
// since requiring 2FA takes 2FA of one's own.)
func TestTOTPCodeUsedOnceAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 2})
	a, b := c.Nodes[0], c.Nodes[1]
	self, forced := "self@example.com", "forced@example.com"
	c.CreateUsers(self)
	var adminToken string

	t.Run("self-service enrollment", func(t *testing.T) {
		cl := a.Client(t)
		cl.Token = cl.Login(self, password)
		adminToken = cl.Token
		r := cl.Do("POST", "/api/v1/me/totp", map[string]string{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v1/me/totp on node1: got %d %s, want 200", r.StatusCode, r.Body)
		}
		secret := decodeSecret(t, r.Str(t, "secret"))
		step := totp.Step(time.Now())
		other := b.Client(t)
		other.Token = cl.Token
		r = other.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": totp.Code(secret, step)})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("confirm on node2: got %d %s, want 200", r.StatusCode, r.Body)
		}
		codeUsedOnce(t, c, self, totp.Code(secret, step+1))
	})

	t.Run("forced setup", func(t *testing.T) {
		if adminToken == "" {
			t.Skip("the self-service enrollment failed")
		}
		admin := b.Client(t)
		admin.Token = adminToken
		if r := admin.Do("POST", "/api/v1/company/users", map[string]string{"email": forced, "name": "Forced"}); r.StatusCode != http.StatusCreated {
			t.Fatalf("invite on node2: got %d %s, want 201", r.StatusCode, r.Body)
		}
		invitation := testenv.LinkToken(t, c.SMTP.WaitFor(t, forced, "invited").Text)
		if r := a.Client(t).Do("POST", "/api/v1/password-reset/confirm", map[string]string{"token": invitation,
			"new_password": password, "confirm_password": password}); r.StatusCode != http.StatusNoContent {
			t.Fatalf("accept the invitation on node1: got %d %s, want 204", r.StatusCode, r.Body)
		}
		if r := admin.Do("PATCH", "/api/v1/company", map[string]any{"require_totp": true}); r.StatusCode != http.StatusOK {
			t.Fatalf("PATCH /api/v1/company on node2: got %d %s, want 200", r.StatusCode, r.Body)
		}
		r := a.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": forced, "password": password})
		if r.StatusCode != http.StatusOK || r.Str(t, "status") != "totp_setup_required" {
			t.Fatalf("login on node1: got %d %s, want 200 totp_setup_required", r.StatusCode, r.Body)
		}
		challenge := r.Str(t, "challenge")
		r = b.Client(t).Do("POST", "/api/v1/login/totp-setup", map[string]string{"challenge": challenge})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("totp-setup on node2: got %d %s, want 200", r.StatusCode, r.Body)
		}
		secret := decodeSecret(t, r.Str(t, "secret"))
		step := totp.Step(time.Now())
		r = a.Client(t).Do("POST", "/api/v1/login/totp-setup/confirm", map[string]string{"challenge": challenge, "code": totp.Code(secret, step)})
		if r.StatusCode != http.StatusOK || r.Str(t, "status") != "authenticated" {
			t.Fatalf("confirm on node1: got %d %s, want 200 authenticated", r.StatusCode, r.Body)
		}
		codeUsedOnce(t, c, forced, totp.Code(secret, step+1))
	})
}

// codeUsedOnce logs in on both nodes up to the code, then gives code (a
// step after the one that confirmed enrollment, still inside the ±1
// window) to node1, which accepts it, and to node2, which must refuse it.
func codeUsedOnce(t *testing.T, c *cluster, email, code string) {
	t.Helper()
	challenges := map[*node]string{}
	for _, n := range c.Nodes {
		r := n.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": email, "password": password})
		if r.StatusCode != http.StatusOK || r.Str(t, "status") != "totp_required" {
			t.Fatalf("login on %s: got %d %s, want 200 totp_required", n.Name, r.StatusCode, r.Body)
		}
		challenges[n] = r.Str(t, "challenge")
	}
	a, b := c.Nodes[0], c.Nodes[1]
	r := a.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": challenges[a], "code": code})
	if r.StatusCode != http.StatusOK || r.Str(t, "status") != "authenticated" {
		t.Fatalf("code on node1: got %d %s, want 200 authenticated", r.StatusCode, r.Body)
	}
	r = b.Client(t).Do("POST", "/api/v1/login/totp", map[string]string{"challenge": challenges[b], "code": code})
	if r.StatusCode != http.StatusUnauthorized || r.Code(t) != "invalid_code" {
		t.Errorf("the same code on node2: got %d %s, want 401 invalid_code", r.StatusCode, r.Body)
	}
}

func decodeSecret(t *testing.T, s string) []byte {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(s))
	if err != nil || len(secret) == 0 {
		t.Fatalf("secret %q: %v", s, err)
	}
	return secret
}

// Wrong passwords sent to different nodes count together: five failures
// spread over three nodes block the account on all of them.
func TestThrottlingAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3})
	email := c.CreateUser("throttle@example.com")
	for i := range 5 {
		n := c.Nodes[i%3]
		r := n.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": email, "password": "wrong guess number " + string(rune('a'+i))})
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d on %s: got %d %s, want 401", i+1, n.Name, r.StatusCode, r.Body)
		}
	}
	for _, n := range c.Nodes {
		r := n.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": email, "password": password})
		if r.StatusCode != http.StatusTooManyRequests || r.Code(t) != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
			t.Errorf("right password on %s after 5 failures spread over 3 nodes: got %d %s (Retry-After %q), want 429 too_many_attempts with Retry-After",
				n.Name, r.StatusCode, r.Body, r.Header.Get("Retry-After"))
		}
	}
}

// One reset link sent to two nodes at the same moment sets one password:
// the token is consumed in the transaction that uses it.
func TestResetTokenRacedOnTwoNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 2})
	emails := []string{"race1@example.com", "race2@example.com", "race3@example.com", "race4@example.com"}
	c.CreateUsers(emails...)
	passwords := []string{"quartz lantern meadow falcon", "copper harbor willow tundra"}
	for _, email := range emails {
		if r := c.Nodes[0].Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": email}); r.StatusCode != http.StatusAccepted {
			t.Fatalf("password reset for %s: got %d %s, want 202", email, r.StatusCode, r.Body)
		}
	}
	for _, email := range emails {
		token := resetToken(t, c.SMTP.WaitFor(t, email, "Reset"))
		statuses := make([]int, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, n := range c.Nodes {
			wg.Go(func() {
				<-start
				statuses[i] = postJSON(n.URL+"/api/v1/password-reset/confirm", map[string]string{
					"token": token, "new_password": passwords[i], "confirm_password": passwords[i]})
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for i, s := range statuses {
			switch s {
			case http.StatusNoContent:
				winners++
				// The winner's password is the one that works, on any node.
				c.Nodes[1-i].Client(t).Login(email, passwords[i])
			case http.StatusBadRequest:
			default:
				t.Errorf("%s: confirm on %s: got %d, want 204 or 400", email, c.Nodes[i].Name, s)
			}
		}
		if winners != 1 {
			t.Errorf("%s: one token raced on two nodes: got %d successes (%v), want 1", email, winners, statuses)
		}
	}
}
