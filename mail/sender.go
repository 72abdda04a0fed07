package mail

import (
	"context"
	"errors"
)

// Sender delivers one composed message. from and to are the envelope
// addresses; each may be a bare address or a "Name <address>" form such as
// --mail-from, whose address is used.
type Sender interface {
	Send(ctx context.Context, from, to string, msg []byte) error
}

// PermanentError is a failure that no retry can fix: the server refused the
// recipient or the message with a 5xx answer, or an address is malformed.
// Every other error from Send is temporary.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err, from Send, says that retrying cannot help.
func IsPermanent(err error) bool {
	_, ok := errors.AsType[*PermanentError](err)
	return ok
}

// Check tries the SMTP server behind s without sending anything: it
// connects, upgrades with STARTTLS when offered, applies the credentials
// rule and authenticates. Call it at start-up so that a wrong --smtp-url is
// reported once, at boot, rather than on every queued message. Senders
// without a server (a FileSender, nil) always pass.
func Check(ctx context.Context, s Sender) error {
	if s, ok := s.(*smtpSender); ok {
		return s.check(ctx)
	}
	return nil
}

// session is a Sender that may keep a connection between messages, until
// Close. The worker uses one per goroutine and batch.
type session interface {
	Sender
	Close() error
}

// sessionOpener is implemented by senders that can reuse a connection.
type sessionOpener interface {
	session() session
}

// openSession returns a session for s: a reusing one when s can reuse
// connections, else s itself with nothing to close.
func openSession(s Sender) session {
	if o, ok := s.(sessionOpener); ok {
		return o.session()
	}
	return nopSession{s}
}

type nopSession struct{ Sender }

func (nopSession) Close() error { return nil }
