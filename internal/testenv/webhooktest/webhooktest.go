// Package webhooktest is a real webhook receiver for tests: an HTTP server
// on a loopback port that records every delivery, answers as the test
// says (success, failure, or hanging until the sender gives up), and
// checks each signature with an implementation that is not Gatehouse's:
// the Standard Webhooks reference library for Node (npm standardwebhooks),
// run by Node in testdata/node. .ci/run installs it with npm ci; without
// node or its node_modules the tests that need it skip, and fail with
// CI=true.
package webhooktest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Received is one request the receiver got.
type Received struct {
	Path                     string // the URL's path: several endpoints may share a receiver
	ID, Timestamp, Signature string // the webhook-* headers
	Body                     []byte
	// Payload is the body as the Node library returned it after checking
	// the signature; nil when no secret verified it.
	Payload *Payload
	// VerifiedBy lists the indexes of the receiver's secrets under which
	// the Node library accepted the signature.
	VerifiedBy []int
	// Errors are the Node library's refusals, one per secret that did not
	// verify.
	Errors []string
	At     time.Time
}

// Verified reports whether some secret verified the request.
func (r Received) Verified() bool { return len(r.VerifiedBy) > 0 }

// Payload is the body of a delivery.
type Payload struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Answer is how the receiver answers a request.
type Answer struct {
	Status int // default 200
	// Hang holds the request until the sender gives up (or Release).
	Hang bool
	// Delay answers after this long: a slow receiver.
	Delay time.Duration
	// Header is added to the answer (Retry-After...).
	Header http.Header
}

// Receiver is a webhook receiver on a loopback port.
type Receiver struct {
	URL string

	t        testing.TB
	verifier *verifier
	srv      *http.Server

	mu        sync.Mutex
	changed   *sync.Cond
	secrets   []string
	respond   func(Received) Answer
	received  []Received
	release   chan struct{}
	hanging   int
	hangingAt map[string]int
}

// Start starts a receiver that answers 200; it stops when the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	v := startVerifier(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{URL: "http://" + ln.Addr().String() + "/hooks", t: t, verifier: v, release: make(chan struct{}),
		hangingAt: map[string]int{}}
	r.changed = sync.NewCond(&r.mu)
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	t.Cleanup(func() {
		r.Release()
		r.srv.Close()
	})
	return r
}

// SetSecrets sets the secrets ("whsec_...") a request's signature is
// checked under.
func (r *Receiver) SetSecrets(secrets ...string) {
	r.mu.Lock()
	r.secrets = append([]string(nil), secrets...)
	r.mu.Unlock()
}

// Respond makes f decide every answer from now on; nil answers 200.
func (r *Receiver) Respond(f func(Received) Answer) {
	r.mu.Lock()
	r.respond = f
	r.mu.Unlock()
}

// Release lets every hanging request go (answered 200).
func (r *Receiver) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	rec := Received{Path: req.URL.Path, ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
		Signature: req.Header.Get("webhook-signature"), Body: body, At: time.Now()}
	r.mu.Lock()
	secrets, respond := r.secrets, r.respond
	r.mu.Unlock()
	for i, s := range secrets {
		payload, err := r.verifier.verify(s, req.Header, body)
		if err != nil {
			rec.Errors = append(rec.Errors, err.Error())
			continue
		}
		rec.VerifiedBy = append(rec.VerifiedBy, i)
		rec.Payload = payload
	}
	a := Answer{Status: http.StatusOK}
	if respond != nil {
		a = respond(rec)
	}
	r.mu.Lock()
	r.received = append(r.received, rec)
	if a.Hang {
		r.hanging++
		r.hangingAt[rec.Path]++
	}
	r.changed.Broadcast()
	release := r.release
	r.mu.Unlock()
	if a.Hang {
		select {
		case <-req.Context().Done():
		case <-release:
		}
		r.mu.Lock()
		r.hanging--
		r.hangingAt[rec.Path]--
		r.changed.Broadcast()
		r.mu.Unlock()
		return
	}
	if a.Delay > 0 {
		select {
		case <-req.Context().Done():
			return
		case <-time.After(a.Delay):
		}
	}
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	w.WriteHeader(a.Status)
}

// Received returns every request so far.
func (r *Receiver) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// Hanging returns how many requests are being held.
func (r *Receiver) Hanging() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hanging
}

// HangingAt returns how many requests to path are being held.
func (r *Receiver) HangingAt(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hangingAt[path]
}

// WaitFor waits until ok holds of the requests received, and returns them;
// it fails the test after d.
func (r *Receiver) WaitFor(d time.Duration, what string, ok func([]Received) bool) []Received {
	r.t.Helper()
	rs, met := r.wait(d, func(rs []Received, _ int) bool { return ok(rs) })
	if !met {
		r.t.Fatalf("after %v the receiver has not got %s; it got %d requests: %s", d, what, len(rs), summary(rs))
	}
	return rs
}

// Await waits up to d until ok holds of the requests received and the
// number of requests held, and reports whether it did.
func (r *Receiver) Await(d time.Duration, ok func(rs []Received, hanging int) bool) bool {
	_, met := r.wait(d, ok)
	return met
}

// wait waits up to d until ok holds, and returns the requests received
// when it did or when d passed.
func (r *Receiver) wait(d time.Duration, ok func(rs []Received, hanging int) bool) ([]Received, bool) {
	deadline := time.Now().Add(d)
	stop := time.AfterFunc(d, r.Wake)
	defer stop.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	met := ok(r.received, r.hanging)
	for !met && !time.Now().After(deadline) {
		r.changed.Wait()
		met = ok(r.received, r.hanging)
	}
	return append([]Received(nil), r.received...), met
}

// Wake makes waiters look again (when what they wait for is outside the
// receiver, as Hanging is after a sender gives up).
func (r *Receiver) Wake() {
	r.mu.Lock()
	r.changed.Broadcast()
	r.mu.Unlock()
}

func summary(rs []Received) string {
	s := ""
	for i, x := range rs {
		if i == 10 {
			return s + " ..."
		}
		typ := "?"
		if x.Payload != nil {
			typ = x.Payload.Type
		}
		s += fmt.Sprintf(" [%s %s verified=%v %v]", x.ID, typ, x.Verified(), x.Errors)
	}
	return s
}

// --- The Node verifier ---

type verifier struct {
	mu  sync.Mutex
	in  io.Writer
	out *bufio.Scanner
}

var (
	verifierOnce sync.Once
	shared       *verifier
	verifierErr  error
)

// startVerifier starts the Node process once per test binary.
func startVerifier(t testing.TB) *verifier {
	t.Helper()
	dir := nodeDir()
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Need(t, "node is not installed (Debian: apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		testenv.Need(t, "the Standard Webhooks library for Node is not installed: run npm ci in "+dir)
	}
	verifierOnce.Do(func() {
		cmd := exec.Command("node", "verify.js")
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			verifierErr = err
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			verifierErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			verifierErr = err
			return
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		shared = &verifier{in: in, out: sc}
	})
	if verifierErr != nil {
		t.Fatalf("start the Node verifier: %v", verifierErr)
	}
	return shared
}

// nodeDir is testdata/node beside this file.
func nodeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "node")
}

// verify asks the Node library whether the request's signature verifies
// under secret, and returns the payload it parsed.
func (v *verifier) verify(secret string, h http.Header, body []byte) (*Payload, error) {
	req, _ := json.Marshal(map[string]any{"secret": secret, "body": string(body), "headers": map[string]string{
		"webhook-id": h.Get("webhook-id"), "webhook-timestamp": h.Get("webhook-timestamp"),
		"webhook-signature": h.Get("webhook-signature")}})
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.in.Write(append(req, '\n')); err != nil {
		return nil, err
	}
	if !v.out.Scan() {
		return nil, fmt.Errorf("the Node verifier stopped: %v", v.out.Err())
	}
	var ans struct {
		OK      bool     `json:"ok"`
		Error   string   `json:"error"`
		Payload *Payload `json:"payload"`
	}
	if err := json.Unmarshal(v.out.Bytes(), &ans); err != nil {
		return nil, err
	}
	if !ans.OK {
		return nil, fmt.Errorf("standardwebhooks: %s", ans.Error)
	}
	return ans.Payload, nil
}
