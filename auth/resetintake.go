package auth

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/priority"
)

// resetIntakeGroup is the most forgot-password requests written in one
// transaction. A group of 50 holds SQLite's writer for a few milliseconds.
const resetIntakeGroup = 50

// resetIntakeTimeout bounds a group's wait for the writer and its
// transaction: the requests in it are answered 503 after that, rather than
// hang while the database is saturated.
const resetIntakeTimeout = 10 * time.Second

// resetIntakeWriters is how many groups may be written at once. On SQLite
// they queue for the one writer anyway (a group forms while another is
// written); PostgreSQL runs them side by side.
const resetIntakeWriters = 4

// resetIntake writes the forgot-password requests of concurrent callers in
// shared transactions (a group commit): a caller that finds fewer than
// resetIntakeWriters writing becomes a leader and writes the requests
// queued meanwhile, up to a group, in one transaction, until its own is
// written, then hands the lead to the next caller waiting. Alone, a
// request is written at once; in a burst of thousands, each
// transaction and its commit serve up to a group, so the burst takes a
// fraction of the writer's time that one transaction per request would.
// The groups are background transactions: on SQLite a login waiting to
// write goes first.
type resetIntake struct {
	mu      sync.Mutex
	queue   []*intakeCall
	writers int
	// threads writes the groups below the hashes of logins, as all
	// background work: a burst of reset requests then leaves the cores
	// to logins (package priority).
	threads *priority.Pool
}

// intakeCall is one request waiting to be written.
type intakeCall struct {
	req  gatehouse.ResetRequest // without ID and time, given in the transaction
	key  string                 // the client address's budget
	err  error
	done chan struct{} // closed once err is set
	lead chan struct{} // closed when this caller is to lead
	// promoted says lead is closed; guarded by resetIntake.mu.
	promoted bool
}

// enqueueResetRequest writes r (its budget reserved on key) and returns
// its outcome once committed.
func (s *Service) enqueueResetRequest(ctx context.Context, r gatehouse.ResetRequest, key string) error {
	c := &intakeCall{req: r, key: key, done: make(chan struct{}), lead: make(chan struct{})}
	in := &s.intake
	in.mu.Lock()
	in.queue = append(in.queue, c)
	leader := in.writers < resetIntakeWriters
	if leader {
		in.writers++
	}
	in.mu.Unlock()
	if !leader {
		select {
		case <-c.done:
		case <-c.lead:
		}
		select {
		case <-c.lead: // made a leader, perhaps written meanwhile: lead
		default:
			return c.err
		}
	}
	// Lead: write groups from the front of the queue until this call's
	// request is written (by this leader or another), then hand over.
	for {
		select {
		case <-c.done:
		default:
			in.mu.Lock()
			n := min(len(in.queue), resetIntakeGroup)
			group := slices.Clone(in.queue[:n])
			in.queue = in.queue[n:]
			in.mu.Unlock()
			if n > 0 {
				s.writeResetGroup(ctx, group)
				continue
			}
			// Another leader is writing this call's group.
		}
		break
	}
	in.handOver()
	<-c.done
	return c.err
}

// handOver passes a leaving leader's place to the first waiting caller not
// already made a leader, or frees it.
func (in *resetIntake) handOver() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, next := range in.queue {
		if !next.promoted {
			next.promoted = true
			close(next.lead)
			return
		}
	}
	in.writers--
}

// writeResetGroup writes a group and answers each of its callers. The
// transaction does not end with the leader's request: the others are
// waiting for it too.
func (s *Service) writeResetGroup(ctx context.Context, group []*intakeCall) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resetIntakeTimeout)
	defer cancel()
	var err error
	s.intake.threads.Run(func() { err = s.writeGroup(ctx, group) })
	if err != nil && len(group) > 1 {
		// One request's failure must not fail the others: each alone.
		for _, c := range group {
			s.writeResetGroup(ctx, []*intakeCall{c})
		}
		return
	}
	written := false
	for _, c := range group {
		if err != nil {
			c.err = err
		}
		written = written || c.err == nil
		close(c.done)
	}
	if written {
		select {
		case s.resetQueued <- struct{}{}:
		default:
		}
	}
}

// writeGroup writes the group's requests in one transaction, setting the
// err of each refused by its address's budget.
func (s *Service) writeGroup(ctx context.Context, group []*intakeCall) error {
	return s.store.UpdateBackground(ctx, func(tx gatehouse.Tx) error {
		for _, c := range group {
			c.err = resetRequestLimit.reserve(tx, c.key)
			if gatehouse.ErrorCode(c.err) == gatehouse.ETooManyAttempts {
				continue // refused, nothing written for it
			}
			if c.err != nil {
				return c.err
			}
			r := c.req
			r.ID, r.CreatedAt = gatehouse.NewID(tx.Now()), tx.Now()
			if err := tx.EnqueueResetRequest(&r); err != nil {
				return err
			}
		}
		return nil
	})
}
