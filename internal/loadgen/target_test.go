package loadgen

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseProcStatus(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t  812340 kB\nVmHWM:\t   41236 kB\nVmRSS:\t   20480 kB\nThreads:\t7\n"
	m, err := ParseProcStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 20480*1024 || m.Peak != 41236*1024 {
		t.Errorf("got %+v, want RSS 20480 kB and peak 41236 kB", m)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\nVmHWM:\t12 kB\n", "VmRSS:\tlots kB\nVmHWM:\t1 kB\n"} {
		if _, err := ParseProcStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: got no error, want one", bad)
		}
	}
}

// The harness reads its own process: the figures are there and sane.
func TestReadMemorySelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatalf("ReadMemory: %v", err)
	}
	if m.RSS == 0 || m.Peak < m.RSS {
		t.Errorf("got %+v, want 0 < RSS <= peak", m)
	}
}

func TestTargetMet(t *testing.T) {
	for _, tc := range []struct {
		t    Target
		want string
	}{
		{Target{Value: 0.6, Op: ">=", Bound: 0.5}, "MET"},
		{Target{Value: 0.5, Op: ">=", Bound: 0.5}, "MET"},
		{Target{Value: 0.4, Op: ">=", Bound: 0.5}, "NOT MET"},
		{Target{Value: 2, Op: "<=", Bound: 2}, "MET"},
		{Target{Value: 30, Op: "<", Bound: 30}, "NOT MET"},
		{Target{Value: 29.9, Op: "<", Bound: 30}, "MET"},
		{Target{Value: math.NaN(), Op: "<=", Bound: 2}, "NOT MET"},
		{Target{Value: Ratio(1, 0), Op: ">=", Bound: 0}, "NOT MET"},
		{Target{Value: 1, Op: "<=", Bound: 2, Skipped: "no PostgreSQL"}, "skipped"},
		{Target{Value: 1, Op: "=", Bound: 1}, "NOT MET"},
		{Target{Value: 1, Op: "<=", Bound: 2, Failed: "gatehouse exited"}, "FAILED"},
	} {
		if got := tc.t.Verdict(); got != tc.want {
			t.Errorf("%v %s %v: got %s, want %s", tc.t.Value, tc.t.Op, tc.t.Bound, got, tc.want)
		}
	}
}

func TestWriteTargets(t *testing.T) {
	var b strings.Builder
	WriteTargets(&b, []Target{
		{Scenario: "session-check", What: "req/s ÷ bare", Value: 0.62, Op: ">=", Bound: 0.5, Unit: "×", Detail: "1240/s vs 2000/s"},
		{Scenario: "memory", What: "idle RSS", Value: 34.2, Op: "<", Bound: 30, Unit: " MB"},
		{Scenario: "login", What: "PostgreSQL", Op: ">=", Bound: 0.95, Skipped: "no PostgreSQL"},
	})
	for _, want := range []string{"0.62×", "≥ 0.50×", "MET", "34.2 MB", "< 30.0 MB", "NOT MET", "skipped", "1 of 2 measured targets met (1 skipped)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestStatsCount(t *testing.T) {
	s := Stats{ErrorKinds: map[string]int{"503 unavailable": 7, "500 internal": 1, "429 too_many_attempts": 2}}
	if got := s.Count("503"); got != 7 {
		t.Errorf("503s: got %d, want 7", got)
	}
	if got := s.Count(""); got != 10 {
		t.Errorf("all: got %d, want 10", got)
	}
}

// RunRate never runs more calls at once than allowed, and counts the
// starts it had to skip.
func TestRunRateBound(t *testing.T) {
	var running, most atomic.Int32
	rep := RunRate(context.Background(), 1000, 100*time.Millisecond, 3, func(ctx context.Context, i int, rec *Recorder) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		rec.Time(ctx, "call", func() error { Sleep(ctx, 20*time.Millisecond); return errors.New("cut off") })
	})
	if most.Load() > 3 {
		t.Errorf("in flight at once: got %d, want at most 3", most.Load())
	}
	if rep.Get("call").Errors == 0 && rep.Get("skipped (generator limit)").Errors == 0 {
		t.Errorf("got neither calls nor skips: %+v", rep.Stats())
	}
}
