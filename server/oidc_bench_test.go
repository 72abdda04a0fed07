//go:build unix

package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
)

// BenchmarkOIDC is what the oidc scenario of gatehouse-bench asks of the
// provider, one request at a time through the whole handler (every
// middleware, zitadel's op, the store) without a network, so that a CPU
// profile shows the server's own costs: userinfo and introspection of an
// access token, and the refresh grant (each iteration rotates the token
// and signs an ID token). "bare" writes userinfo's answer, as the bench's
// bare handler does.
//
//	go test ./server -run '^$' -bench OIDC -benchtime 2000x -cpuprofile cpu.out
func BenchmarkOIDC(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s, session := signedInAda(b, db)
		const redirect = "https://app.example.com/callback"
		app, err := s.Service().OperatorCreateApplication(context.Background(), "", auth.NewApplication{Name: "CRM",
			FirstParty: true, RedirectURIs: []string{redirect}}, auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		h := oidcHandler(b, s)
		rp := &handlerRP{h: h, clientID: app.Application.ClientID, secret: app.ClientSecret, redirect: redirect}
		access, refresh := rp.signIn(b, session, "openid offline_access email company")

		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		userinfo := func() *http.Request {
			req := httptest.NewRequestWithContext(ctx, "GET", "/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			return req
		}
		introspect := func() *http.Request {
			return rp.post(ctx, "/oauth/introspect", url.Values{"token": {access}})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, userinfo())
		if rec.Code != 200 {
			b.Fatalf("userinfo: got %d %s", rec.Code, rec.Body)
		}
		bare := replayJSON(bytes.Clone(rec.Body.Bytes()))
		for _, bc := range []struct {
			name string
			h    http.Handler
			req  func() *http.Request
			// done reads a 200 answer's body.
			done func(body []byte)
		}{
			{"bare", bare, userinfo, nil},
			{"userinfo", h, userinfo, nil},
			{"introspection", h, introspect, func(body []byte) {
				if !bytes.Contains(body, []byte(`"active":true`)) {
					b.Fatalf("introspection: %s", body)
				}
			}},
			{"refresh", h, func() *http.Request {
				return rp.post(ctx, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			}, func(body []byte) { _, refresh = tokensOf(b, body) }},
		} {
			b.Run(bc.name, func(b *testing.B) {
				b.ReportAllocs()
				w := &bodyWriter{header: http.Header{}}
				cpu := cpuTime()
				for b.Loop() {
					clear(w.header)
					w.status = 0
					w.body.Reset()
					bc.h.ServeHTTP(w, bc.req())
					if w.status != 200 {
						b.Fatalf("got %d %s, want 200", w.status, w.body.Bytes())
					}
					if bc.done != nil {
						bc.done(w.body.Bytes())
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	})
}

// BenchmarkOIDCLoad is BenchmarkOIDC as gatehouse-bench drives it: 64
// clients at once, each with tokens of its own, over real HTTP
// connections to the server `gatehouse serve` builds (logging at info),
// and the bare handler's answer served the same way. Client and server
// share the process, as they share the cores in gatehouse-bench, so
// cpu-ns/op is both sides' cost and the bare run's cpu-ns/op ÷ another
// run's is the rate ratio the machine allows, whatever else runs on it.
//
//	go test ./server -run '^$' -bench OIDCLoad/sqlite -benchtime 20000x -cpuprofile cpu.out
func BenchmarkOIDCLoad(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s := servertest.Start(b, db, servertest.WithOptions(func(o *server.Options) {
			o.Log = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}))
		s.Company(b, "Acme", "ada@example.com", testenv.GoodPassword)
		session := s.Client(b).Login("ada@example.com", testenv.GoodPassword)
		const redirect = "https://app.example.com/callback"
		app, err := s.Service().OperatorCreateApplication(context.Background(), "", auth.NewApplication{Name: "CRM",
			FirstParty: true, RedirectURIs: []string{redirect}}, auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		const clients = 64
		rp := &handlerRP{h: oidcHandler(b, s), clientID: app.Application.ClientID, secret: app.ClientSecret, redirect: redirect}
		access, refresh := make([]string, clients), make([]string, clients)
		for i := range clients {
			access[i], refresh[i] = rp.signIn(b, session, "openid offline_access") // as gatehouse-bench asks
		}
		// The bare handler serves a captured GET /api/v1/me, headers and
		// all, as gatehouse-bench's does.
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+session)
		rp.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET /api/v1/me: got %d %s", rec.Code, rec.Body)
		}
		header, body := rec.Result().Header, bytes.Clone(rec.Body.Bytes())
		header.Del("Content-Length")
		header.Del("Date")
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for name, vals := range header {
				w.Header()[name] = vals
			}
			w.Write(body)
		}))
		b.Cleanup(bare.Close)
		hc := loadgen.NewHTTPClient(clients)
		b.Cleanup(hc.CloseIdleConnections)
		do := func(req *http.Request) ([]byte, error) {
			resp, err := hc.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				return nil, fmt.Errorf("%s %s: got %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
			}
			return body, nil
		}
		userinfo := func(base string) func(i int) error {
			return func(i int) error {
				req, _ := http.NewRequest("GET", base+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+access[i])
				_, err := do(req)
				return err
			}
		}
		form := func(path string, f url.Values) *http.Request {
			req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(rp.clientID), url.QueryEscape(rp.secret))
			return req
		}
		for _, bc := range []struct {
			name string
			call func(i int) error
		}{
			{"bare", userinfo(bare.URL)},
			{"userinfo", userinfo(s.URL)},
			{"introspection", func(i int) error {
				_, err := do(form("/oauth/introspect", url.Values{"token": {access[i]}}))
				return err
			}},
			{"refresh", func(i int) error {
				body, err := do(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh[i]}}))
				if err != nil {
					return err
				}
				var tok struct {
					RefreshToken string `json:"refresh_token"`
				}
				if err := json.Unmarshal(body, &tok); err != nil || tok.RefreshToken == "" {
					return fmt.Errorf("token answer %s: %v", body, err)
				}
				refresh[i] = tok.RefreshToken
				return nil
			}},
		} {
			b.Run(bc.name, func(b *testing.B) { runClients(b, clients, bc.call) })
		}
	})
}

// runClients runs call for b.N iterations from clients goroutines at once,
// each with its own i below clients, and reports the process's processor
// time an iteration. A failing call fails the benchmark and stops its
// goroutine (FailNow may not be called from these goroutines).
func runClients(b *testing.B, clients int, call func(i int) error) {
	var next atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % clients
		for pb.Next() {
			if err := call(i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// oidcHandler is handler with the OpenID Connect provider, as App.Serve
// builds it.
func oidcHandler(t testing.TB, s *servertest.Server) http.Handler {
	t.Helper()
	return handler(t, s, func(c *server.Config) { c.Sealer = s.App.Sealer })
}

// handlerRP is a confidential relying party that calls the handler
// directly.
type handlerRP struct {
	h                          http.Handler
	clientID, secret, redirect string
}

func (rp *handlerRP) post(ctx context.Context, path string, form url.Values) *http.Request {
	req := httptest.NewRequestWithContext(ctx, "POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.clientID), url.QueryEscape(rp.secret))
	return req
}

// signIn authorizes the app for the session and exchanges the code; it
// returns the access and refresh tokens.
func (rp *handlerRP) signIn(t testing.TB, session, scope string) (access, refresh string) {
	t.Helper()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	next := "/authorize?" + url.Values{"client_id": {rp.clientID}, "redirect_uri": {rp.redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"s"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}.Encode()
	for range 3 {
		req := httptest.NewRequest("GET", next, nil)
		req.AddCookie(&http.Cookie{Name: httpx.SessionCookieName, Value: session})
		rec := httptest.NewRecorder()
		rp.h.ServeHTTP(rec, req)
		loc, err := rec.Result().Location()
		if err != nil {
			t.Fatalf("GET %s: got %d %s", next, rec.Code, rec.Body)
		}
		if strings.HasPrefix(loc.String(), rp.redirect) {
			rec := httptest.NewRecorder()
			rp.h.ServeHTTP(rec, rp.post(context.Background(), "/oauth/token", url.Values{"grant_type": {"authorization_code"},
				"code": {loc.Query().Get("code")}, "redirect_uri": {rp.redirect}, "code_verifier": {verifier}}))
			if rec.Code != 200 {
				t.Fatalf("code exchange: got %d %s", rec.Code, rec.Body)
			}
			return tokensOf(t, rec.Body.Bytes())
		}
		next = loc.RequestURI()
	}
	t.Fatalf("no code from %s", next)
	return "", ""
}

func tokensOf(t testing.TB, body []byte) (access, refresh string) {
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token answer %s: %v", body, err)
	}
	return tok.AccessToken, tok.RefreshToken
}

// bodyWriter is discardWriter that keeps the body.
type bodyWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bodyWriter) Header() http.Header { return w.header }

func (w *bodyWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bodyWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.body.Write(p)
}
