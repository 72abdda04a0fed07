package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 192.168.1.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proxies Proxies
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies trusted ignores the header", nil, "10.1.1.1:5000", []string{"1.2.3.4"}, "10.1.1.1"},
		{"untrusted peer ignores the header", proxies, "8.8.8.8:5000", []string{"1.2.3.4"}, "8.8.8.8"},
		{"trusted peer: the rightmost untrusted hop", proxies, "10.1.1.1:5000", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"chain of proxies is skipped", proxies, "10.1.1.1:5000", []string{"1.2.3.4, 10.2.2.2", "192.168.1.1"}, "1.2.3.4"},
		{"garbage hop stops the walk", proxies, "10.1.1.1:5000", []string{"1.2.3.4, nonsense"}, "10.1.1.1"},
		{"no header gives the peer", proxies, "10.1.1.1:5000", nil, "10.1.1.1"},
		{"IPv4-mapped peer", nil, "[::ffff:1.2.3.4]:80", nil, "1.2.3.4"},
		{"IPv6 peer in its canonical form", nil, "[2001:DB8:0:0::1]:80", nil, "2001:db8::1"},
		{"IPv4 peer as given", nil, "192.0.2.7:80", nil, "192.0.2.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := tt.proxies.ClientIP(r); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseProxiesRefusesGarbage(t *testing.T) {
	if _, err := ParseProxies("10.0.0.0/8,not-an-ip"); err == nil {
		t.Error("got no error, want one")
	}
}

func TestSessionToken(t *testing.T) {
	c := Cookies{}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer abc")
	r.Header.Set("Cookie", "gatehouse_session=cookie")
	if got := c.SessionToken(r); got != "abc" {
		t.Errorf("got %q, want the bearer token", got)
	}
	r.Header.Set("Authorization", "Basic abc")
	if got := c.SessionToken(r); got != "" {
		t.Errorf("got %q, want nothing for a non-bearer Authorization", got)
	}
	r.Header.Del("Authorization")
	if got := c.SessionToken(r); got != "cookie" {
		t.Errorf("got %q, want the cookie", got)
	}
	secure := Cookies{Secure: true}
	if got := secure.SessionToken(r); got != "" {
		t.Errorf("got %q, want the unprefixed cookie ignored behind https", got)
	}
}

func TestClientGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	wrapped := fmt.Errorf("begin: %w", context.Canceled)
	if ClientGone(r, wrapped) {
		t.Errorf("a live request's canceled error: got gone, want not")
	}
	cancel()
	if !ClientGone(r, wrapped) {
		t.Errorf("an ended request's canceled error: got not gone, want gone")
	}
	if ClientGone(r, errors.New("disk full")) {
		t.Errorf("an ended request's other error: got gone, want not")
	}
}

// TestWithRequestInfo checks that the context WithRequestInfo gives a
// request keeps its parent's values and cancellation (a context made
// below it ends with the connection's), carries the ID echoed in
// X-Request-Id and the client address, and that IDs differ.
func TestWithRequestInfo(t *testing.T) {
	type parentKey struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), parentKey{}, "kept"))
	var ctx context.Context
	var ip string
	h := WithRequestInfo(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, ip = r.Context(), ClientIPFrom(r)
	}))
	seen := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		r := httptest.NewRequestWithContext(parent, "GET", "/", nil)
		r.RemoteAddr = "192.0.2.7:41000"
		h.ServeHTTP(rec, r)
		id := rec.Header().Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) || RequestID(ctx) != id || seen[id] {
			t.Fatalf("X-Request-Id %q, RequestID %q (seen before: %v): want 16 new hex digits in both", id, RequestID(ctx), seen[id])
		}
		seen[id] = true
	}
	if ip != "192.0.2.7" || ctx.Value(parentKey{}) != "kept" {
		t.Fatalf("client address %q, parent's value %v: want 192.0.2.7 and kept", ip, ctx.Value(parentKey{}))
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context made below WithRequestInfo's did not end with the parent")
	}
	if RequestID(context.Background()) != "" {
		t.Fatal("RequestID of a context without one is not empty")
	}
}
