package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// apiConn against net/http's server: answers with a length, in chunks,
// refused with Retry-After, and closing the connection; the request
// reaches the server whole, and the connection is kept between requests
// unless the server closes it.
func TestAPIConn(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || string(body) != `{"n":1}` {
			http.Error(w, "bad request: "+r.Method+" "+string(body), http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/length":
			w.Write([]byte(`{"status":"` + r.Header.Get("Authorization") + `"}`))
		case "/chunks":
			w.Write([]byte(`{"status":"`))
			w.(http.Flusher).Flush()
			w.Write([]byte(strings.Repeat("x", 5000) + `"}`))
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"unavailable"}`))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte(`{"status":"closing"}`))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	a := newAPIConn(srv.URL, "example.com")
	defer a.close()
	ctx := context.Background()
	var res struct{ Status string }
	if err := a.post(ctx, "/length", "t0k3n", []byte(`{"n":1}`), http.StatusOK, &res); err != nil || res.Status != "Bearer t0k3n" {
		t.Fatalf("/length: %v, status %q", err, res.Status)
	}
	if err := a.post(ctx, "/chunks", "", []byte(`{"n":1}`), http.StatusOK, &res); err != nil || res.Status != strings.Repeat("x", 5000) {
		t.Fatalf("/chunks: %v, status of %d bytes", err, len(res.Status))
	}
	var se *loadgen.StatusError
	err := a.post(ctx, "/busy", "", []byte(`{"n":1}`), http.StatusOK, &res)
	if !errors.As(err, &se) || se.Status != 503 || se.Code != "unavailable" || se.RetryAfter != 3*time.Second {
		t.Fatalf("/busy: got %#v", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for three requests, want 1", n)
	}
	if err := a.post(ctx, "/close", "", []byte(`{"n":1}`), http.StatusOK, &res); err != nil || res.Status != "closing" {
		t.Fatalf("/close: %v, status %q", err, res.Status)
	}
	if err := a.post(ctx, "/length", "", []byte(`{"n":1}`), http.StatusOK, &res); err != nil {
		t.Fatalf("after /close: %v", err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: a new one after the server closed the first", n)
	}
	// The end of the context cuts a request off.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := a.post(cctx, "/length", "", []byte(`{"n":1}`), http.StatusOK, &res); err == nil {
		t.Error("a request on an ended context succeeded")
	}
}
