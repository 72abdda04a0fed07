package mail_test

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/internal/priority"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/mail"
)

// Every goroutine of the worker calls Background first, and mail is then
// sent and recorded at the priority it set.
func TestWorkerRunsInTheBackground(t *testing.T) {
	srv := smtptest.Start(t)
	q := newOutbox(t, "sqlite", mailFrom, nil)
	for i := range 10 {
		to := fmt.Sprintf("user%d@example.com", i)
		q.add(t, to, composed(t, to, fmt.Sprintf("message %d", i)))
	}
	nice := func() int32 {
		prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		if err != nil {
			t.Errorf("getpriority: %v", err)
		}
		return int32(20 - prio)
	}
	normal := nice()
	var calls, sentAt atomic.Int32
	sentAt.Store(-100)
	w := &mail.Worker{Queue: q, Sender: newSender(t, srv.URL(), srv), Batch: 4, Concurrency: 3,
		Background: func() {
			calls.Add(1)
			priority.Lower(priority.Background)
		},
		OnSent: func() { sentAt.Store(nice()) },
	}
	runWorker(t, w)
	testenv.WaitUntil(t, "all are delivered", func() bool { return q.count(t, "delivered") == 10 })
	if got, want := calls.Load(), int32(3+2); got != want {
		t.Errorf("Background called %d times, want %d (3 senders, the claimer, the recorder)", got, want)
	}
	if want := min(normal+priority.Background, 19); sentAt.Load() != want {
		t.Errorf("nice where mail was recorded sent: %d, want %d", sentAt.Load(), want)
	}
}
