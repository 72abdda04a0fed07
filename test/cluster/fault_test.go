package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// faultLoad drives two nodes while their database goes away and returns,
// and remembers every write the nodes acknowledged.
type faultLoad struct {
	c     *cluster
	stop  chan struct{}
	wg    sync.WaitGroup
	phase atomic.Int32 // 0 before the outage, 1 during, 2 after

	mu       sync.Mutex
	sessions []string       // tokens of logins answered 200
	resets   map[string]int // reset requests answered 202, by email
	created  []string       // users whose `company create` exited 0
	counts   map[string]int // "op status", by phase
	bad      []string       // answers that must never happen
}

// allowed answers: success, or 503 with code unavailable and Retry-After.
// A login may also meet 429: a login cut off by the outage after its
// attempt was reserved leaves that attempt counted, as a failure would.
func (l *faultLoad) record(op string, status int, header http.Header, body []byte, ok ...int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[fmt.Sprintf("%d %s %d", l.phase.Load(), op, status)]++
	for _, s := range ok {
		if status == s {
			return true
		}
	}
	if status == http.StatusServiceUnavailable {
		var p struct{ Code string }
		json.Unmarshal(body, &p)
		if p.Code != "unavailable" || header.Get("Retry-After") == "" {
			l.addBad(fmt.Sprintf("%s: 503 without code unavailable and Retry-After: %s %v", op, body, header))
		}
		return false
	}
	if op == "login" && status == http.StatusTooManyRequests {
		return false
	}
	l.addBad(fmt.Sprintf("%s in phase %d: got %d %s", op, l.phase.Load(), status, body))
	return false
}

// waitFor waits until the load has had each of the answers, keyed as in
// counts ("2 login 200": a login answered 200 in phase 2).
func (l *faultLoad) waitFor(t *testing.T, answers ...string) {
	t.Helper()
	testenv.WaitUntil(t, fmt.Sprintf("the answers %q", answers), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, a := range answers {
			if l.counts[a] == 0 {
				return false
			}
		}
		return true
	})
}

// addBad keeps the first answers that must not happen; l.mu is held.
func (l *faultLoad) addBad(s string) {
	if len(l.bad) < 20 {
		l.bad = append(l.bad, s)
	}
}

func (l *faultLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// run starts the load's workers: logins, session checks with acknowledged
// tokens, reset requests and `gatehouse company create`.
func (l *faultLoad) run(loginUsers, resetUsers []string) {
	nodes := l.c.Nodes
	for w := range 3 {
		l.wg.Go(func() { // logins, then a session check on the other node
			for i := w; !l.stopped(); i += 3 {
				email := loginUsers[i%len(loginUsers)]
				status, h, body := postJSONHeader(nodes[i%2].URL+"/api/v1/login", map[string]string{"email": email, "password": password}, nil)
				if l.record("login", status, h, body, http.StatusOK) {
					var res struct {
						SessionToken string `json:"session_token"`
					}
					json.Unmarshal(body, &res)
					l.mu.Lock()
					l.sessions = append(l.sessions, res.SessionToken)
					l.mu.Unlock()
				}
				l.checkSession(nodes[(i+1)%2].URL)
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	l.wg.Go(func() { // reset requests: at most 3 per address (the hourly cap), a third of them in each phase
		perPhase := 3 * len(resetUsers) / 3
		for i := 0; !l.stopped() && i < 3*len(resetUsers); i++ {
			for i >= perPhase*int(l.phase.Load()+1) && !l.stopped() {
				time.Sleep(50 * time.Millisecond)
			}
			email := resetUsers[i%len(resetUsers)]
			status, h, body := postJSONHeader(nodes[i%2].URL+"/api/v1/password-reset", map[string]string{"email": email},
				map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", 1+i%250)})
			if l.record("reset", status, h, body, http.StatusAccepted) {
				l.mu.Lock()
				l.resets[email]++
				l.mu.Unlock()
			}
			time.Sleep(150 * time.Millisecond)
		}
	})
	l.wg.Go(func() { // operators creating companies with the command line
		for i := 0; !l.stopped(); i++ {
			email := fmt.Sprintf("created%03d@example.com", i)
			if _, err := l.c.Command(password+"\n", "company", "create", "--name", fmt.Sprintf("Created %d", i),
				"--admin-email", email, "--password-stdin", "--db-connect-timeout", "2s"); err == nil {
				l.mu.Lock()
				l.created = append(l.created, email)
				l.mu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// checkSession checks a random acknowledged session on the node.
func (l *faultLoad) checkSession(base string) {
	l.mu.Lock()
	if len(l.sessions) == 0 {
		l.mu.Unlock()
		return
	}
	token := l.sessions[len(l.sessions)*7/10]
	l.mu.Unlock()
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		l.record("me", 0, nil, []byte(err.Error()))
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	l.record("me", resp.StatusCode, resp.Header, body, http.StatusOK)
}

// When PostgreSQL restarts under load the nodes answer 503 with
// Retry-After while it is away (and /readyz fails, so a balancer stops
// sending them traffic), recover by themselves when it is back, and every
// write they acknowledged is there afterwards.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := startPrivatePostgres(t)
	c := startCluster(t, clusterConfig{nodes: 2, dbURL: pg.URL, flags: []string{"--trusted-proxies", "127.0.0.1"}})
	loginUsers, resetUsers := emailsFor("login", 6), emailsFor("reset", 10)
	c.CreateUsers(append(loginUsers, resetUsers...)...)

	l := &faultLoad{c: c, stop: make(chan struct{}), resets: map[string]int{}, counts: map[string]int{}}
	l.run(loginUsers, resetUsers)
	defer func() {
		select {
		case <-l.stop:
		default:
			close(l.stop)
			l.wg.Wait()
		}
	}()
	l.waitFor(t, "0 login 200", "0 me 200", "0 reset 202")
	token := c.Nodes[0].Client(t).Login(loginUsers[0], password)

	// The database goes away.
	l.phase.Store(1)
	pg.Stop()
	for _, n := range c.Nodes {
		waitStatus(t, n.URL+"/readyz", http.StatusServiceUnavailable, 10*time.Second)
		checkUnavailable(t, n, token)
	}
	l.waitFor(t, "1 login 503")

	// It comes back; the nodes were not restarted.
	pg.Start()
	l.phase.Store(2)
	for _, n := range c.Nodes {
		waitStatus(t, n.URL+"/readyz", http.StatusOK, 30*time.Second)
		if !n.Running() {
			t.Fatalf("%s exited during the outage", n.Name)
		}
	}
	l.waitFor(t, "2 login 200", "2 me 200", "2 reset 202")
	close(l.stop)
	l.wg.Wait()

	t.Logf("answers by phase (0 before, 1 during, 2 after the outage), operation and status: %v", l.counts)
	t.Logf("acknowledged: %d sessions, %d reset requests, %d companies created", len(l.sessions), sum(l.resets), len(l.created))
	for _, b := range l.bad {
		t.Error(b)
	}
	for _, op := range []string{"login 200", "me 200", "reset 202"} {
		if l.counts["2 "+op] == 0 {
			t.Errorf("no %q after the database came back: the nodes did not recover (%v)", op, l.counts)
		}
	}
	if l.counts["1 login 503"]+l.counts["1 me 503"] == 0 {
		t.Errorf("no 503 during the outage: the test did not catch the database away (%v)", l.counts)
	}

	// Nothing acknowledged was lost.
	for _, tok := range l.sessions {
		for _, n := range c.Nodes {
			cl := n.Client(t)
			cl.Token = tok
			if r := cl.Get("/api/v1/me"); r.StatusCode != http.StatusOK {
				t.Errorf("an acknowledged session on %s: got %d %s, want 200", n.Name, r.StatusCode, r.Body)
			}
		}
	}
	for _, email := range l.created {
		c.Nodes[1].Client(t).Login(email, password)
	}
	for email, n := range l.resets {
		deadline := time.Now().Add(60 * time.Second)
		for countTo(c, email) < n {
			if time.Now().After(deadline) {
				t.Errorf("%d reset requests for %s answered 202, %d mails arrived", n, email, countTo(c, email))
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, n := range c.Nodes {
		if strings.Contains(n.Log(), `msg="internal error"`) {
			t.Errorf("%s answered an internal error:\n%s", n.Name, grepLines(n.Log(), "internal error", 5))
		}
	}
}

// checkUnavailable checks that, with the database away, the API and the
// pages answer 503 with Retry-After and the API's problem code.
func checkUnavailable(t *testing.T, n *node, token string) {
	t.Helper()
	cl := n.Client(t)
	cl.Token = token
	r := cl.Get("/api/v1/me")
	if r.StatusCode != http.StatusServiceUnavailable || r.Code(t) != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("GET /api/v1/me on %s with the database away: got %d %s (Retry-After %q), want 503 unavailable with Retry-After",
			n.Name, r.StatusCode, r.Body, r.Header.Get("Retry-After"))
	}
	page := n.Client(t)
	page.Header["Cookie"] = "gatehouse_session=" + token
	r = page.Get("/settings/password")
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("GET /settings/password on %s with the database away: got %d (Retry-After %q), want 503 with Retry-After",
			n.Name, r.StatusCode, r.Header.Get("Retry-After"))
	}
}

// waitStatus polls url until it answers want.
func waitStatus(t *testing.T, url string, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got, err := getStatus(url)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: got %d (%v) for %v, want %d", url, got, err, d, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countTo(c *cluster, email string) int {
	n := 0
	for _, m := range c.SMTP.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, email) {
				n++
			}
		}
	}
	return n
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func grepLines(s, substr string, max int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) && len(out) < max {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// A statement stuck behind a lock ends at --db-statement-timeout and the
// request answers 503 with Retry-After, instead of holding the client and
// a pooled connection for as long as the lock lasts.
func TestStatementTimeoutAnswers503(t *testing.T) {
	c := startCluster(t, clusterConfig{nodes: 1, flags: []string{"--db-statement-timeout", "1s"}})
	email := c.CreateUser("stuck@example.com")
	ctx := t.Context()
	tx, err := c.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE throttles IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, h, body := postJSONHeader(c.Nodes[0].URL+"/api/v1/login", map[string]string{"email": email, "password": password}, nil)
	took := time.Since(start)
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) || h.Get("Retry-After") == "" {
		t.Errorf("login behind a lock: got %d %s (Retry-After %q), want 503 unavailable with Retry-After", status, body, h.Get("Retry-After"))
	}
	if took > 10*time.Second {
		t.Errorf("login behind a lock took %v, want about the 1s statement timeout", took)
	}
	tx.Rollback()
	c.Nodes[0].Client(t).Login(email, password)
}
