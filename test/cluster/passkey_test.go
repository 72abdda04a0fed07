package cluster

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/passkeytest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// passkeyOrigin is the cluster's public URL: the origin the browser (here
// a software authenticator) is on, whichever node answers it.
const passkeyOrigin = "https://login.example.test"

// beginOn asks a node for a ceremony's options.
func beginOn(t *testing.T, cl *servertest.Client, path string, body any) []byte {
	t.Helper()
	r := cl.Do("POST", path, body)
	var v struct {
		Options json.RawMessage `json:"options"`
	}
	if r.StatusCode != http.StatusOK || json.Unmarshal(r.Body, &v) != nil || len(v.Options) == 0 {
		t.Fatalf("POST %s: got %d %s, want 200 with options", path, r.StatusCode, r.Body)
	}
	return v.Options
}

// Each passkey ceremony begun on one node finishes on another (the
// ceremony is in the database), and an answer is accepted once across
// nodes: a replay on the other node, and the same answer sent to both
// nodes at once, sign in once.
func TestPasskeyAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 2, flags: []string{"--public-url", passkeyOrigin}})
	a, b := c.Nodes[0], c.Nodes[1]
	email := c.CreateUser("passkey@example.com")
	key := passkeytest.New(passkeyOrigin)

	// Added: begun on node1, finished on node2.
	token := a.Client(t).Login(email, password)
	onA, onB := a.Client(t), b.Client(t)
	onA.Token, onB.Token = token, token
	answer, _, err := key.Create(beginOn(t, onA, "/api/v1/me/passkeys/begin", nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := onB.Do("POST", "/api/v1/me/passkeys", map[string]any{"name": "Laptop", "credential": json.RawMessage(answer)}); r.StatusCode != http.StatusCreated {
		t.Fatalf("finish registration on node2: got %d %s, want 201", r.StatusCode, r.Body)
	}

	// A sign-in with the passkey alone: begun on node2, finished on node1;
	// the same answer again on node2 is refused.
	answer, err = key.Get(beginOn(t, b.Client(t), "/api/v1/login/passkey/begin", nil))
	if err != nil {
		t.Fatal(err)
	}
	r := a.Client(t).Do("POST", "/api/v1/login/passkey", map[string]any{"credential": json.RawMessage(answer)})
	if r.StatusCode != http.StatusOK || r.Str(t, "status") != auth.StatusAuthenticated {
		t.Fatalf("finish sign-in on node1: got %d %s, want authenticated", r.StatusCode, r.Body)
	}
	session := b.Client(t)
	session.Token = r.Str(t, "session_token")
	if r := session.Get("/api/v1/me"); r.StatusCode != http.StatusOK {
		t.Errorf("the passkey's session on node2: got %d %s", r.StatusCode, r.Body)
	}
	if r := b.Client(t).Do("POST", "/api/v1/login/passkey", map[string]any{"credential": json.RawMessage(answer)}); r.StatusCode != http.StatusUnauthorized || r.Code(t) != "invalid_passkey" {
		t.Errorf("the same answer on node2: got %d %s, want 401 invalid_passkey", r.StatusCode, r.Body)
	}

	// The second factor: the password on node1, begun on node2, finished
	// on node1.
	r = a.Client(t).Do("POST", "/api/v1/login", map[string]string{"email": email, "password": password})
	if r.Str(t, "status") != auth.StatusPasskeyRequired {
		t.Fatalf("password: got %d %s, want passkey_required", r.StatusCode, r.Body)
	}
	challenge := r.Str(t, "challenge")
	answer, err = key.Get(beginOn(t, b.Client(t), "/api/v1/login/passkey-2fa/begin", map[string]string{"challenge": challenge}))
	if err != nil {
		t.Fatal(err)
	}
	r = a.Client(t).Do("POST", "/api/v1/login/passkey-2fa", map[string]any{"challenge": challenge, "credential": json.RawMessage(answer)})
	if r.Str(t, "status") != auth.StatusAuthenticated {
		t.Fatalf("finish the second factor on node1: got %d %s, want authenticated", r.StatusCode, r.Body)
	}

	// One answer sent to both nodes at once: one sign-in.
	for round := range 3 {
		answer, err = key.Get(beginOn(t, a.Client(t), "/api/v1/login/passkey/begin", nil))
		if err != nil {
			t.Fatal(err)
		}
		statuses := make([]int, 4)
		var wg sync.WaitGroup
		for i := range statuses {
			n := c.Nodes[i%2]
			cl := n.Client(t)
			wg.Go(func() {
				statuses[i] = cl.Do("POST", "/api/v1/login/passkey", map[string]any{"credential": json.RawMessage(answer)}).StatusCode
			})
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			if s == http.StatusOK {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("round %d: one answer on two nodes four times: statuses %v, want exactly one 200", round, statuses)
		}
	}
}
