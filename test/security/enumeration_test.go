package security_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/server"
)

// Threat: learning who has an account — from the status, the body, a
// header or the time of the answer to a login or a reset request.
//
// The timing tests run with the real argon2id parameters, so that a path
// that skipped the hash (an unknown email answered at once) would stand
// out by the whole cost of a hash; they compare medians of many samples
// taken in turn, so that a busy machine slows every kind alike.

// samples per kind of account for a timed comparison; each is one
// request. The pages answer through the same service calls as the API,
// so their answers are compared (status, headers, body) on fewer samples,
// untimed.
const samples = 40

// accountKinds are the kinds of address an attacker may try.
var accountKinds = []string{"unknown", "wrong password", "disabled", "invited"}

// enumerationWorld is a server with the real hashing cost and, for each
// kind of account, enough addresses for two rounds of samples that no
// account is ever throttled (four tries each, below the five free
// failures).
func enumerationWorld(t *testing.T, db servertest.Option) (*world, map[string][]string) {
	t.Helper()
	w := newWorld(t, db, servertest.WithOptions(func(o *server.Options) { o.HashParams = password.DefaultParams }))
	n := 2*samples/4 + 1
	servertest.SeedUsers(t, w.s, w.acme, "known", n)
	servertest.SeedUsers(t, w.s, w.acme, "disabled", n)
	err := w.s.App.DB.Update(t.Context(), func(tx gatehouse.Tx) error {
		var invited []*gatehouse.User
		for i := range n {
			u, err := tx.UserByEmail(fmt.Sprintf("disabled%06d@example.com", i))
			if err != nil {
				return err
			}
			if err := tx.SetUserDisabled(u.ID, tx.Now()); err != nil {
				return err
			}
			invited = append(invited, &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: w.acme, Role: gatehouse.RoleMember,
				Email: fmt.Sprintf("invited%06d@example.com", i), Name: "Invited", CreatedAt: tx.Now()})
		}
		return tx.CreateUsers(invited)
	})
	if err != nil {
		t.Fatal(err)
	}
	emails := map[string][]string{}
	for i := range 2 * samples {
		k := i / 4
		emails["unknown"] = append(emails["unknown"], fmt.Sprintf("nobody%06d@example.com", k))
		emails["wrong password"] = append(emails["wrong password"], fmt.Sprintf("known%06d@example.com", k))
		emails["disabled"] = append(emails["disabled"], fmt.Sprintf("disabled%06d@example.com", k))
		emails["invited"] = append(emails["invited"], fmt.Sprintf("invited%06d@example.com", k))
	}
	return w, emails
}

// answer is what an attacker sees of one response.
type answer struct {
	status  int
	header  string // every header but Date and X-Request-Id, sorted
	body    string // with the email typed replaced by "EMAIL"
	elapsed time.Duration
}

func observe(t *testing.T, email string, do func() *servertest.Response) answer {
	t.Helper()
	start := time.Now()
	r := do()
	elapsed := time.Since(start)
	var h []string
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Date", "X-Request-Id", "Content-Length": // the length follows the email echoed in a form
			continue
		}
		h = append(h, k+": "+strings.Join(vs, ", "))
	}
	slices.Sort(h)
	return answer{status: r.StatusCode, header: strings.Join(h, "\n"), body: strings.ReplaceAll(string(r.Body), email, "EMAIL"), elapsed: elapsed}
}

// secondRound is the addresses of each kind not used by the first round.
func secondRound(emails map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range emails {
		out[k] = v[samples:]
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// compareKinds sends n requests for each kind, in turn and in a shuffled
// order each round, and fails when any kind's answers differ from the
// unknown address's in status, headers or body, or, when timed, in median
// time by more than a quarter (plus 3 ms of noise).
func compareKinds(t *testing.T, what string, emails map[string][]string, n int, timed bool, do func(i int, email string) *servertest.Response) {
	t.Helper()
	if raceBuild && timed {
		t.Logf("%s: answers compared on 8 samples, untimed: the race detector distorts time", what)
		n, timed = 8, false
	}
	times := map[string][]time.Duration{}
	first := map[string]answer{}
	for i := range n {
		kinds := slices.Clone(accountKinds)
		rand.Shuffle(len(kinds), func(a, b int) { kinds[a], kinds[b] = kinds[b], kinds[a] })
		for _, kind := range kinds {
			email := emails[kind][i]
			a := observe(t, email, func() *servertest.Response { return do(i, email) })
			times[kind] = append(times[kind], a.elapsed)
			if f, ok := first[kind]; !ok {
				first[kind] = a
			} else if a.status != f.status || a.body != f.body || a.header != f.header {
				t.Fatalf("%s: %s answers differ between tries:\n%+v\n%+v", what, kind, f, a)
			}
		}
	}
	base := first["unknown"]
	for _, kind := range accountKinds {
		a := first[kind]
		if a.status != base.status || a.body != base.body || a.header != base.header {
			t.Errorf("%s: %s answers unlike an unknown address:\nunknown: %d\n%s\n%s\n%s: %d\n%s\n%s",
				what, kind, base.status, base.header, clip([]byte(base.body)), kind, a.status, a.header, clip([]byte(a.body)))
		}
	}
	if !timed {
		return
	}
	m := map[string]time.Duration{}
	for _, kind := range accountKinds {
		m[kind] = median(times[kind])
	}
	t.Logf("%s: median times %v", what, m)
	for _, kind := range accountKinds {
		hi, lo := max(m[kind], m["unknown"]), min(m[kind], m["unknown"])
		if hi-lo > hi/4+3*time.Millisecond {
			t.Errorf("%s: median time of %s %v, of unknown addresses %v: tells them apart", what, kind, m[kind], m["unknown"])
		}
	}
}

func TestLoginTellsNoOneApart(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w, emails := enumerationWorld(t, db)
		// Answers depend on nothing but the address typed: each request
		// comes from its own client address, so none is throttled.
		addr := func(i int, email string) string { return fmt.Sprintf("10.%d.%d.%d", len(email)%200, i/200, i%200) }
		compareKinds(t, "JSON login", emails, samples, true, func(i int, email string) *servertest.Response {
			return loginAPI(from(w.s.Client(t), addr(i, email)), email, wrongPW)
		})
		compareKinds(t, "login form", secondRound(emails), 8, false, func(i int, email string) *servertest.Response {
			return from(w.s.Client(t), addr(i+samples, email)).PostForm("/login", map[string]string{"email": email, "password": wrongPW})
		})
	})
}

// Throttled accounts: a known address and an unknown one, both blocked,
// answer alike — the block is keyed by the address typed, not the account.
func TestThrottledLoginsTellNoOneApart(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w, _ := enumerationWorld(t, db)
		a := &attacker{w: w}
		blocked := map[string]string{"unknown": "nobody-blocked@example.com", "wrong password": "known000000@example.com",
			"disabled": "disabled000000@example.com", "invited": "invited000000@example.com"}
		for range 5 {
			for _, email := range blocked {
				loginAPI(a.next(t), email, wrongPW)
			}
		}
		emails := map[string][]string{}
		for kind, email := range blocked {
			emails[kind] = slices.Repeat([]string{email}, samples)
		}
		compareKinds(t, "throttled JSON login", emails, samples, true, func(i int, email string) *servertest.Response {
			r := loginAPI(a.next(t), email, wrongPW)
			if r.StatusCode != 429 {
				t.Fatalf("%s: got %d, want 429", email, r.StatusCode)
			}
			r.Header.Del("Retry-After") // seconds left, which moves while the test runs
			return r
		})
	})
}

func TestResetRequestsTellNoOneApart(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w, emails := enumerationWorld(t, db)
		// A known address past its hourly mail cap is answered alike too.
		capped := "known000001@example.com"
		for range 3 {
			w.s.Client(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": capped})
		}
		w.s.WaitQuiet(t)
		emails["wrong password"][0] = capped
		a := &attacker{w: w}
		compareKinds(t, "reset request", emails, samples, true, func(i int, email string) *servertest.Response {
			return a.next(t).Do("POST", "/api/v1/password-reset", map[string]string{"email": email})
		})
		compareKinds(t, "forgot-password form", secondRound(emails), 8, false, func(i int, email string) *servertest.Response {
			return a.next(t).PostForm("/forgot-password", map[string]string{"email": email})
		})
		// No mail went to an address without an active account, and none
		// to the capped one past its three.
		w.s.WaitQuiet(t)
		n := 0
		for _, m := range w.s.SMTP.Messages() {
			for _, to := range m.To {
				if strings.HasPrefix(to, "nobody") || strings.HasPrefix(to, "disabled") {
					t.Errorf("reset mail to %s, which has no active account", to)
				}
				if to == capped {
					n++
				}
			}
		}
		if n != 3 {
			t.Errorf("reset mail to the capped address: got %d, want 3", n)
		}
	})
}
