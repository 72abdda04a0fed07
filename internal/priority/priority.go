// Package priority runs work on operating-system threads of lower
// scheduling priority, so that the kernel serves a node's work in the order
// its users feel it: requests first (a session check, a page), then the
// password hashes of logins, then background work (mail delivery, queued
// reset requests, housekeeping), which nobody waits on at a screen.
//
// Go schedules goroutines on threads it shares among them, and Linux sets
// priority per thread, so a goroutine that runs at a lower priority locks
// itself to a thread and lowers that thread; it ends without unlocking, and
// the runtime then discards the thread with its priority (an unprivileged
// process cannot raise a thread's priority again). A Pool keeps such
// threads a while for its next work. Only Linux lowers one
// thread; elsewhere the functions run the work unchanged.
package priority

// Levels, as nice increments over the process's own priority. Linux gives a
// thread at nice +5 about a third of the processor time of one at 0 when
// both want a core, and one at +10 about a third of that again; a thread
// alone on a core gets all of it, whatever its nice value.
const (
	// Hash is the level of password hashes: below requests, so that a
	// session check beside a login flood still gets a core within a
	// scheduling tick.
	Hash = 5
	// Background is the level of work nobody waits on at a screen: below
	// hashes, so that a burst of reset mail does not delay logins.
	Background = 10
)
