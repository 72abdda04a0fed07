//go:build unix

package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// BenchmarkMe is the session check as the SaaS sends it, GET /api/v1/me
// with a bearer token, through the whole handler (every middleware, the
// API, the store) without a network; "bare" is a net/http handler that
// writes the same answer, the baseline its target is set against. Targets
// and figures are in docs/BENCHMARKS.md.
//
//	go test ./server -run '^$' -bench Me -benchmem -benchtime 100x
func BenchmarkMe(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s, token := signedInAda(b, db)
		h := handler(b, s)
		// As net/http serves it: a context that ends with the connection.
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET /api/v1/me: got %d %s, want 200", rec.Code, rec.Body)
		}
		bare := replayJSON(bytes.Clone(rec.Body.Bytes()))

		for _, bc := range []struct {
			name string
			h    http.Handler
		}{{"bare", bare}, {"gatehouse", h}} {
			b.Run(bc.name, func(b *testing.B) { serveEach(b, bc.h, req) })
		}
	})
}

// handler builds the site's handler as App.Serve does, logging at
// `gatehouse serve`'s default level (info) rather than the test server's
// debug level.
func handler(t testing.TB, s *servertest.Server, configure ...func(*server.Config)) http.Handler {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	a := s.App
	cfg := server.Config{PublicURL: s.URL}
	for _, f := range configure {
		f(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h, err := server.New(a.Service, a.DB, cat, a.Registry, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// signedInAda starts a server on db with Acme's admin Ada signed in, and
// returns her session token: where each benchmark of a signed-in request
// begins.
func signedInAda(b *testing.B, opts ...servertest.Option) (*servertest.Server, string) {
	s := servertest.Start(b, opts...)
	s.Company(b, "Acme", "ada@example.com", testenv.GoodPassword)
	return s, s.Client(b).Login("ada@example.com", testenv.GoodPassword)
}

// replayJSON is the bare handler of a JSON answer: it writes body, as the
// bench's bare handler writes the captured answer.
func replayJSON(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

// cpuTime is the CPU time the process has used. On a shared machine it
// varies less than ns/op, which counts the time other processes run too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serveEach serves req through h once per iteration, each answer a 200,
// and reports the allocations and the processor time an operation.
func serveEach(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	w := &discardWriter{header: http.Header{}}
	cpu := cpuTime()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("got %d, want 200", w.status)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, so that the benchmark measures the handler, not a recorder.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(p), nil
}

// BenchmarkMiddleware is GET /healthz through the whole handler against
// the bare handler that answers the same: what every request of
// Gatehouse pays besides its own handler (request ID and client address,
// metrics, the access log's level check, security headers, cross-origin
// protection, panic recovery, the mux). "behind-proxy" is the same with
// the peer a trusted proxy that names the client in X-Forwarded-For, as
// gatehouse-bench runs it (--trusted-proxies 127.0.0.1).
//
//	go test ./server -run '^$' -bench Middleware -benchmem -cpuprofile cpu.out
func BenchmarkMiddleware(b *testing.B) {
	s := servertest.Start(b)
	h := handler(b, s)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	req := httptest.NewRequestWithContext(ctx, "GET", "/healthz", nil)
	req.RemoteAddr = "192.0.2.7:41000"
	proxies, err := httpx.ParseProxies("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	proxied := handler(b, s, func(c *server.Config) { c.Proxies = proxies })
	proxiedReq := req.Clone(ctx)
	proxiedReq.RemoteAddr = "127.0.0.1:41000"
	proxiedReq.Header.Set("X-Forwarded-For", "198.51.100.7")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
		req  *http.Request
	}{{"bare", bare, req}, {"gatehouse", h, req}, {"gatehouse-behind-proxy", proxied, proxiedReq}} {
		b.Run(bc.name, func(b *testing.B) { serveEach(b, bc.h, bc.req) })
	}
}

// BenchmarkMeParallel is BenchmarkMe's gatehouse side from 64 goroutines
// at once, as the load harness's 64 clients send it: its cpu-ns/op
// against BenchmarkMe's is what the contention of the database pool and
// the store costs, without a network.
func BenchmarkMeParallel(b *testing.B) {
	s, token := signedInAda(b)
	h := handler(b, s)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	b.ReportAllocs()
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := &discardWriter{header: http.Header{}}
		for pb.Next() {
			clear(w.header)
			w.status = 0
			h.ServeHTTP(w, req)
			if w.status != 200 {
				b.Errorf("got %d, want 200", w.status)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMeHTTP is BenchmarkMe over loopback TCP (benchHTTP): "bare"
// writes the answer Gatehouse gave, headers and body, as gatehouse-bench's
// baseline does.
//
//	go test ./server -run '^$' -bench MeHTTP/gatehouse -benchtime 32000x -cpuprofile cpu.out
func BenchmarkMeHTTP(b *testing.B) {
	s, token := signedInAda(b)
	h := handler(b, s)
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("GET /api/v1/me: got %d %s, want 200", rec.Code, rec.Body)
	}
	header, body := rec.Header().Clone(), bytes.Clone(rec.Body.Bytes())
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		maps.Copy(w.Header(), header)
		w.Write(body)
	})
	benchHTTP(b, bare, h, "/api/v1/me", req.Header)
}

// benchHTTP runs GET path with header over loopback TCP, 16 clients on
// keep-alive connections, against bare and gatehouse, each served as
// App.Serve serves (its timeouts). Its CPU profile shows the request's
// whole cost in one process (client, HTTP server, handler, collector);
// cpu-ns/op counts the client's share too.
func benchHTTP(b *testing.B, bare, gatehouse http.Handler, path string, header http.Header) {
	serve := func(h http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close() })
		return "http://" + ln.Addr().String() + path
	}
	const clients = 16
	for _, bc := range []struct {
		name string
		url  string
	}{{"bare", serve(bare)}, {"gatehouse", serve(gatehouse)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			b.Cleanup(c.CloseIdleConnections)
			cpu := cpuTime()
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					r, err := http.NewRequest("GET", bc.url, nil)
					if err != nil {
						b.Error(err)
						return
					}
					r.Header = header.Clone()
					n := b.N / clients
					if i < b.N%clients {
						n++
					}
					for range n {
						resp, err := c.Do(r)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Errorf("got %d, want 200", resp.StatusCode)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
