//go:build unix

package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// BenchmarkForwardAuth is nginx's auth_request as the forward-auth scenario
// of gatehouse-bench sends it, GET /authz/auth-request with X-Original-URL
// and the session cookie, through the whole handler (every middleware, the
// API, ForwardAuth, the store) without a network, so that a CPU profile
// shows the check's own costs; "bare" answers the same six identity
// headers, as the bench's bare-auth handler does.
//
//	go test ./server -run '^$' -bench ForwardAuth/sqlite -benchtime 20000x -cpuprofile cpu.out
func BenchmarkForwardAuth(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s, token := signedInAda(b, db)
		h, bare := forwardAuthHandlers(b, s, token)
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		req := authRequest(ctx, token)

		for _, bc := range []struct {
			name string
			h    http.Handler
		}{{"bare", bare}, {"gatehouse", h}} {
			b.Run(bc.name, func(b *testing.B) { serveEach(b, bc.h, req) })
		}
	})
}

// BenchmarkForwardAuthHTTP is BenchmarkForwardAuth over loopback TCP
// (benchHTTP), on SQLite, as nginx asks: what net/http costs beside the
// check (the headers of the answer, copied, sorted and written).
//
//	go test ./server -run '^$' -bench ForwardAuthHTTP/gatehouse -benchtime 32000x -cpuprofile cpu.out
func BenchmarkForwardAuthHTTP(b *testing.B) {
	s, token := signedInAda(b)
	h, bare := forwardAuthHandlers(b, s, token)
	benchHTTP(b, bare, h, "/authz/auth-request", authRequest(context.Background(), token).Header)
}

// authRequest is nginx's auth_request for a page of app.bench.example
// with the session cookie of token.
func authRequest(ctx context.Context, token string) *http.Request {
	req := httptest.NewRequestWithContext(ctx, "GET", "/authz/auth-request", nil)
	req.Header.Set("X-Original-URL", "https://app.bench.example/page")
	req.Header.Set("X-Original-Method", "GET")
	req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: token})
	return req
}

// forwardAuthHandlers registers an app for app.bench.example in Ada's
// company, and returns the site's handler and the bare handler beside
// it: one that only looks for the session cookie and answers Ada's
// identity headers, as the bench's bare-auth handler does.
func forwardAuthHandlers(b *testing.B, s *servertest.Server, token string) (gatehouse, bare http.Handler) {
	admin, err := s.Service().Authenticate(context.Background(), token)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Service().CreateApplication(context.Background(), admin, auth.NewApplication{Name: "Wiki",
		ForwardAuthHosts: []string{"app.bench.example"}}, auth.Client{}); err != nil {
		b.Fatal(err)
	}
	h := handler(b, s)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, authRequest(context.Background(), token))
	if rec.Code != 200 || rec.Header().Get("Remote-Email") != "ada@example.com" {
		b.Fatalf("GET /authz/auth-request: got %d %v %s, want 200 with Ada's headers", rec.Code, rec.Header(), rec.Body)
	}
	identity := rec.Header()
	return h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("gatehouse_session"); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		for _, name := range []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups", "Remote-User-Id", "Remote-Company-Id"} {
			w.Header().Set(name, identity.Get(name))
		}
		w.WriteHeader(http.StatusOK)
	})
}
