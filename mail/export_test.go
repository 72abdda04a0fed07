package mail

import (
	"context"
	"net"
)

// DialInstead makes the SMTP sender s connect to addr whatever its URL
// says, so that a test can give a non-loopback name in --smtp-url and still
// reach its local server.
func DialInstead(s Sender, addr string) {
	s.(*smtpSender).dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

var LoadTemplatesFrom = loadTemplates
