package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the PostgreSQL database

	"github.com/gatehouse/gatehouse/internal/loadgen"
)

// allScenarios in the order they run: the 1M-user database that start-up
// seeds is reused by scale.
var allScenarios = []string{"session-check", "login", "crowd", "flood", "memory", "startup", "scale", "mail", "webhooks", "oidc", "forward-auth", "passkey"}

// options are the harness's flags.
type options struct {
	duration time.Duration
	// loginDuration is the length of runs that time logins: --quick keeps
	// it at 3s, long enough for a login that waits in the hashing queue.
	loginDuration time.Duration
	scenarios     []string
	quick         bool
	postgres      string // admin URL, or "off"
	largeUsers    int
	loginLevels   []int
	mailCount     int
	burstCount    int
	starts        int
	gatehouse     string // a built binary; empty builds one
	keep          bool
	cpuProfiles   string // a folder for each node's CPU profile, or ""
	warmup        time.Duration
	settle        time.Duration
}

// harness is one run: the tools it started and the targets it measured.
type harness struct {
	out     io.Writer
	opts    options
	tmp     string
	logs    string
	bin     string // the gatehouse binary
	self    string // this program, for the baseline
	targets []loadgen.Target

	hashLimit    float64       // logins/s the hashing allows, once measured
	parallelHash float64       // hashes/s with every core hashing, measured with hashLimit
	singleHash   time.Duration // one hash alone, median, measured with hashLimit
	largeDir     string        // the seeded large SQLite database, once made
	sinkSrv      *sink
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("gatehouse-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each measured run lasts")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run")
	fs.BoolVar(&o.quick, "quick", false, "a short smoke run: 1s runs, fewer users and mails (figures are rough)")
	fs.StringVar(&o.postgres, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server on which to create (and drop) a database for the login scenario; \"off\" to skip")
	fs.IntVar(&o.largeUsers, "large-users", 1000000, "users of the large database (start-up and scale), 100 per company")
	levels := fs.String("login-clients", "2,4,8,16,32,64,128,256", "concurrencies of the login scenario")
	fs.IntVar(&o.mailCount, "mail-count", 5000, "reset mails queued to measure the outbox's delivery rate")
	fs.IntVar(&o.burstCount, "burst", 10000, "reset requests in the burst sent beside logins")
	fs.IntVar(&o.starts, "starts", 5, "timed starts of the start-up scenario (the median counts)")
	fs.StringVar(&o.gatehouse, "gatehouse", "", "use this gatehouse binary instead of building ./cmd/gatehouse")
	fs.BoolVar(&o.keep, "keep", false, "keep the work folder (databases included) after the run")
	fs.StringVar(&o.cpuProfiles, "cpuprofile", "", "write a CPU profile of each Gatehouse node (<name>.cpu) and of the harness (gatehouse-bench.cpu) to this folder, for go tool pprof")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: gatehouse-bench [flags]       measure Gatehouse against its targets (docs/BENCHMARKS.md)\n"+
			"       gatehouse-bench drive ...       drive running nodes (see drive --help)\n"+
			"       gatehouse-bench seed ...        bulk-insert users (see seed --help)\n"+
			"       gatehouse-bench baseline ...    the bare handler\n"+
			"       gatehouse-bench bare-auth ...   the bare auth_request handler (forward-auth)\n\nscenarios: %s\n\n", strings.Join(allScenarios, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for s := range strings.SplitSeq(*scen, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("unknown scenario %q (know %s)", s, strings.Join(allScenarios, ", "))
		}
		o.scenarios = append(o.scenarios, s)
	}
	for l := range strings.SplitSeq(*levels, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(l), &n); err != nil || n < 1 {
			return fmt.Errorf("--login-clients: %q is not a positive number", l)
		}
		o.loginLevels = append(o.loginLevels, n)
	}
	o.warmup, o.settle = time.Second, 2*time.Second
	if o.quick {
		o.warmup, o.settle = 200*time.Millisecond, time.Second
		quick := map[string]func(){
			"duration":      func() { o.duration = time.Second },
			"large-users":   func() { o.largeUsers = 20000 },
			"login-clients": func() { o.loginLevels = []int{2, 16, 256} },
			"mail-count":    func() { o.mailCount = 500 },
			"burst":         func() { o.burstCount = 1000 },
			"starts":        func() { o.starts = 3 },
		}
		for name, f := range quick {
			if !set[name] {
				f()
			}
		}
	}
	o.largeUsers = max(o.largeUsers/100, 1) * 100
	o.loginDuration = o.duration
	if o.quick {
		o.loginDuration = max(o.duration, 3*time.Second)
	}

	tmp, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	h := &harness{out: stdout, opts: o, tmp: tmp, logs: filepath.Join(tmp, "logs")}
	if err := os.MkdirAll(h.logs, 0o700); err != nil {
		return err
	}
	defer h.cleanup()
	if h.self, err = os.Executable(); err != nil {
		return err
	}
	h.bin = o.gatehouse
	if h.bin == "" {
		fmt.Fprintln(stdout, "building ./cmd/gatehouse …")
		if h.bin, err = buildGatehouse(ctx, tmp); err != nil {
			return err
		}
	}
	if o.cpuProfiles != "" {
		stop, err := profileHarness(o.cpuProfiles)
		if err != nil {
			return err
		}
		defer stop()
	}
	h.header()
	for _, s := range o.scenarios {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stdout, "\n== %s ==\n", s)
		before := len(h.targets)
		if err := h.scenario(ctx, s); err != nil {
			fmt.Fprintf(stdout, "%s failed: %v\n", s, err)
			if len(h.targets) == before {
				h.targets = append(h.targets, loadgen.Target{Scenario: s, What: "the scenario ran", Failed: err.Error()})
			}
		}
		if len(h.targets) > before {
			fmt.Fprintln(stdout)
			loadgen.WriteTargets(stdout, h.targets[before:])
		}
	}
	fmt.Fprintf(stdout, "\n== summary ==\n")
	loadgen.WriteTargets(stdout, h.targets)
	return ctx.Err()
}

// profileHarness writes a CPU profile of the harness itself to
// dir/gatehouse-bench.cpu until stop: the load generator shares the
// server's cores, and its share is overhead on every figure.
func profileHarness(dir string) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "gatehouse-bench.cpu"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func (h *harness) scenario(ctx context.Context, name string) error {
	switch name {
	case "session-check":
		return h.sessionCheck(ctx)
	case "login":
		return h.login(ctx)
	case "crowd":
		return h.crowd(ctx)
	case "flood":
		return h.flood(ctx)
	case "memory":
		return h.memory(ctx)
	case "startup":
		return h.startup(ctx)
	case "scale":
		return h.scale(ctx)
	case "mail":
		return h.mail(ctx)
	case "webhooks":
		return h.webhooks(ctx)
	case "oidc":
		return h.oidc(ctx)
	case "forward-auth":
		return h.forwardAuth(ctx)
	case "passkey":
		return h.passkey(ctx)
	}
	return fmt.Errorf("unknown scenario %q", name)
}

// header says what runs where, and how busy the machine is: every figure
// is only as good as the quiet of the machine.
func (h *harness) header() {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(h.out, "gatehouse-bench: %s, %d cores, %s/%s; load average %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Fprintf(h.out, "runs of %s; gatehouse %s; work folder %s (server logs in %s)\n", h.opts.duration, h.bin, h.tmp, h.logs)
	if h.opts.quick {
		fmt.Fprintln(h.out, "--quick: a smoke run; the figures are rough and the scale run is small")
	}
}

// cleanup stops the sink and removes the work folder but its logs,
// unless --keep.
func (h *harness) cleanup() {
	if h.sinkSrv != nil {
		h.sinkSrv.close()
	}
	if h.opts.keep {
		fmt.Fprintf(h.out, "\nwork folder kept: %s\n", h.tmp)
		return
	}
	entries, _ := os.ReadDir(h.tmp)
	for _, e := range entries {
		if e.Name() != "logs" {
			os.RemoveAll(filepath.Join(h.tmp, e.Name()))
		}
	}
	fmt.Fprintf(h.out, "\nserver logs kept in %s\n", h.logs)
}

func (h *harness) add(t loadgen.Target) { h.targets = append(h.targets, t) }

// instance is a Gatehouse under test and what the harness knows of it.
type instance struct {
	*node
	pop population
}

// gatehouseConfig says how to start Gatehouse.
type gatehouseConfig struct {
	name        string // for logs: "session-check", "login-postgres"
	dataDir     string
	databaseURL string   // PostgreSQL; dataDir still holds the key file
	smtp        bool     // deliver to the harness's SMTP sink
	args        []string // more flags of serve
	// localhost makes the public URL http://localhost:port: passkeys need
	// a domain name as their relying party id.
	localhost bool
}

// dir returns a fresh folder in the work folder.
func (h *harness) dir(name string) (string, error) {
	d, err := os.MkdirTemp(h.tmp, name+"-")
	return d, err
}

// seeded makes a fresh SQLite database with the population.
func (h *harness) seeded(ctx context.Context, name string, p population) (string, error) {
	d, err := h.dir(name)
	if err != nil {
		return "", err
	}
	return d, seed(ctx, d, "", p, h.out)
}

// start starts Gatehouse and waits until it is ready. The trusted proxy is
// the load generator itself: reset requests carry an X-Forwarded-For of
// their own, as they would behind a real proxy, so that the per-address
// throttle sees many people and not one flooding address.
func (h *harness) start(ctx context.Context, c gatehouseConfig, p population) (*instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--addr", addr, "--data", c.dataDir, "--trusted-proxies", "127.0.0.1"}
	if c.databaseURL != "" {
		key := filepath.Join(c.dataDir, "secret.key")
		if _, err := os.Stat(key); err != nil {
			b := make([]byte, 32)
			rand.Read(b)
			if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(b)+"\n"), 0o600); err != nil {
				return nil, err
			}
		}
		args = append(args, "--database-url", c.databaseURL, "--secret-key-file", key)
	}
	if c.smtp {
		s, err := h.sink()
		if err != nil {
			return nil, err
		}
		args = append(args, "--smtp-url", s.url())
	}
	if c.localhost {
		args = append(args, "--public-url", "http://localhost:"+addr[strings.LastIndex(addr, ":")+1:])
	}
	if h.opts.cpuProfiles != "" {
		if err := os.MkdirAll(h.opts.cpuProfiles, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "--cpuprofile", filepath.Join(h.opts.cpuProfiles, c.name+".cpu"))
	}
	args = append(args, c.args...)
	n, err := startNode("gatehouse "+c.name, addr, filepath.Join(h.logs, c.name+".log"), h.bin, args...)
	if err != nil {
		return nil, err
	}
	if _, err := n.waitReady(ctx, "/readyz", 5*time.Millisecond, 2*time.Minute); err != nil {
		n.stop()
		return nil, err
	}
	return &instance{node: n, pop: p}, nil
}

func (h *harness) sink() (*sink, error) {
	if h.sinkSrv == nil {
		s, err := startSink()
		if err != nil {
			return nil, err
		}
		h.sinkSrv = s
	}
	return h.sinkSrv, nil
}

// postgres creates a fresh database on the --postgres server and returns
// its URL and a function that drops it. ok is false when PostgreSQL is
// off or unreachable; why says which.
func (h *harness) postgres(ctx context.Context) (dbURL string, drop func(), why string) {
	if h.opts.postgres == "off" || h.opts.postgres == "" {
		return "", nil, "--postgres off"
	}
	admin, err := sql.Open("pgx", h.opts.postgres)
	if err != nil {
		return "", nil, err.Error()
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		admin.Close()
		return "", nil, "PostgreSQL unreachable: " + err.Error()
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "gatehouse_bench_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(pctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, "create database: " + err.Error()
	}
	u, err := url.Parse(h.opts.postgres)
	if err != nil {
		admin.Close()
		return "", nil, err.Error()
	}
	u.Path = "/" + name
	return u.String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(h.out, "drop database %s: %v\n", name, err)
		}
		admin.Close()
	}, ""
}

// hashRate measures, once per run, what the hashing allows: the median
// time of one argon2id hash with the default parameters (nothing else
// running), and from it the limit of NumCPU ÷ that time.
func (h *harness) hashRate(ctx context.Context) (float64, error) {
	if h.hashLimit > 0 {
		return h.hashLimit, nil
	}
	single, parallel, err := measureHashing(ctx, 20, max(3*time.Second, h.opts.duration/3))
	if err != nil {
		return 0, err
	}
	h.hashLimit = float64(runtime.NumCPU()) / single.Seconds()
	h.parallelHash = parallel
	h.singleHash = single
	fmt.Fprintf(h.out, "one argon2id hash (default parameters), median of 20: %s → hash-bound limit %d cores ÷ %s = %.1f logins/s\n",
		single.Round(100*time.Microsecond), runtime.NumCPU(), single.Round(100*time.Microsecond), h.hashLimit)
	fmt.Fprintf(h.out, "%d goroutines hashing at once: %.1f hashes/s (%.2f× the limit: what the cores give when all hash)\n",
		runtime.NumCPU(), parallel, parallel/h.hashLimit)
	return h.hashLimit, nil
}
