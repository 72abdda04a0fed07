package mail

import (
	"context"
	"net"
	"time"
)

// DialInstead makes the SMTP sender s connect to addr whatever its URL
// says, so that a test can give a non-loopback name in --smtp-url and still
// reach its local server.
func DialInstead(s Sender, addr string) {
	s.(*smtpSender).dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

// SetGreetingTimeout shortens how long the SMTP sender s waits for a
// server's greeting.
func SetGreetingTimeout(s Sender, d time.Duration) { s.(*smtpSender).greeting = d }

var LoadTemplatesFrom = loadTemplates
