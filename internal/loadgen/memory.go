package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Memory is a process's resident set as Linux reports it in
// /proc/<pid>/status.
type Memory struct {
	RSS  uint64 // VmRSS: resident now, in bytes
	Peak uint64 // VmHWM: the most resident since start or the last ResetPeak, in bytes
}

// ReadMemory reads a running process's resident set (Linux only).
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	return ParseProcStatus(f)
}

// ParseProcStatus reads VmRSS and VmHWM from the text of a
// /proc/<pid>/status file.
func ParseProcStatus(r io.Reader) (Memory, error) {
	var m Memory
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("%s: unexpected value %q", key, val)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("%s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb * 1024
		} else {
			m.Peak = kb * 1024
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return Memory{}, err
	}
	if seen != 2 {
		return Memory{}, fmt.Errorf("no VmRSS and VmHWM (not Linux, or a kernel thread)")
	}
	return m, nil
}

// ResetPeak sets a process's VmHWM back to its current resident set, so
// that the next reading's peak covers only what follows (Linux 4.0 and
// later, a process of the same user).
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// PeakWatch follows a process's peak resident set over a stretch of time:
// it resets VmHWM at the start and, in case the kernel cannot, samples
// VmRSS every interval, keeping the largest.
type PeakWatch struct {
	pid      int
	resetErr error
	stop     context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	sampled uint64
}

// WatchPeak starts watching pid's resident set.
func WatchPeak(pid int, every time.Duration) *PeakWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &PeakWatch{pid: pid, resetErr: ResetPeak(pid), stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := ReadMemory(pid); err == nil {
				w.mu.Lock()
				w.sampled = max(w.sampled, m.RSS)
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends the watch and returns the peak: VmHWM when the reset worked,
// else the largest sample (which can miss a spike between samples).
func (w *PeakWatch) Stop() (peak uint64, exact bool) {
	w.stop()
	<-w.done
	m, err := ReadMemory(w.pid)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.sampled = max(w.sampled, m.RSS)
	}
	if w.resetErr == nil && err == nil {
		return max(m.Peak, w.sampled), true
	}
	return w.sampled, false
}

// MB renders bytes in mebibytes with one decimal.
func MB(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
