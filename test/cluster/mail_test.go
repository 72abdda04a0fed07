package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// requestResets posts one forgot-password request per email, spread over
// the nodes, each from its own client address (the nodes trust 127.0.0.1
// as a proxy), so that the per-address budget does not drop any.
func requestResets(t *testing.T, c *cluster, emails []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(emails))
	sem := make(chan struct{}, 8)
	for i, email := range emails {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			n := c.Nodes[i%len(c.Nodes)]
			xff := fmt.Sprintf("198.51.%d.%d", 100+i/250, 1+i%250)
			status, _, body := postJSONHeader(n.URL+"/api/v1/password-reset", map[string]string{"email": email},
				map[string]string{"X-Forwarded-For": xff})
			if status != http.StatusAccepted {
				errs <- fmt.Sprintf("reset for %s on %s: got %d %s, want 202", email, n.Name, status, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// waitOutboxDone waits until the outbox holds want messages and none is
// waiting, and returns how many were sent.
func waitOutboxDone(t *testing.T, c *cluster, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		total := c.Int(`SELECT count(*) FROM outbox`)
		sent := c.Int(`SELECT count(*) FROM outbox WHERE sent_at <> 0`)
		if total == want && sent == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the outbox holds %d messages, %d sent; want %d, all sent", d, total, sent, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// messageIDs counts the messages the SMTP server received by Message-ID.
func messageIDs(msgs []smtptest.Mail) map[string]int {
	ids := map[string]int{}
	for _, m := range msgs {
		ids[m.Header.Get("Message-ID")]++
	}
	return ids
}

// deliveredBy counts the "mail delivered" lines of each node's log.
func deliveredBy(nodes []*node) map[string]int {
	by := map[string]int{}
	for _, n := range nodes {
		by[n.Name] = strings.Count(n.Log(), `msg="mail delivered"`)
	}
	return by
}

func emailsFor(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%02d@example.com", prefix, i))
	}
	return out
}

// Every node runs a mail worker on the one outbox; each message is claimed
// by one of them (FOR UPDATE SKIP LOCKED) and reaches the SMTP server
// exactly once.
func TestMailDeliveredOnceByAllNodes(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 3, flags: []string{"--trusted-proxies", "127.0.0.1"},
		smtp: []smtptest.Option{smtptest.WithSlowData(20 * time.Millisecond)}})
	users := emailsFor("mail", 20)
	c.CreateUsers(users...)
	// Three requests each: the most reset mails one address gets an hour.
	var requests []string
	for range 3 {
		requests = append(requests, users...)
	}
	requestResets(t, c, requests)
	waitOutboxDone(t, c, len(requests), 90*time.Second)

	msgs := c.SMTP.Messages()
	if len(msgs) != len(requests) {
		t.Errorf("the SMTP server received %d messages, want %d", len(msgs), len(requests))
	}
	for id, n := range messageIDs(msgs) {
		if n != 1 {
			t.Errorf("message %s delivered %d times, want once", id, n)
		}
	}
	by := deliveredBy(c.Nodes)
	t.Logf("messages delivered by each node: %v", by)
	busy := 0
	for _, n := range by {
		if n > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("only %d node delivered mail (%v); want the work shared", busy, by)
	}
}

// A node killed while it delivers leaves the messages it had claimed to
// the other nodes once its lease ends: nothing queued is lost.
func TestMailOfKilledNodeDeliveredByOthers(t *testing.T) {
	// Each message takes two seconds at the SMTP server, so that node1 is
	// surely in the middle of its batch when it is killed.
	c := newCluster(t, clusterConfig{nodes: 3, flags: []string{"--trusted-proxies", "127.0.0.1"},
		smtp: []smtptest.Option{smtptest.WithSlowData(2 * time.Second)}})
	first, others := c.Nodes[0], c.Nodes[1:]
	first.Start()
	first.WaitReady(60 * time.Second)
	users := emailsFor("killed", 16)
	c.CreateUsers(users...)
	requestResets(t, &cluster{t: t, Nodes: []*node{first}}, users)

	// node1 alone runs: wait until it has claimed every message and the
	// SMTP server has accepted at least one, then start the others and
	// kill node1 in the middle of its batch.
	deadline := time.Now().Add(60 * time.Second)
	for c.Int(`SELECT count(*) FROM outbox WHERE lease_until > 0 OR sent_at <> 0`) < len(users) || len(c.SMTP.Messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("node1 did not claim the %d messages in time", len(users))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range others {
		n.Start()
	}
	first.Kill()
	atKill := len(c.SMTP.Messages())
	for _, n := range others {
		n.WaitReady(60 * time.Second)
	}
	left := c.Int(`SELECT count(*) FROM outbox WHERE sent_at = 0`)
	if left == 0 {
		t.Fatalf("node1 delivered everything before it was killed; the test proves nothing")
	}
	t.Logf("node1 killed with %d of %d messages accepted by the SMTP server, %d not marked sent", atKill, len(users), left)

	// The claims of node1 last five minutes (mail.DefaultLease); instead of
	// waiting, move them to their end, as the clock would.
	c.Exec(`UPDATE outbox SET lease_until = $1 WHERE sent_at = 0 AND lease_until > 0`, time.Now().Add(-time.Second).UnixMilli())
	waitOutboxDone(t, c, len(users), 90*time.Second)

	// Every message arrived; those node1 was sending when it died may have
	// arrived twice (delivery is at least once), no other.
	ids := messageIDs(c.SMTP.Messages())
	if len(ids) != len(users) {
		t.Errorf("the SMTP server received %d distinct messages, want %d", len(ids), len(users))
	}
	twice := 0
	for _, n := range ids {
		if n > 1 {
			twice++
		}
	}
	if twice > 4 { // mail.DefaultConcurrency messages were in flight at most
		t.Errorf("%d messages arrived more than once, want at most the 4 in flight when node1 died", twice)
	}
	if by := deliveredBy(others); by["node2"]+by["node3"] == 0 {
		t.Errorf("node2 and node3 delivered nothing (%v); want them to take node1's mail", by)
	}
}
