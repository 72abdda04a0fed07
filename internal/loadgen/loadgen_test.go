package loadgen

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}} {
		if got := percentile(lat, tc.p); got != tc.want {
			t.Errorf("p%v: got %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing: got %v, want 0", got)
	}
}

// Run keeps every client busy for the duration and the report counts each
// request name and its errors apart.
func TestRun(t *testing.T) {
	rep := Run(context.Background(), Config{Clients: 3, Duration: 200 * time.Millisecond}, func(ctx context.Context, c int, rec *Recorder) {
		for ctx.Err() == nil {
			rec.Time(ctx, "ok", func() error { time.Sleep(time.Millisecond); return nil })
			rec.Observe("bad", time.Millisecond, errors.New("503 unavailable"))
		}
	})
	if rep.Elapsed < 200*time.Millisecond || rep.Elapsed > 2*time.Second {
		t.Errorf("elapsed: got %v, want about 200ms", rep.Elapsed)
	}
	stats := rep.Stats()
	if len(stats) != 3 || stats[0].Name != "bad" || stats[1].Name != "ok" || stats[2].Name != "all" {
		t.Fatalf("stats: got %+v, want bad, ok, all", stats)
	}
	if stats[1].OK == 0 || stats[1].Errors != 0 || stats[0].OK != 0 || stats[0].ErrorKinds["503 unavailable"] == 0 {
		t.Errorf("got ok=%+v bad=%+v", stats[1], stats[0])
	}
	var b strings.Builder
	rep.Write(&b)
	for _, want := range []string{"3 clients", "req/s", "p99", "bad error ×"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
