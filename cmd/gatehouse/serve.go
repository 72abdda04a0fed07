package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/server"
)

// maxHashQueueWait bounds --hash-queue-wait well within the server's
// write timeout (60 s), after which an answer would be lost.
const maxHashQueueWait = 30 * time.Second

// open builds the installation from the options.
func open(ctx context.Context, o options, logOut io.Writer) (*server.App, error) {
	log, err := newLogger(logOut, o.logLevel, o.logFormat)
	if err != nil {
		return nil, err
	}
	proxies, err := httpx.ParseProxies(o.trustedProxies)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	publicURL := o.publicURL
	if publicURL == "" {
		publicURL = defaultPublicURL(o.addr)
	}
	if err := checkPublicURL(publicURL); err != nil {
		return nil, usageError{err.Error()}
	}
	if o.cookieDomain != "" {
		pub, _ := url.Parse(publicURL)
		if err := server.CheckCookieDomain(o.cookieDomain, pub.Hostname()); err != nil {
			return nil, usageError{err.Error()}
		}
	}
	// Refuse a wrong --smtp-url now, before anything is printed or stored.
	if _, err := mail.NewSender(o.smtpURL, mail.Options{CAFile: o.smtpCAFile, AllowPlaintext: o.smtpAllowPlain}); err != nil {
		return nil, usageError{err.Error()}
	}
	a, err := server.Open(ctx, server.Options{
		DataDir: o.data, DatabaseURL: o.databaseURL, SecretKeyFile: o.secretKeyFile, PublicURL: publicURL,
		MailFrom: o.mailFrom, ProductName: o.productName, SMTPURL: o.smtpURL, TrustedProxies: proxies,
		CookieDomain: o.cookieDomain, SMTPCAFile: o.smtpCAFile, SMTPAllowPlaintext: o.smtpAllowPlain,
		DBMaxConns: o.dbMaxConns, DBConnectTimeout: o.dbConnTimeout, DBStatementTimeout: o.dbStmtTimeout, SessionLife: o.sessionLife, SessionIdle: o.sessionIdle,
		HashQueueWait: o.hashQueueWait, Log: log,
		WebhookAllowPrivate: o.webhookAllowPrivate,
	})
	if err == server.ErrKeyRequired {
		return nil, usageError{err.Error()}
	}
	return a, err
}

func cmdServe(ctx context.Context, env environment, args []string) error {
	var o options
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	o.dataFlags(fs)
	o.serveFlags(fs)
	if err := parse(fs, args, env.getenv); err != nil {
		return err
	}
	if o.hashQueueWait <= 0 || o.hashQueueWait > maxHashQueueWait {
		return usageError{fmt.Sprintf("--hash-queue-wait %s: want more than 0 and at most %s", o.hashQueueWait, maxHashQueueWait)}
	}
	// The collector's target applies from here, before the start-up's
	// work (templates, catalogues, the database), not only once the node
	// serves (setGCTarget).
	gogc := setGCTarget(env.getenv)
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	a, err := open(ctx, o, env.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	// zitadel's op logs through slog's default logger (its WithLogger has
	// no effect in v3): make that Gatehouse's, so that its lines have our
	// format and level; it logs a client's error (invalid_grant, ...) as a
	// warning and its own failures (server_error) as errors.
	slog.SetDefault(a.Log)
	tuneRuntime(a.Opts, a.Hasher, env.getenv)
	a.Log.Debug("runtime", "gomaxprocs", runtime.GOMAXPROCS(0), "gogc", gogc)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	a.Log.Info("gatehouse serving", "addr", ln.Addr().String(), "public_url", a.Service.Config().PublicURL,
		"database", string(a.DB.Dialect()), "passwords", a.Hasher.String(), "version", version())
	if link, err := a.Service.SetupLink(ctx); err != nil {
		a.Log.Error("make setup link", "err", err)
	} else if link != "" {
		a.Log.Info("no company yet: open the setup link to create the first company and its admin", "link", link)
		fmt.Fprintf(env.stdout, "\nGatehouse is ready. Open this one-time link to create your company and admin account:\n\n    %s\n\n", link)
	}
	// Start-up leaves garbage (template parsing): hand it back to the
	// system once the node serves, so that an idle node is as small as it
	// can be.
	go func() {
		time.Sleep(time.Second)
		debug.FreeOSMemory()
	}()
	err = a.Serve(ctx, ln)
	a.Log.Info("stopped")
	return err
}

// startCPUProfile profiles the process into path until stop: the profile
// of a node under real load, as gatehouse-bench --cpuprofile takes it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// tuneRuntime gives the Go runtime one more processor per hashing slot
// than there are cores while hashes run, unless GOMAXPROCS says otherwise:
// the hashes run on threads of lower priority (password.Hasher), and a
// request that arrives while every core hashes then finds a processor of
// the runtime free and a thread the kernel runs first, instead of waiting
// for the runtime to preempt a hash (up to 10 ms, every time). Once no
// hash has run for a second (password.Hasher.OnHashing) the processors go
// back to one a core: more processors than cores only cost the cheap
// requests, whose threads the kernel then switches between and whose idle
// processors the scheduler spins looking for work, some 10% of a
// forward-auth check's processor time (docs/BENCHMARKS.md, "Forward auth").
func tuneRuntime(o server.Options, h *password.Hasher, getenv func(string) string) {
	if getenv("GOMAXPROCS") != "" {
		return
	}
	cores := runtime.NumCPU()
	runtime.GOMAXPROCS(cores)
	h.OnHashing(func(hashing bool) {
		if hashing {
			runtime.GOMAXPROCS(cores + o.HashSlots)
		} else {
			runtime.GOMAXPROCS(cores)
		}
	})
}

// setGCTarget lets the heap grow to gcPercent over what is live before
// the collector runs, unless GOGC says otherwise, and returns the target
// in force. The live heap is a few megabytes (the argon2id memory is
// outside it), so at Go's default of 100 it collected several times a
// second under load, a fifth of a cheap request's processor time. 200 took
// a session or forward-auth check from about 95 to 75 µs and the peak of
// 256 logins from 176 to 185 MB; 400 saved a little more and peaked at up
// to 191 MB, too near the 200 MB bound (docs/BENCHMARKS.md, The
// collector's target).
//
// cmdServe sets it first, before the start-up's work: the start allocates
// about 5 MB, most of it garbage (the templates' and catalogues' checks),
// which at Go's default target took one collection more in the middle of
// it, and the objects that live on then pinned more half-used heap spans:
// 0.6 MB more resident at idle than with the target set from the first
// allocation (docs/BENCHMARKS.md, Idle memory).
//
// It sets no memory limit, and needs none for the hashes: each hashing slot
// maps its argon2id memory once, outside the Go heap (password.Hasher), so
// slots × 64 MiB is neither garbage the heap grows for nor something a
// limit could bound; GOMEMLIMIT would bound only the rest of the heap
// (docs/PASSWORDS.md, Sizing), and a limit near a legitimately large live
// heap would make the collector run without end. An operator's GOMEMLIMIT
// still applies, the runtime reads it.
func setGCTarget(getenv func(string) string) (gogc string) {
	if gogc = getenv("GOGC"); gogc != "" {
		return gogc
	}
	debug.SetGCPercent(gcPercent)
	return strconv.Itoa(gcPercent)
}

// gcPercent is the collector's target when GOGC is not set (setGCTarget).
const gcPercent = 200

// checkPublicURL refuses a --public-url that cannot be the base of links
// in mail: one without http(s), a host, or with a query.
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url %q: want the URL people open, such as https://login.example.com", s)
	}
	return nil
}

// defaultPublicURL derives http://host:port from --addr, naming the local
// machine when the address listens on every interface.
func defaultPublicURL(addr string) string {
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", format)}
}
