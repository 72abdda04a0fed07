package cluster

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// An API key made on the command line works on every node, is managed
// through one node and stops working on the others at once: a key deleted
// on node1 is refused by the very next request to node2, and a key made
// through node2's API works on node1 at once. Nothing about a key is
// cached.
func TestAPIKeysAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 2})
	a, b := c.Nodes[0], c.Nodes[1]
	c.CreateUser("keys@example.com")
	admin := a.Client(t)
	admin.Token = admin.Login("keys@example.com", password)
	companyID := admin.Get("/api/v1/company").Str(t, "id")

	out, err := c.Command("", "api-key", "create", "--name", "HR sync", "--company", companyID)
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("api-key create printed %q: %v", out, err)
	}
	withKey := func(n *node, key string) *servertest.Client {
		cl := n.Client(t)
		cl.Token = key
		return cl
	}
	onA, onB := withKey(a, created["key"]), withKey(b, created["key"])
	for _, cl := range []*servertest.Client{onA, onB} {
		if r := cl.Get("/api/v1/company/users"); r.StatusCode != http.StatusOK {
			t.Fatalf("the key before deletion: got %d %s, want 200", r.StatusCode, r.Body)
		}
	}

	// A key made through node2's API works on node1 at once.
	r := withKey(b, created["key"]).Do("POST", "/api/v1/company/api-keys", map[string]string{"name": "made on node2"})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create a key on node2: got %d %s", r.StatusCode, r.Body)
	}
	second := r.Str(t, "key")
	if r := withKey(a, second).Get("/api/v1/company"); r.StatusCode != http.StatusOK {
		t.Fatalf("the key made on node2, on node1: got %d %s", r.StatusCode, r.Body)
	}

	// Deleted on node1, refused on node2 by the next request.
	if r := admin.Do("DELETE", "/api/v1/company/api-keys/"+created["id"], nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete on node1: got %d %s", r.StatusCode, r.Body)
	}
	for name, cl := range map[string]*servertest.Client{"node2": onB, "node1": onA} {
		if r := cl.Get("/api/v1/company/users"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the deleted key on %s: got %d %s, want 401", name, r.StatusCode, r.Body)
		}
	}
	if r := withKey(b, second).Get("/api/v1/company"); r.StatusCode != http.StatusOK {
		t.Errorf("the other key on node2 after the deletion: got %d", r.StatusCode)
	}
}
