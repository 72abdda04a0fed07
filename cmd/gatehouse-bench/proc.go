package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// node is a server process the harness started: Gatehouse or the bare
// baseline.
type node struct {
	name    string
	base    string // http://127.0.0.1:port
	logPath string
	cmd     *exec.Cmd
	started time.Time // just before exec
	exited  chan struct{}
	waitErr error
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startNode execs bin with args, its output going to logPath.
func startNode(name, addr, logPath, bin string, args ...string) (*node, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "\n=== %s: %s %s\n", time.Now().UTC().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	n := &node{name: name, base: "http://" + addr, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	n.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		n.waitErr = cmd.Wait()
		logf.Close()
		close(n.exited)
	}()
	return n, nil
}

func (n *node) pid() int { return n.cmd.Process.Pid }

// waitReady polls path until it answers 200, every poll interval, and
// returns how long after exec that was.
func (n *node) waitReady(ctx context.Context, path string, poll, timeout time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(n.base + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(n.started), nil
			}
		}
		select {
		case <-n.exited:
			return 0, fmt.Errorf("%s exited before it was ready (%v); see %s", n.name, n.waitErr, n.logPath)
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not ready after %s; see %s", n.name, timeout, n.logPath)
		}
		time.Sleep(poll)
	}
}

// stop asks the process to finish (SIGTERM), and kills it if it has not
// within 15 seconds.
func (n *node) stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// metric reads one sample of /metrics: the value of the first line that
// starts with series (a name, with labels if any). ok is false when the
// series is not there.
func (n *node) metric(ctx context.Context, series string) (v float64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", n.base+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, found := strings.CutPrefix(sc.Text(), series+" "); found {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil, err
		}
	}
	return 0, false, sc.Err()
}

// buildGatehouse builds ./cmd/gatehouse of the module the working
// directory is in.
func buildGatehouse(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run gatehouse-bench inside the Gatehouse module, or give --gatehouse")
	}
	bin := filepath.Join(dir, "gatehouse")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gatehouse")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, out)
	}
	return bin, nil
}

// cpuTime returns the processor time, user and system, that process pid
// has used: fields 14 and 15 of /proc/<pid>/stat, in Linux's clock ticks
// of 1/100 s.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; field 3 follows its ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command", pid, len(fields))
	}
	var ticks uint64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// cpuUse is where the processors' time went while a run lasted: to the
// Gatehouse node, and to the harness itself (its load generator and SMTP
// sink), which shares the same cores.
type cpuUse struct {
	node, harness, wall time.Duration
}

// measureCPU returns a func that, called when a run ends, reports the
// processor time node and the harness used since measureCPU was called.
// Times it cannot read are zero.
func measureCPU(n *node) func() cpuUse {
	start := time.Now()
	node0, _ := cpuTime(n.pid())
	self0, _ := cpuTime(os.Getpid())
	return func() cpuUse {
		node1, _ := cpuTime(n.pid())
		self1, _ := cpuTime(os.Getpid())
		return cpuUse{node: node1 - node0, harness: self1 - self0, wall: time.Since(start)}
	}
}

// String says how much of the cores' time each took, in percent of one core.
func (u cpuUse) String() string {
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / u.wall.Seconds() }
	return fmt.Sprintf("gatehouse %.0f%%, harness %.0f%% of one core over %s", pct(u.node), pct(u.harness), u.wall.Round(100*time.Millisecond))
}

// procCPU measures the processor time of several processes over a run,
// to say where the cores' time went a request: the throughput of a
// machine that the load generator, the proxies and the servers share is
// what they all cost together.
type procCPU struct {
	names []string
	pids  []int
	start []time.Duration
}

// measureProcs starts measuring the processes of pids, named names.
func measureProcs(names []string, pids ...int) *procCPU {
	p := &procCPU{names: names, pids: pids}
	for _, pid := range pids {
		t, _ := cpuTime(pid)
		p.start = append(p.start, t)
	}
	return p
}

// perOp says, when a run of n operations ends, each process's processor
// time an operation and their sum, in microseconds.
func (p *procCPU) perOp(n int) string {
	if n == 0 {
		return "-"
	}
	var b strings.Builder
	var total time.Duration
	for i, pid := range p.pids {
		t, _ := cpuTime(pid)
		d := t - p.start[i]
		total += d
		fmt.Fprintf(&b, "%s %.0f µs, ", p.names[i], float64(d.Microseconds())/float64(n))
	}
	fmt.Fprintf(&b, "together %.0f µs", float64(total.Microseconds())/float64(n))
	return b.String()
}
