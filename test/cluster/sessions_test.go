package cluster

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// A session made on one node works on every node, and ends on every node
// at once when it is logged out, when the password changes or is reset,
// and when the account is disabled: nothing about a session is cached.
func TestSessionsAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3})
	a, b, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	users := []string{"logout@example.com", "change@example.com", "reset@example.com", "disable@example.com"}
	c.CreateUsers(users...)

	// login logs in on n and returns a client of each node holding the token.
	login := func(t *testing.T, n *node, email string) []*servertest.Client {
		t.Helper()
		token := n.Client(t).Login(email, password)
		var clients []*servertest.Client
		for _, m := range c.Nodes {
			cl := m.Client(t)
			cl.Token = token
			clients = append(clients, cl)
		}
		return clients
	}
	// wantMe checks GET /api/v1/me on every node.
	wantMe := func(t *testing.T, clients []*servertest.Client, want int, why string) {
		t.Helper()
		for i, cl := range clients {
			if r := cl.Get("/api/v1/me"); r.StatusCode != want {
				t.Errorf("%s: GET /api/v1/me on %s: got %d %s, want %d", why, c.Nodes[i].Name, r.StatusCode, r.Body, want)
			}
		}
	}

	t.Run("logout", func(t *testing.T) {
		s := login(t, a, users[0])
		wantMe(t, s, http.StatusOK, "after login on node1")
		if r := s[1].Do("POST", "/api/v1/logout", nil); r.StatusCode != http.StatusNoContent {
			t.Fatalf("logout on node2: got %d %s, want 204", r.StatusCode, r.Body)
		}
		wantMe(t, s, http.StatusUnauthorized, "after logout on node2")
	})

	t.Run("password change", func(t *testing.T) {
		kept := login(t, a, users[1])
		other := login(t, b, users[1])
		wantMe(t, other, http.StatusOK, "before the change")
		r := kept[2].Do("POST", "/api/v1/me/password", map[string]string{
			"current_password": password, "new_password": "quartz lantern meadow falcon", "confirm_password": "quartz lantern meadow falcon"})
		if r.StatusCode != http.StatusNoContent {
			t.Fatalf("change password on node3: got %d %s, want 204", r.StatusCode, r.Body)
		}
		wantMe(t, other, http.StatusUnauthorized, "the other session after a password change on node3")
		wantMe(t, kept, http.StatusOK, "the session that changed the password")
	})

	t.Run("password reset", func(t *testing.T) {
		s := login(t, n3, users[2])
		if r := a.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": users[2]}); r.StatusCode != http.StatusAccepted {
			t.Fatalf("password reset: got %d %s, want 202", r.StatusCode, r.Body)
		}
		token := resetToken(t, c.SMTP.WaitFor(t, users[2], "Reset"))
		r := b.Client(t).Do("POST", "/api/v1/password-reset/confirm", map[string]string{
			"token": token, "new_password": "quartz lantern meadow falcon", "confirm_password": "quartz lantern meadow falcon"})
		if r.StatusCode != http.StatusNoContent {
			t.Fatalf("confirm reset on node2: got %d %s, want 204", r.StatusCode, r.Body)
		}
		wantMe(t, s, http.StatusUnauthorized, "after a password reset on node2")
	})

	t.Run("disable", func(t *testing.T) {
		// The admin (users[3]) invites a member on node1; the member sets a
		// password from the invitation on node2 and logs in on node3.
		admin := login(t, a, users[3])
		const member = "member@example.com"
		r := admin[0].Do("POST", "/api/v1/company/users", map[string]string{"email": member, "name": "Member", "role": "member"})
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("invite on node1: got %d %s, want 201", r.StatusCode, r.Body)
		}
		memberID := r.Str(t, "id")
		token := resetToken(t, c.SMTP.WaitFor(t, member, "invited you"))
		r = b.Client(t).Do("POST", "/api/v1/password-reset/confirm", map[string]string{
			"token": token, "new_password": password, "confirm_password": password})
		if r.StatusCode != http.StatusNoContent {
			t.Fatalf("accept the invitation on node2: got %d %s, want 204", r.StatusCode, r.Body)
		}
		s := login(t, n3, member)
		wantMe(t, s, http.StatusOK, "before disabling")

		r = admin[1].Do("PATCH", "/api/v1/company/users/"+memberID, map[string]any{"disabled": true})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("disable on node2: got %d %s, want 200", r.StatusCode, r.Body)
		}
		wantMe(t, s, http.StatusUnauthorized, "after the admin disabled the account on node2")
		r = a.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": member, "password": password})
		if r.StatusCode != http.StatusForbidden || r.Code(t) != "account_disabled" {
			t.Errorf("login of a disabled account on node1: got %d %s, want 403 account_disabled", r.StatusCode, r.Body)
		}
	})
}
