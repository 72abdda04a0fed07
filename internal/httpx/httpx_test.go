package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
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
