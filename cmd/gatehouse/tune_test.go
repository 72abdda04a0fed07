package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/gatehouse/gatehouse/server"
)

// TestTuneRuntimeGCTarget: gatehouse serve sets its collector's target only
// when the operator has not set GOGC.
func TestTuneRuntimeGCTarget(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := func(vars map[string]string) func(string) string {
		return func(k string) string {
			if k == "GOMAXPROCS" {
				return "2" // leave the processors alone
			}
			return vars[k]
		}
	}

	tuneRuntime(server.Options{}, env(nil), log)
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: the collector's target is %d, want %d", got, gcPercent)
	}
	for _, v := range []string{"50", "100", "off"} {
		tuneRuntime(server.Options{}, env(map[string]string{"GOGC": v}), log)
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("GOGC=%s: tuneRuntime changed the collector's target to %d", v, got)
		}
	}
}
