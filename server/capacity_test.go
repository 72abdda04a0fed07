package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/password"
)

// The capacity line counts the refusals of its period and gives the mean
// of the waits they were refused for.
func TestCapacityLine(t *testing.T) {
	before := password.Load{Refused: 10, RefusedAtOnce: 8, RefusedWaitSum: 20 * time.Second, TimedOut: 1}
	if got := capacityLine(before, before); got != nil {
		t.Errorf("no refusal: got %v, want no line", got)
	}
	now := password.Load{Refused: 16, RefusedAtOnce: 12, RefusedWaitSum: 32 * time.Second, TimedOut: 2,
		Throughput: 87.04, Waiting: 170, QueueWait: 2 * time.Second}
	got := fmt.Sprint(capacityLine(before, now))
	want := fmt.Sprint([]any{"refused", uint64(6), "refused_on_arrival", uint64(4), "mean_estimated_wait", 3 * time.Second,
		"refused_after_waiting", uint64(1), "queue_wait", 2 * time.Second, "hashes_per_second", 87.0, "waiting_now", 170,
		"hint", "add cores or nodes: docs/PASSWORDS.md, Sizing"})
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
