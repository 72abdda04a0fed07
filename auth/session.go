package auth

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
)

func errUnauthenticated() error {
	return gatehouse.Errorf(gatehouse.EUnauthenticated, "Please log in.")
}

// Authenticate returns the identity behind a session token. It is the
// path every request of the SaaS takes, so it is one indexed query (the
// session with its user and company), plus a write at most once a minute
// to record activity. Nothing is cached, so a logout or password change
// ends the session at once on every node.
//
// A session of a user without 2FA whose company requires it is refused:
// it was opened with the password alone, before the company asked for
// more, and would otherwise go on for days. Logging in again sets 2FA up.
func (s *Service) Authenticate(ctx context.Context, token string) (*Identity, error) {
	if !gatehouse.TokenLooksValid(token) {
		return nil, errUnauthenticated()
	}
	var read sessionRead
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		read.now = tx.Now()
		read.sess, read.user, read.company, err = tx.SessionByTokenHash(gatehouse.HashToken(token))
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errUnauthenticated()
	}
	if err != nil {
		return nil, err
	}
	return s.live(ctx, read)
}

// sessionRead is a session as a read found it, with its user and company
// and the read's time.
type sessionRead struct {
	now     time.Time
	sess    *gatehouse.Session
	user    *gatehouse.User
	company *gatehouse.Company
}

// live returns the identity of a session just read, or EUnauthenticated
// when the session is over: expired, idle too long, its user disabled, or
// its company requires 2FA the user lacks. It records the activity at most
// once a minute.
func (s *Service) live(ctx context.Context, r sessionRead) (*Identity, error) {
	sess, u := r.sess, r.user
	if r.company.RequireTOTP && !u.HasSecondFactor() {
		return nil, errUnauthenticated()
	}
	if !r.now.Before(sess.ExpiresAt) || r.now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdleTimeout ||
		u.Status() == gatehouse.StatusDisabled {
		return nil, errUnauthenticated()
	}
	if r.now.Sub(sess.LastSeenAt) >= touchInterval {
		if err := s.touch(ctx, sess); err != nil {
			return nil, err
		}
	}
	return &Identity{Session: sess, User: u}, nil
}

// touch records the session's activity. Of the requests of one session
// that find it due at once on this node (a page's parallel calls, a
// client's burst), one writes and the others go on without waiting: the
// write they would repeat records the same minute. Nothing is decided
// from this set; it only saves the single SQLite writer (or PostgreSQL's
// row lock) a queue of identical updates once a minute. The commit does not
// wait for the disk: a power cut may lose the last moment's touches, which
// only makes those sessions' idle time count from a minute earlier.
func (s *Service) touch(ctx context.Context, sess *gatehouse.Session) error {
	if _, busy := s.touching.LoadOrStore(sess.ID, struct{}{}); busy {
		return nil
	}
	defer s.touching.Delete(sess.ID)
	return s.store.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
		sess.LastSeenAt = tx.Now()
		return tx.TouchSession(sess.ID, tx.Now())
	})
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, id *Identity, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if _, err := tx.DeleteSession(id.User.ID, id.Session.ID); err != nil {
			return err
		}
		return s.audit(tx, event(gatehouse.EventLogout, id.User.CompanyID, id.User.ID, id.User.ID, c))
	})
}

// Sessions lists the caller's sessions.
func (s *Service) Sessions(ctx context.Context, id *Identity) ([]*gatehouse.Session, error) {
	var list []*gatehouse.Session
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		list, err = tx.Sessions(id.User.ID)
		return err
	})
	return list, err
}

// RevokeSession ends one of the caller's sessions (possibly the current one).
func (s *Service) RevokeSession(ctx context.Context, id *Identity, sessionID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		ok, err := tx.DeleteSession(id.User.ID, sessionID)
		if err != nil {
			return err
		}
		if !ok {
			return gatehouse.Errorf(gatehouse.ENotFound, "Session not found.")
		}
		e := event(gatehouse.EventSessionRevoked, id.User.CompanyID, id.User.ID, id.User.ID, c)
		e.Detail = "session=" + sessionID
		return s.audit(tx, e)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
