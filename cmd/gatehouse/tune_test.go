package main

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/server"
)

// cheapParams are the cheapest argon2id parameters Params.Validate takes.
var cheapParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestSetGCTarget: gatehouse serve sets its collector's target only when
// the operator has not set GOGC, and says which target is in force.
func TestSetGCTarget(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}

	if got := setGCTarget(env(nil)); got != strconv.Itoa(gcPercent) {
		t.Errorf("GOGC unset: setGCTarget says %q, want %q", got, strconv.Itoa(gcPercent))
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: the collector's target is %d, want %d", got, gcPercent)
	}
	for _, v := range []string{"50", "100", "off"} {
		if got := setGCTarget(env(map[string]string{"GOGC": v})); got != v {
			t.Errorf("GOGC=%s: setGCTarget says %q, want %q", v, got, v)
		}
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("GOGC=%s: setGCTarget changed the collector's target to %d", v, got)
		}
	}
}

// TestTuneRuntimeProcessors: gatehouse serve runs with one processor a core,
// one more a hashing slot while hashes run, and back to one a core once
// they stop; with GOMAXPROCS set it leaves the processors alone.
func TestTuneRuntimeProcessors(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	cores := runtime.NumCPU()

	h := password.NewHasher(cheapParams, 3, time.Minute)
	tuneRuntime(server.Options{HashSlots: 3}, h, func(string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != cores {
		t.Errorf("after start: got %d processors, want %d (the cores)", got, cores)
	}
	if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != cores+3 {
		t.Errorf("just after a hash: got %d processors, want %d (cores + slots)", got, cores+3)
	}
	deadline := time.Now().Add(time.Minute)
	for runtime.GOMAXPROCS(0) != cores && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := runtime.GOMAXPROCS(0); got != cores {
		t.Errorf("after the hashes stopped: got %d processors, want %d (the cores)", got, cores)
	}

	runtime.GOMAXPROCS(5)
	h = password.NewHasher(cheapParams, 3, time.Minute)
	tuneRuntime(server.Options{HashSlots: 3}, h, func(k string) string {
		if k == "GOMAXPROCS" {
			return "5"
		}
		return ""
	})
	if _, err := h.Hash(t.Context(), "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 5 {
		t.Errorf("GOMAXPROCS=5, after a hash: got %d processors, want 5", got)
	}
}

// TestServeLogsRuntime: gatehouse serve sets the collector's target at its
// start (setGCTarget), and its debug log says which target is in force:
// GOGC's when the operator set it, gcPercent otherwise.
func TestServeLogsRuntime(t *testing.T) {
	for _, c := range []struct{ gogc, want string }{{"", strconv.Itoa(gcPercent)}, {"150", "150"}} {
		p := serve(t, []string{"GOGC=" + c.gogc, "GATEHOUSE_LOG_LEVEL=debug"}, "--data", t.TempDir())
		var line string // the text handler's: msg=runtime gomaxprocs=2 gogc=200
		for _, l := range strings.Split(p.stderr.String()+p.stdout.String(), "\n") {
			if strings.Contains(l, " msg=runtime ") {
				line = l
			}
		}
		if !strings.Contains(line+" ", " gogc="+c.want+" ") {
			t.Errorf("GOGC=%q: the runtime line is %q, want gogc %s", c.gogc, line, c.want)
		}
	}
}
