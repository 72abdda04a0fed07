package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/dnstest"
	"github.com/gatehouse/gatehouse/internal/testenv/webhooktest"
	"github.com/gatehouse/gatehouse/webhook"
)

var ctx = context.Background()

var private = &webhook.Policy{AllowPrivate: true}

// Every signature Send makes verifies with the reference library for Node,
// under the secret as receivers configure it; while a rotated key still
// signs, under either.
func TestSignaturesVerifyWithTheReferenceLibrary(t *testing.T) {
	r := webhooktest.Start(t)
	current, old := webhook.NewSecret(), webhook.NewSecret()
	r.SetSecrets(webhook.FormatSecret(current), webhook.FormatSecret(old), webhook.FormatSecret(webhook.NewSecret()))
	c := webhook.NewClient(private, webhook.ClientOptions{})
	body, err := webhook.NewPayload(gatehouse.WebhookUserDisabled, time.Now(), webhook.User{ID: "u1", Email: "ada@example.com", Status: "disabled"})
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Send(ctx, webhook.Message{URL: r.URL, ID: "msg_1", Body: body, Keys: [][]byte{current}}); a.Err != nil || a.Status != 200 {
		t.Fatalf("send: got %d %v", a.Status, a.Err)
	}
	if a := c.Send(ctx, webhook.Message{URL: r.URL, ID: "msg_2", Body: body, Keys: [][]byte{current, old}}); a.Err != nil {
		t.Fatalf("send: %v", a.Err)
	}
	got := r.Received()
	if len(got) != 2 {
		t.Fatalf("received %d requests, want 2", len(got))
	}
	if want := []int{0}; !equal(got[0].VerifiedBy, want) {
		t.Errorf("one key: verified by secrets %v, want %v (errors %v)", got[0].VerifiedBy, want, got[0].Errors)
	}
	if want := []int{0, 1}; !equal(got[1].VerifiedBy, want) {
		t.Errorf("two keys: verified by secrets %v, want %v (errors %v)", got[1].VerifiedBy, want, got[1].Errors)
	}
	if !strings.HasPrefix(got[1].Signature, "v1,") || len(strings.Fields(got[1].Signature)) != 2 {
		t.Errorf("signature header %q: want two v1 signatures separated by a space", got[1].Signature)
	}
	p := got[0].Payload
	if p == nil || p.Type != gatehouse.WebhookUserDisabled || !strings.Contains(string(p.Data), `"status":"disabled"`) {
		t.Errorf("payload as the library parsed it: got %+v", p)
	}
	if got[0].ID != "msg_1" {
		t.Errorf("webhook-id: got %q, want msg_1", got[0].ID)
	}

	// A body changed on the way, or another secret, does not verify: the
	// library checks, it does not just parse.
	tampered := c.Send(ctx, webhook.Message{URL: r.URL, ID: "msg_3", Body: body, Keys: [][]byte{webhook.NewSecret()}})
	if tampered.Err != nil {
		t.Fatal(tampered.Err)
	}
	if last := r.Received()[2]; last.Verified() {
		t.Errorf("a message signed with an unknown key verified")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The address rule: every kind of internal address is refused, public
// ones pass.
func TestCheckAddress(t *testing.T) {
	for _, c := range []struct {
		addr string
		kind string // "" for allowed
	}{
		{"127.0.0.1", "loopback"}, {"127.255.0.9", "loopback"}, {"::1", "loopback"},
		{"10.0.0.1", "private"}, {"172.16.5.4", "private"}, {"192.168.1.1", "private"}, {"fd00::1", "private"},
		{"169.254.169.254", "link-local"}, {"fe80::1", "link-local"},
		{"0.0.0.0", "unspecified"}, {"::", "unspecified"},
		{"224.0.0.1", "multicast"}, {"ff02::1", "multicast"},
		{"100.64.0.1", "shared address space (CGNAT)"}, {"100.127.255.254", "shared address space (CGNAT)"},
		{"0.1.2.3", "this network"}, {"192.0.0.8", "IETF protocol assignments"},
		{"192.0.2.1", "documentation"}, {"198.51.100.1", "documentation"}, {"203.0.113.1", "documentation"},
		{"198.18.0.1", "benchmarking"}, {"240.0.0.1", "reserved"}, {"255.255.255.255", "reserved"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"}, {"::ffff:10.1.1.1", "IPv4-mapped private"},
		{"::ffff:169.254.169.254", "IPv4-mapped link-local"},
		{"64:ff9b::a00:1", "IPv6 carrying private"}, {"64:ff9b::7f00:1", "IPv6 carrying loopback"},
		{"2002:a00:1::", "IPv6 carrying private"}, {"2002:7f00:1::", "IPv6 carrying loopback"},
		{"::127.0.0.1", "IPv4-compatible"}, {"2001:db8::1", "documentation"}, {"fec0::1", "site-local"},
		{"2001::1", "IETF protocol assignments"}, {"100::1", "discard-only"},
		{"1.1.1.1", ""}, {"8.8.8.8", ""}, {"93.184.216.34", ""}, {"100.128.0.1", ""}, {"172.32.0.1", ""},
		{"2606:4700:4700::1111", ""}, {"::ffff:1.1.1.1", ""}, {"64:ff9b::101:101", ""}, {"2002:101:101::", ""},
	} {
		err := webhook.CheckAddress(netip.MustParseAddr(c.addr))
		var ae *webhook.AddressError
		switch {
		case c.kind == "" && err != nil:
			t.Errorf("%s: refused (%v), want allowed", c.addr, err)
		case c.kind != "" && (!errors.As(err, &ae) || ae.Kind != c.kind):
			t.Errorf("%s: got %v, want refused as %s", c.addr, err, c.kind)
		}
	}
	if webhook.CheckAddress(netip.MustParseAddr("fe80::1%eth0")) == nil {
		t.Error("a scoped address is allowed")
	}
}

// Registration refuses URLs whose host is, or resolves to, an internal
// address; a name that does not resolve yet is accepted (it is checked
// at every connection).
func TestCheckURL(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Set("public.example.com", "93.184.216.34")
	dns.Set("internal.example.com", "10.0.0.7")
	dns.Set("mixed.example.com", "93.184.216.34", "127.0.0.1")
	p := &webhook.Policy{Resolver: dns.Resolver()}
	for _, c := range []struct{ url, code, want string }{
		{"https://public.example.com/hooks", "", "https://public.example.com/hooks"},
		{"HTTPS://Public.Example.COM:8443/Hooks?a=1", "", "https://public.example.com:8443/Hooks?a=1"},
		{"https://unknown.example.com/hooks", "", "https://unknown.example.com/hooks"},
		{"https://internal.example.com/hooks", gatehouse.EWebhookAddressNotAllowed, ""},
		{"https://mixed.example.com/hooks", gatehouse.EWebhookAddressNotAllowed, ""},
		{"https://[fe80::1%25eth0]/hooks", gatehouse.EWebhookURLInvalid, ""},
		{"https://0x7f.1/hooks", gatehouse.EWebhookURLInvalid, ""},
		{"https://127.1/hooks", gatehouse.EWebhookURLInvalid, ""},
		{"https://hooks.example.com:0/x", gatehouse.EWebhookURLInvalid, ""},
		{"https://hooks.example.com:99999/x", gatehouse.EWebhookURLInvalid, ""},
		{"https://exa mple.com/x", gatehouse.EWebhookURLInvalid, ""},
		{"/relative/path", gatehouse.EWebhookURLInvalid, ""},
		{"https:///nohost", gatehouse.EWebhookURLInvalid, ""},
		{"https://" + strings.Repeat("a", webhook.MaxURLLength), gatehouse.EWebhookURLInvalid, ""},
	} {
		got, err := p.CheckURL(ctx, c.url)
		if gatehouse.ErrorCode(err) != c.code || got != c.want {
			t.Errorf("%s: got %q, %v; want %q, %q", c.url, got, err, c.want, c.code)
		}
	}
	// With allow-private, http and internal addresses pass.
	lax := &webhook.Policy{AllowPrivate: true, Resolver: dns.Resolver()}
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://internal.example.com/x", "https://localhost/x"} {
		if _, err := lax.CheckURL(ctx, u); err != nil {
			t.Errorf("allow-private, %s: %v", u, err)
		}
	}
}

// listener accepts connections on a loopback port and counts them, so a
// test can tell that nothing was connected to.
func listener(t *testing.T) (net.Listener, *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln, &n
}

// DNS rebinding: a name that resolved to a public address when it was
// registered resolves to loopback by the time of delivery. The check at
// connection time, on the address dialled, refuses it, and no connection
// is made. Here the first answer is never dialled: registration only
// looks it up.
func TestDNSRebindingRefusedAtConnect(t *testing.T) {
	ln, accepted := listener(t)
	port := ln.Addr().(*net.TCPAddr).Port
	dns := dnstest.Start(t)
	dns.Set("hooks.rebind.test", "93.184.216.34")
	p := &webhook.Policy{Resolver: dns.Resolver()}
	u, err := p.CheckURL(ctx, "https://hooks.rebind.test:"+itoa(port)+"/x")
	if err != nil {
		t.Fatalf("registration while the name looks public: %v", err)
	}
	dns.Set("hooks.rebind.test", "127.0.0.1")
	c := webhook.NewClient(p, webhook.ClientOptions{})
	a := c.Send(ctx, webhook.Message{URL: u, ID: "msg_1", Body: []byte("{}"), Keys: [][]byte{webhook.NewSecret()}})
	var ae *webhook.AddressError
	if !errors.As(a.Err, &ae) || ae.Kind != "loopback" || a.Status != 0 {
		t.Errorf("delivery after rebinding: got %d %v, want refused as loopback", a.Status, a.Err)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the loopback listener accepted %d connections, want none", n)
	}
	if n := dns.Lookups("hooks.rebind.test"); n < 2 {
		t.Errorf("the name was looked up %d times, want at registration and at delivery", n)
	}

	// An IP address in the URL, a name whose answers mix, an IPv4-mapped
	// address: each refused by the dialer's check, none connected to.
	dns.Set("mixed.rebind.test", "::ffff:127.0.0.1", "127.0.0.1")
	for _, target := range []string{"http://127.0.0.1:" + itoa(port) + "/x", "http://mixed.rebind.test:" + itoa(port) + "/x",
		"http://[::ffff:127.0.0.1]:" + itoa(port) + "/x"} {
		a := c.Send(ctx, webhook.Message{URL: target, ID: "msg_2", Body: []byte("{}"), Keys: [][]byte{webhook.NewSecret()}})
		if !errors.As(a.Err, &ae) {
			t.Errorf("%s: got %d %v, want an address refusal", target, a.Status, a.Err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the loopback listener accepted %d connections, want none", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A redirect is a failed delivery: it is not followed.
func TestRedirectsNotFollowed(t *testing.T) {
	target := webhooktest.Start(t)
	r := webhooktest.Start(t)
	r.Respond(func(webhooktest.Received) webhooktest.Answer {
		return webhooktest.Answer{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {target.URL}}}
	})
	a := webhook.NewClient(private, webhook.ClientOptions{}).Send(ctx, webhook.Message{URL: r.URL, ID: "m", Body: []byte("{}"),
		Keys: [][]byte{webhook.NewSecret()}})
	if a.Err == nil || a.Status != http.StatusTemporaryRedirect {
		t.Errorf("got %d %v, want a failed 307", a.Status, a.Err)
	}
	if n := len(target.Received()); n != 0 {
		t.Errorf("the redirect target got %d requests, want none", n)
	}
}

// A receiver that never stops answering, or never answers, is given up on
// within the attempt's timeout; Retry-After is read.
func TestLimitsAndTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/endless":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(503)
			chunk := make([]byte, 32<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				served.Add(int64(len(chunk)))
			}
		case "/silent":
			<-r.Context().Done()
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	c := webhook.NewClient(private, webhook.ClientOptions{Timeout: 2 * time.Second, HeaderTimeout: 500 * time.Millisecond})

	a := c.Send(ctx, webhook.Message{URL: base + "/endless", ID: "m", Body: []byte("{}"), Keys: [][]byte{webhook.NewSecret()}})
	if a.Status != 503 || a.RetryAfter != 2*time.Minute || a.Err == nil {
		t.Errorf("endless 503: got %d retry-after %v %v, want 503, 2m, an error", a.Status, a.RetryAfter, a.Err)
	}
	a = c.Send(ctx, webhook.Message{URL: base + "/silent", ID: "m", Body: []byte("{}"), Keys: [][]byte{webhook.NewSecret()}})
	if a.Status != 0 || a.Err == nil || !strings.Contains(a.Err.Error(), "no answer") {
		t.Errorf("silent receiver: got %d %v, want no answer", a.Status, a.Err)
	}
}

// What company admins read of a failure names no internal address: not
// the one a name resolved to, not the resolver that failed to answer.
func TestErrorsNameNoInternalAddress(t *testing.T) {
	dns := dnstest.Start(t)
	dns.Set("internal.example.test", "10.20.30.40")
	p := &webhook.Policy{Resolver: dns.Resolver()}
	_, err := p.CheckURL(ctx, "https://internal.example.test/x")
	if err == nil || strings.Contains(err.Error(), "10.20.30.40") || !strings.Contains(err.Error(), "private") {
		t.Errorf("registration: got %v, want the kind of address and not the address", err)
	}
	c := webhook.NewClient(p, webhook.ClientOptions{})
	a := c.Send(ctx, webhook.Message{URL: "https://internal.example.test/x", ID: "m", Body: []byte("{}"), Keys: [][]byte{webhook.NewSecret()}})
	if a.Err == nil || strings.Contains(a.Err.Error(), "10.20.30.40") {
		t.Errorf("delivery: got %v, want no address", a.Err)
	}
	// A lookup error names the resolver it asked (Go's message says
	// "lookup x on 10.9.8.7:53: server misbehaving"); what the page shows
	// does not.
	dns.Fail("hooks.example.test")
	_, lerr := dns.Resolver().LookupNetIP(ctx, "ip", "hooks.example.test")
	var dnsErr *net.DNSError
	if !errors.As(lerr, &dnsErr) || dnsErr.Server == "" || !strings.Contains(lerr.Error(), dnsErr.Server) {
		t.Fatalf("a lookup the server fails: got %v, want Go's error naming the resolver", lerr)
	}
	failing := webhook.NewClient(&webhook.Policy{AllowPrivate: true, Resolver: dns.Resolver()}, webhook.ClientOptions{})
	a = failing.Send(ctx, webhook.Message{URL: "http://hooks.example.test/x", ID: "m", Body: []byte("{}"), Keys: [][]byte{webhook.NewSecret()}})
	if a.Err == nil || strings.Contains(a.Err.Error(), dnsErr.Server) || !strings.Contains(a.Err.Error(), "hooks.example.test") {
		t.Errorf("lookup failure: got %v, want the name and no resolver", a.Err)
	}
}
