package cluster

import (
	"encoding/json"
	"fmt"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/webhooktest"
)

// webhookFlags let the nodes deliver to the test's receiver on loopback.
var webhookFlags = []string{"--webhook-allow-private"}

// registerOperatorWebhook registers an endpoint for every company's events
// with `gatehouse webhook create`, and returns its secret.
func registerOperatorWebhook(t *testing.T, c *cluster, url string) string {
	t.Helper()
	out, err := c.Command("", append([]string{"webhook", "create", "--url", url}, webhookFlags...)...)
	if err != nil {
		t.Fatalf("webhook create: %v", err)
	}
	var created struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("webhook create printed %q, want {\"id\",\"secret\"}", out)
	}
	return created.Secret
}

// adminToken creates a company whose admin is email and logs in on n.
func adminToken(t *testing.T, c *cluster, n *node, email string) string {
	t.Helper()
	c.CreateUser(email)
	return n.Client(t).Login(email, password)
}

// invite invites a user through n's API.
func invite(t *testing.T, n *node, token, email string) {
	t.Helper()
	status, _, body := postJSONHeader(n.URL+"/api/v1/company/users", map[string]string{"email": email, "name": "Invited"},
		map[string]string{"Authorization": "Bearer " + token})
	if status != http.StatusCreated {
		t.Fatalf("invite %s on %s: got %d %s", email, n.Name, status, body)
	}
}

var deliveredMetric = regexp.MustCompile(`(?m)^gatehouse_webhook_attempts_total\{outcome="delivered"\} (\d+)`)

// deliveredByNode reads how many deliveries a node made from its /metrics.
func deliveredByNode(t *testing.T, n *node) int {
	t.Helper()
	resp, err := http.Get(n.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := deliveredMetric.FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// byID counts the requests of each webhook-id, and fails the test for any
// the reference library did not verify.
func byID(t *testing.T, rs []webhooktest.Received) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range rs {
		if !r.Verified() {
			t.Errorf("delivery %s: the reference library refused its signature: %v", r.ID, r.Errors)
		}
		ids[r.ID]++
	}
	return ids
}

// Two nodes on one PostgreSQL share the webhook outbox: each delivery is
// claimed by one of them (FOR UPDATE SKIP LOCKED in a MATERIALIZED CTE),
// and reaches the receiver once.
func TestWebhooksDeliveredOnceByTwoNodes(t *testing.T) {
	r := webhooktest.Start(t)
	// A slow receiver, so that both nodes have deliveries in flight.
	r.Respond(func(webhooktest.Received) webhooktest.Answer { return webhooktest.Answer{Delay: 30 * time.Millisecond} })
	c := startCluster(t, clusterConfig{nodes: 2, flags: webhookFlags})
	r.SetSecrets(registerOperatorWebhook(t, c, r.URL))
	token := adminToken(t, c, c.Nodes[0], "hooks-admin@example.com")
	const n = 40
	for i := range n {
		invite(t, c.Nodes[i%2], token, fmt.Sprintf("invited%02d@example.com", i))
	}
	got := r.WaitFor(90*time.Second, fmt.Sprint(n, " deliveries"), func(rs []webhooktest.Received) bool { return len(rs) >= n })
	ids := byID(t, got)
	if len(ids) != n {
		t.Errorf("the receiver got %d distinct webhook-ids, want %d", len(ids), n)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("webhook-id %s arrived %d times, want once", id, k)
		}
	}
	// Nothing is sent twice later either: every row is marked delivered
	// (a node marks a delivery just after its receiver has it).
	testenv.WaitUntil(t, "every delivery marked delivered", func() bool {
		return c.Int(`SELECT count(*) FROM webhook_deliveries WHERE delivered_at = 0`) == 0
	})
	a, b := deliveredByNode(t, c.Nodes[0]), deliveredByNode(t, c.Nodes[1])
	t.Logf("deliveries made by node1: %d, node2: %d", a, b)
	if a+b != n {
		t.Errorf("the nodes made %d + %d deliveries, want %d in all", a, b, n)
	}
	if a == 0 || b == 0 {
		t.Errorf("one node made every delivery (%d, %d); want both to share the outbox", a, b)
	}
}

// A node killed with deliveries claimed and in flight (kill -9): nothing
// is lost. The deliveries stay in the database; once their lease ends a
// node started afterwards sends every one, with the same webhook-id, and
// only those that were in flight may arrive twice.
func TestWebhooksSurviveKill9(t *testing.T) {
	r := webhooktest.Start(t)
	r.Respond(func(webhooktest.Received) webhooktest.Answer { return webhooktest.Answer{Hang: true} })
	c := newCluster(t, clusterConfig{nodes: 1, flags: webhookFlags})
	first := c.Nodes[0]
	first.Start()
	first.WaitReady(60 * time.Second)
	r.SetSecrets(registerOperatorWebhook(t, c, r.URL))
	token := adminToken(t, c, first, "kill-admin@example.com")
	const n = 8
	for i := range n {
		invite(t, first, token, fmt.Sprintf("survivor%02d@example.com", i))
	}
	// The node has claimed them and holds 4 requests at the receiver.
	r.Await(60*time.Second, func(rs []webhooktest.Received, hanging int) bool { return hanging >= 4 })
	if claimed := c.Int(`SELECT count(*) FROM webhook_deliveries WHERE lease_until > 0 AND delivered_at = 0`); claimed == 0 {
		t.Fatal("nothing claimed before the kill; the test proves nothing")
	}
	first.Kill()
	r.Respond(nil) // the receiver recovers
	if left := c.Int(`SELECT count(*) FROM webhook_deliveries WHERE delivered_at = 0 AND failed_at = 0`); left != n {
		t.Fatalf("after the kill %d deliveries wait, want all %d", left, n)
	}
	inFlight := len(r.Received())
	// The claims last five minutes (webhook.DefaultLease); instead of
	// waiting, move them to their end, as the clock would.
	c.Exec(`UPDATE webhook_deliveries SET lease_until = $1 WHERE lease_until > 0 AND delivered_at = 0`, time.Now().Add(-time.Second).UnixMilli())
	second := c.newNode("node2", webhookFlags...)
	second.Start()
	second.WaitReady(60 * time.Second)
	got := r.WaitFor(60*time.Second, fmt.Sprint(n, " distinct deliveries"), func(rs []webhooktest.Received) bool {
		ids := map[string]bool{}
		for _, x := range rs {
			ids[x.ID] = true
		}
		return len(ids) == n
	})
	twice := 0
	for _, k := range byID(t, got) {
		if k > 1 {
			twice++
		}
	}
	if twice > inFlight {
		t.Errorf("%d deliveries arrived twice, want at most the %d in flight at the kill", twice, inFlight)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.Int(`SELECT count(*) FROM webhook_deliveries WHERE delivered_at = 0`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the deliveries are not marked delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
