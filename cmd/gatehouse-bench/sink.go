package main

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"time"
)

// sink is an SMTP server that accepts every message and notes when it
// arrived, for the mail scenario. It speaks what Gatehouse's sender (Go's
// net/smtp) needs over plain SMTP on loopback: EHLO, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT. The test suite has a strict, parsing sink in
// internal/testenv/smtptest; that one belongs to tests (it takes a testing.TB)
// and does far more work per message than a throughput measurement wants.
//
// hold makes the sink accept connections but answer MAIL only after
// release: the outbox then fills up, and release measures its delivery
// alone, apart from the requests that filled it.
type sink struct {
	ln net.Listener

	mu       sync.Mutex
	arrivals []time.Time
	gate     chan struct{} // closed while open
	holding  int           // MAIL commands waiting at the gate
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln, gate: make(chan struct{})}
	close(s.gate)
	go s.serve()
	return s, nil
}

func (s *sink) url() string { return "smtp://" + s.ln.Addr().String() }

func (s *sink) close() { s.ln.Close() }

func (s *sink) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.gate:
		s.gate = make(chan struct{})
	default:
	}
}

func (s *sink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.gate:
	default:
		close(s.gate)
	}
}

// count is how many messages have arrived.
func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrivals)
}

// held is how many senders wait for the answer to their MAIL command.
func (s *sink) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding
}

// since returns the arrival times of the messages after the first n.
func (s *sink) since(n int) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.arrivals) {
		return nil
	}
	return append([]time.Time(nil), s.arrivals[n:]...)
}

func (s *sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *sink) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		return w.Flush() == nil
	}
	if !reply("220 gatehouse-bench sink ESMTP") {
		return
	}
	for {
		c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		ok := true
		switch verb {
		case "EHLO":
			ok = reply("250-gatehouse-bench", "250-8BITMIME", "250-SMTPUTF8", "250 SIZE 10485760")
		case "HELO", "RCPT", "RSET", "NOOP":
			ok = reply("250 OK")
		case "MAIL":
			s.mu.Lock()
			gate := s.gate
			s.holding++
			s.mu.Unlock()
			<-gate
			s.mu.Lock()
			s.holding--
			s.mu.Unlock()
			ok = reply("250 OK")
		case "DATA":
			if !reply("354 End data with <CR><LF>.<CR><LF>") {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
			}
			s.mu.Lock()
			s.arrivals = append(s.arrivals, time.Now())
			s.mu.Unlock()
			ok = reply("250 OK queued")
		case "QUIT":
			reply("221 Bye")
			return
		default:
			ok = reply("502 Command not implemented")
		}
		if !ok {
			return
		}
	}
}
