package cluster

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Behind a load balancer the client's address comes from X-Forwarded-For,
// but only when the direct peer is a trusted proxy: the audit log and the
// per-address login throttle see the real client on nodes that trust the
// balancer, and the balancer's own address on a node that does not.
func TestTrustedProxies(t *testing.T) {
	c := newCluster(t, clusterConfig{nodes: 0})
	trusting1 := c.newNode("trusting1", "--trusted-proxies", "127.0.0.1")
	trusting2 := c.newNode("trusting2", "--trusted-proxies", "10.0.0.0/8,127.0.0.0/8")
	untrusting := c.newNode("untrusting", "--trusted-proxies", "192.0.2.0/24")
	c.Nodes = []*node{trusting1, trusting2, untrusting}
	for _, n := range c.Nodes {
		n.Start()
	}
	for _, n := range c.Nodes {
		n.WaitReady(60 * time.Second)
	}

	t.Run("audit log", func(t *testing.T) {
		for _, tc := range []struct {
			node   *node
			email  string
			xff    string
			wantIP string
		}{
			{trusting1, "audit1@example.com", "203.0.113.7", "203.0.113.7"},
			// The leftmost hop was written by the client and proves nothing.
			{trusting2, "audit2@example.com", "203.0.113.9, 198.51.100.1", "198.51.100.1"},
			{trusting2, "audit3@example.com", "198.51.100.2, 127.0.0.1", "198.51.100.2"},
			{untrusting, "audit4@example.com", "203.0.113.7", "127.0.0.1"},
		} {
			status, _, body := postJSONHeader(tc.node.URL+"/api/v1/login", map[string]string{"email": tc.email, "password": "not the password"},
				map[string]string{"X-Forwarded-For": tc.xff})
			if status != http.StatusUnauthorized {
				t.Fatalf("login on %s: got %d %s, want 401", tc.node.Name, status, body)
			}
			// An unknown email's failure is audited without a user; its
			// address is what matters here.
			got := c.Int(`SELECT count(*) FROM audit_events WHERE type = 'login.failed' AND ip = $1`, tc.wantIP)
			if got == 0 {
				t.Errorf("%s with X-Forwarded-For %q: no login.failed event from %s in the audit log", tc.node.Name, tc.xff, tc.wantIP)
			}
		}
	})

	t.Run("throttle", func(t *testing.T) {
		// 100 wrong passwords from one client, spread over both trusting
		// nodes and 25 accounts (fewer than an account's 5 free failures
		// each), use up the address's allowance on every node.
		const attacker, bystander = "203.0.113.66", "203.0.113.77"
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		errs := make(chan string, 100)
		for i := range 100 {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				n := c.Nodes[i%2]
				status, _, body := postJSONHeader(n.URL+"/api/v1/login",
					map[string]string{"email": fmt.Sprintf("victim%02d@example.com", i%25), "password": "guess " + fmt.Sprint(i)},
					map[string]string{"X-Forwarded-For": attacker})
				if status != http.StatusUnauthorized {
					errs <- fmt.Sprintf("guess %d on %s: got %d %s, want 401", i, n.Name, status, body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		try := func(n *node, xff string) (int, string) {
			status, _, body := postJSONHeader(n.URL+"/api/v1/login", map[string]string{"email": "someone@example.com", "password": "a guess"},
				map[string]string{"X-Forwarded-For": xff})
			return status, string(body)
		}
		for _, n := range []*node{trusting1, trusting2} {
			if status, body := try(n, attacker); status != http.StatusTooManyRequests {
				t.Errorf("attacker's next try on %s: got %d %s, want 429", n.Name, status, body)
			}
			if status, body := try(n, bystander); status != http.StatusUnauthorized {
				t.Errorf("another client on %s: got %d %s, want 401", n.Name, status, body)
			}
		}
		// The untrusting node counts the peer, 127.0.0.1, which has failed
		// only a few times.
		if status, body := try(untrusting, attacker); status != http.StatusUnauthorized {
			t.Errorf("attacker's address claimed to the untrusting node: got %d %s, want 401", status, body)
		}
	})
}
