// Package dnstest is a real DNS server for tests: it answers queries over
// UDP on a loopback port with the addresses the test gives each name,
// NXDOMAIN for a name it does not know and SERVFAIL for a name set to fail.
// Resolver returns Go's own resolver pointed at it, so that a lookup goes
// through the real client (its queries, its parsing, its errors); the
// messages are built and parsed by golang.org/x/net/dns/dnsmessage. A test
// changes an answer between lookups to play DNS rebinding.
package dnstest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a DNS server on 127.0.0.1.
type Server struct {
	conn net.PacketConn

	mu      sync.Mutex
	answers map[string][]netip.Addr // by lower-case name without the final dot
	failing map[string]bool
	queries map[string]int
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnstest: listen: %v", err)
	}
	s := &Server{conn: conn, answers: map[string][]netip.Addr{}, failing: map[string]bool{}, queries: map[string]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve(t)
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Set makes name resolve to addrs from now on (to nothing at all, an
// answer without records, when there are none).
func (s *Server) Set(name string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = canonical(name)
	delete(s.failing, name)
	s.answers[name] = nil
	for _, a := range addrs {
		s.answers[name] = append(s.answers[name], netip.MustParseAddr(a))
	}
}

// Fail makes the server answer SERVFAIL for name.
func (s *Server) Fail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[canonical(name)] = true
}

// Lookups counts the A queries for name: one per lookup of an address of
// any family (Go asks A and AAAA).
func (s *Server) Lookups(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[canonical(name)]
}

// Resolver is Go's resolver asking this server, whatever the system's
// configuration names.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", s.Addr())
	}}
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

func (s *Server) serve(t testing.TB) {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("dnstest: read: %v", err)
			}
			return
		}
		answer, err := s.answer(buf[:n])
		if err != nil {
			t.Errorf("dnstest: %v", err)
			continue
		}
		s.conn.WriteTo(answer, from)
	}
}

// answer answers one query message.
func (s *Server) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := canonical(q.Name.String())
	s.mu.Lock()
	addrs, known := s.answers[name]
	failing := s.failing[name]
	if q.Type == dnsmessage.TypeA {
		s.queries[name]++
	}
	s.mu.Unlock()

	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true}
	switch {
	case failing:
		rh.RCode = dnsmessage.RCodeServerFailure
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if rh.RCode == dnsmessage.RCodeSuccess {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
		for _, a := range addrs { // an IPv4-mapped address is an AAAA record, as in a real zone
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && a.Is6():
				err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}
