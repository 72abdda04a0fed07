// Package outbox holds what the background senders of an outbox table
// have in common: the mail worker (package mail) and the webhook worker
// (package webhook) both claim rows with a lease, send them outside any
// transaction, record outcomes in groups, retry with jittered backoff and
// finish what is in flight on shutdown within a grace period; both are
// built on these pieces.
//
// The package has the pieces, not a framework: each worker keeps its own
// loop, since mail reuses SMTP sessions across messages and webhooks give
// each endpoint a lane of its own.
package outbox

import (
	"context"
	"math/rand/v2"
	"time"
)

// OrDefault returns v, or def when v is not positive: the zero fields of a
// worker's settings.
func OrDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Jitter returns a wait between ¾ and all of d, so that rows that failed
// together do not retry together.
func Jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/4+1)
}

// Gather returns first and whatever else is waiting in ch, up to max in
// all, without waiting: a group commit writes what arrived while the
// previous write ran, and adds no wait of its own. buf is reused.
func Gather[T any](buf []T, first T, ch <-chan T, max int) []T {
	group := append(buf[:0], first)
	for len(group) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return group
			}
			group = append(group, v)
		default:
			return group
		}
	}
	return group
}

// GraceContext bounds one send by timeout (none when 0) and lets it
// outlive ctx by grace at most: on shutdown what is being sent finishes,
// but not forever.
func GraceContext(ctx context.Context, timeout, grace time.Duration) (context.Context, context.CancelFunc) {
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		sendCtx, cancelTimeout = context.WithTimeout(sendCtx, timeout)
		inner := cancel
		cancel = func() { cancelTimeout(); inner() }
	}
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return sendCtx, func() { stop(); cancel() }
}

// Bookkeeping returns the context of a write that records what was sent:
// its own, bounded by timeout, so that a shutdown does not lose it.
func Bookkeeping(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}
