package api_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// wantThrottled fails unless r is 429 too_many_attempts with a Retry-After
// of at most max seconds, and returns the Retry-After.
func wantThrottled(t *testing.T, what string, r *servertest.Response, max int) int {
	t.Helper()
	wantProblem(t, what, r, 429, "too_many_attempts")
	after, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || after < 1 || after > max {
		t.Fatalf("%s: Retry-After %q, want 1 to %d seconds", what, r.Header.Get("Retry-After"), max)
	}
	return after
}

func TestWrongPasswordAndUnknownEmailLookTheSame(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	known := login(c, "ada@example.com", "wrong wrong wrong")
	unknown := login(c, "ghost@example.com", "wrong wrong wrong")
	wantProblem(t, "wrong password", known, 401, "invalid_credentials")
	wantProblem(t, "unknown email", unknown, 401, "invalid_credentials")
	if string(known.Body) != string(unknown.Body) {
		t.Errorf("bodies differ:\nwrong password: %s\nunknown email:  %s", known.Body, unknown.Body)
	}
	malformed := login(c, "not an email", "wrong wrong wrong")
	wantProblem(t, "malformed email", malformed, 401, "invalid_credentials")
}

// TestAccountThrottleAnswers: a blocked account (auth.TestThrottle has the
// rule) answers 429 with Retry-After, and the answer for an unknown email
// is the same, byte for byte.
func TestAccountThrottleAnswers(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	var bodies []string
	for _, email := range []string{"ada@example.com", "ghost@example.com"} {
		for i := range 5 {
			wantProblem(t, fmt.Sprintf("%s, wrong password %d", email, i+1), login(c, email, "wrong wrong wrong"), 401, "invalid_credentials")
		}
		r := login(c, email, "wrong wrong wrong")
		wantThrottled(t, email+" after 5 wrong passwords", r, 30)
		bodies = append(bodies, string(r.Body))
	}
	if bodies[0] != bodies[1] {
		t.Errorf("throttled answers differ:\nknown:   %s\nunknown: %s", bodies[0], bodies[1])
	}
}

// TestAddressThrottle: the address throttle (auth.TestThrottle has the
// rule) goes by the address the connection comes from, whatever
// X-Forwarded-For says unless the proxy is trusted.
func TestAddressThrottle(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	// A hundred failures from one address, spread over many accounts so
	// that no account is blocked.
	for i := range 100 {
		email := fmt.Sprintf("guess%d@example.com", i/4)
		wantProblem(t, fmt.Sprintf("failure %d", i+1), login(c, email, "wrong wrong wrong"), 401, "invalid_credentials")
	}
	wantThrottled(t, "the address after 100 failures", login(c, "ada@example.com", goodPW), 60)

	// A client behind a proxy that is not trusted cannot pick its address.
	c.Header["X-Forwarded-For"] = "198.51.100.7"
	wantThrottled(t, "with a forged X-Forwarded-For", login(c, "ada@example.com", goodPW), 60)
}

func TestTrustedProxyAddressesAreThrottledApart(t *testing.T) {
	s := startAcme(t, servertest.WithOptions(func(o *server.Options) {
		o.TrustedProxies = mustProxies(t, "127.0.0.1")
	}))
	c := s.Client(t)
	c.Header["X-Forwarded-For"] = "198.51.100.7"
	for i := range 100 {
		login(c, fmt.Sprintf("guess%d@example.com", i/4), "wrong wrong wrong")
	}
	wantThrottled(t, "the address after 100 failures", login(c, "ada@example.com", goodPW), 60)
	c.Header["X-Forwarded-For"] = "198.51.100.8"
	c.Login("ada@example.com", goodPW)
}

func mustProxies(t *testing.T, s string) httpx.Proxies {
	t.Helper()
	ps, err := httpx.ParseProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
