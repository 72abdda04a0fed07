package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/priority"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/web"
	"github.com/gatehouse/gatehouse/webhook"
)

// Options configure an installation; the command line fills them from
// flags and the environment, tests directly.
type Options struct {
	DataDir       string
	DatabaseURL   string
	SecretKeyFile string
	PublicURL     string
	MailFrom      string
	ProductName   string
	SMTPURL       string
	SMTPTLS       *tls.Config // nil: system roots
	// SMTPCAFile is --smtp-ca-file: CA certificates trusted for the relay
	// besides the system's.
	SMTPCAFile string
	// SMTPAllowPlaintext is --smtp-allow-plaintext: mail may go
	// unencrypted to a relay off loopback that offers no STARTTLS.
	SMTPAllowPlaintext bool
	// MailProbeEvery is how long a held mail queue waits between probes of
	// the relay; zero means mail.DefaultProbeBackoff (15 s, doubling to
	// 15 minutes).
	MailProbeEvery time.Duration
	TrustedProxies httpx.Proxies
	// CookieDomain is --cookie-domain (see Config.CookieDomain).
	CookieDomain string
	// DBMaxConns, DBConnectTimeout and DBStatementTimeout size and bound
	// the PostgreSQL pool; zero means sqldb's defaults.
	DBMaxConns         int
	DBConnectTimeout   time.Duration
	DBStatementTimeout time.Duration
	SessionLife        time.Duration
	SessionIdle        time.Duration

	// WebhookAllowPrivate lets webhook endpoints be on loopback, private and
	// other internal addresses, and use http (--webhook-allow-private):
	// development and tests only.
	WebhookAllowPrivate bool
	// WebhookResolver looks webhook hosts up (nil: the system's resolver);
	// tests point it at a DNS server of their own.
	WebhookResolver *net.Resolver
	// WebhookTimeout bounds one delivery attempt (default
	// webhook.DefaultTimeout).
	WebhookTimeout time.Duration

	// HashParams default to password.DefaultParams; HashSlots to the number
	// of cores; HashQueueWait (the longest a request is to wait for a
	// hashing slot: see password.Hasher) to 2s.
	HashParams    password.Params
	HashSlots     int
	HashQueueWait time.Duration
	// CapacityReportEvery is how often, at most, the log says how many
	// requests a full hashing queue turned away (default a minute): one
	// line for a flood instead of one per refusal.
	CapacityReportEvery time.Duration

	// Clock defaults to the system clock; tests move it.
	Clock gatehouse.Clock
	Log   *slog.Logger
}

// App is an opened installation: the database, the key, the service.
type App struct {
	Opts     Options
	Log      *slog.Logger
	DB       *sqldb.DB
	Sealer   *seal.Sealer
	Hasher   *password.Hasher
	Registry *metrics.Registry
	Service  *auth.Service
	// ConnState, if set, hears each connection's state changes
	// (http.Server.ConnState): tests use it to know a request is in a
	// handler.
	ConnState func(net.Conn, http.ConnState)

	worker   *mail.Worker
	webhooks *webhook.Policy
}

// Open opens the database (migrating it), loads the key and builds the
// service. Every command that touches data starts here.
func Open(ctx context.Context, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PublicURL == "" {
		o.PublicURL = "http://127.0.0.1:8080"
	}
	if o.MailFrom == "" {
		o.MailFrom = "Gatehouse <no-reply@localhost>"
	}
	if o.HashParams == (password.Params{}) {
		o.HashParams = password.DefaultParams
	}
	if o.HashSlots <= 0 {
		o.HashSlots = runtime.NumCPU()
	}
	if o.HashQueueWait <= 0 {
		o.HashQueueWait = 2 * time.Second
	}
	if o.CapacityReportEvery <= 0 {
		o.CapacityReportEvery = time.Minute
	}
	// The templates parse, and argon2id tests itself, on the other core
	// while the database opens.
	web.Prepare()
	go mail.LoadTemplates()
	selfTest := make(chan error, 1)
	go func() { selfTest <- hashSelfTest() }()
	key, err := loadKey(o)
	if err != nil {
		return nil, err
	}
	db, err := sqldb.Open(ctx, sqldb.Config{URL: o.DatabaseURL, DataDir: o.DataDir, MaxConns: o.DBMaxConns,
		ConnectTimeout: o.DBConnectTimeout, StatementTimeout: o.DBStatementTimeout, Clock: o.Clock, Log: o.Log})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sealer := seal.New(key)
	if err := checkKey(ctx, db, sealer); err != nil {
		db.Close()
		return nil, err
	}
	templates, err := mail.LoadTemplates()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := checkHashing(<-selfTest, o.Log); err != nil {
		db.Close()
		return nil, err
	}
	a := &App{Opts: o, Log: o.Log, DB: db, Sealer: sealer, Registry: metrics.NewRegistry(), worker: &mail.Worker{},
		webhooks: &webhook.Policy{AllowPrivate: o.WebhookAllowPrivate, Resolver: o.WebhookResolver}}
	a.Hasher = password.NewHasher(o.HashParams, o.HashSlots, o.HashQueueWait)
	a.Service = auth.New(db, a.Hasher, a.Sealer, templates, auth.Config{
		PublicURL: o.PublicURL, Product: o.ProductName, MailFrom: o.MailFrom,
		SessionLifetime: o.SessionLife, SessionIdleTimeout: o.SessionIdle, Webhooks: a.webhooks,
	}, o.Log, auth.NewMetrics(a.Registry), a.worker.Notify)
	return a, nil
}

// hashSelfTest is password.SelfTest; tests replace it to see what Open
// does with each outcome.
var hashSelfTest = password.SelfTest

// checkHashing acts on the outcome of argon2id's self-test: an AVX2 path
// found wrong is logged, and the node serves with the Go path; a Go path
// found wrong stops the start, since every hash would be wrong.
func checkHashing(selfTest error, log *slog.Logger) error {
	switch {
	case errors.Is(selfTest, password.ErrAcceleratedOff):
		log.Error("argon2id self-test: the AVX2 implementation gave a wrong hash on this CPU, so passwords are hashed "+
			"with the Go implementation instead: hashes are right, but each takes about 3 times the CPU and the node "+
			"serves that many fewer logins a second. Report the CPU model; build with -tags purego to choose Go outright "+
			"(docs/PASSWORDS.md, Self-test)", "err", selfTest)
	case selfTest != nil:
		return fmt.Errorf("password hashing cannot be trusted on this machine, refusing to start: %w", selfTest)
	}
	return nil
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

// ErrKeyRequired is returned without --secret-key-file on PostgreSQL.
var ErrKeyRequired = errors.New("--secret-key-file (or GATEHOUSE_SECRET_KEY_FILE) is required with --database-url: " +
	"every node must seal and open TOTP secrets and queued mail with the same key. " +
	"Make one with: openssl rand -base64 32 > gatehouse.key, and give the same file to every node")

// ErrWrongKey is returned when --secret-key-file is not the key the
// database's secrets are sealed with.
var ErrWrongKey = errors.New("--secret-key-file holds a different key from the one this database's secrets are sealed with: " +
	"every node must be given the same key file; copy the one the other nodes use")

// keyCheckAAD names the key check's sealed value.
var keyCheckAAD = []byte("key-check")

// checkKey refuses to go on with a key that cannot open the installation's
// key check. A node with another key would fail every TOTP login it served
// and, worse, give up for good on every queued message it claimed.
func checkKey(ctx context.Context, db *sqldb.DB, sealer *seal.Sealer) error {
	stored, err := db.KeyCheck(ctx, sealer.Seal([]byte("gatehouse"), keyCheckAAD))
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if _, err := sealer.Open(stored, keyCheckAAD); err != nil {
		if errors.Is(err, seal.ErrWrongKey) {
			return ErrWrongKey
		}
		return fmt.Errorf("key check: %w", err)
	}
	return nil
}

// loadKey reads --secret-key-file. With SQLite it defaults to a key made in
// the data folder on first start; with PostgreSQL every node must be given
// the same key, so there is no default.
func loadKey(o Options) (seal.Key, error) {
	if o.SecretKeyFile != "" {
		k, err := seal.LoadKey(o.SecretKeyFile)
		if errors.Is(err, fs.ErrNotExist) {
			return k, fmt.Errorf("--secret-key-file %s does not exist; make one with: openssl rand -base64 32 > %s", o.SecretKeyFile, o.SecretKeyFile)
		}
		return k, err
	}
	if o.DatabaseURL != "" {
		return seal.Key{}, ErrKeyRequired
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return seal.Key{}, fmt.Errorf("create data folder: %w", err)
	}
	k, _, err := seal.LoadOrCreateKey(filepath.Join(o.DataDir, "secret.key"))
	return k, err
}

// Serve runs the HTTP server on ln and the background workers (mail, reset
// requests, housekeeping) until ctx ends, then shuts down gracefully:
// requests in flight finish, then the message being sent.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	log := a.Log
	sender, err := mail.NewSender(a.Opts.SMTPURL, a.MailOptions())
	if err != nil {
		return fmt.Errorf("--smtp-url: %w", err)
	}
	if sender == nil {
		dir := filepath.Join(a.Opts.DataDir, "mail")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create mail folder: %w", err)
		}
		sender = mail.NewFileSender(dir, log)
		// The contract wants mail in the log without SMTP, so a developer can
		// follow a link; those links are live. Say so loudly, once.
		log.Warn("no --smtp-url: every message, live reset and invitation links included, is written to this log and to files; "+
			"for development only, set --smtp-url in production", "dir", dir)
	} else if a.Opts.SMTPAllowPlaintext {
		log.Warn("--smtp-allow-plaintext: mail, live reset and invitation links included, goes unencrypted to an SMTP relay " +
			"that offers no STARTTLS; whoever can read the network between here and the relay can take over accounts. " +
			"Use it only on a network you trust, and prefer smtps:// or a relay with STARTTLS")
	}
	if err := a.Service.PasskeysAvailable(); err != nil {
		log.Warn("passkeys are off: WebAuthn needs a --public-url whose host is a domain name (localhost will do for development)", "err", err)
	}
	// The worker checks the relay as it starts (mail.Worker.Run): a fault
	// there holds the queue from the start, and says so in the log, the
	// metrics and /readyz.
	delivered := a.Registry.NewCounterVec("gatehouse_mail_delivered_total", "Mail delivery attempts by outcome.", "outcome")
	holds := a.Registry.NewCounterVec("gatehouse_mail_holds_total",
		"Times this node held the mail queue, by fault of the SMTP relay or its configuration (connect, tls, auth, sender).", "fault")
	w := a.worker
	w.Queue, w.Sender, w.Log = a.Service.Outbox(), sender, log
	w.OnSent = func() { delivered.Inc("sent") }
	w.OnFailed = func() { delivered.Inc("failed") }
	w.OnRetry = func() { delivered.Inc("retry") }
	w.OnHold = func(f mail.Fault) { holds.Inc(string(f)) }
	if every := a.Opts.MailProbeEvery; every > 0 {
		w.ProbeBackoff = func(int) time.Duration { return every }
	}
	w.Background = func() { priority.Lower(priority.Background) }
	hooks := a.webhookWorker()
	a.registerGauges()
	// The OpenID Connect provider signs with a key every node shares: the
	// first node to start creates it.
	if created, err := a.Service.EnsureSigningKey(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: nothing served, nothing to finish
		}
		return fmt.Errorf("signing key: %w", err)
	} else if created {
		log.Info("created the OpenID Connect signing key")
	}

	cat, err := i18n.Load()
	if err != nil {
		return err
	}
	handler, err := New(a.Service, a.DB, cat, a.Registry, Config{PublicURL: a.Service.Config().PublicURL,
		CookieDomain: a.Opts.CookieDomain, Proxies: a.Opts.TrustedProxies, MailState: a.MailState, Sealer: a.Sealer}, log)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:         a.ConnState,
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	// Work nobody waits on at a screen runs below the hashes of logins
	// (package priority): a burst of reset requests then costs logins
	// little, since its mail and its processing yield the processor.
	wg.Go(func() { w.Run(bg) })
	wg.Go(func() { hooks.Run(bg) })
	wg.Go(func() {
		priority.Lower(priority.Background)
		a.Service.RunResetRequests(bg)
	})
	wg.Go(func() {
		priority.Lower(priority.Background)
		a.Service.RunHousekeeping(bg)
	})
	wg.Go(func() { a.reportRefusals(bg) })
	defer func() {
		stopBG()
		wg.Wait()
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// MailOptions are the options of the SMTP sender, from --smtp-ca-file and
// --smtp-allow-plaintext.
func (a *App) MailOptions() mail.Options {
	return mail.Options{TLS: a.Opts.SMTPTLS, CAFile: a.Opts.SMTPCAFile, AllowPlaintext: a.Opts.SMTPAllowPlaintext}
}

// MailState is the mail line of /readyz: whether this node's queue flows,
// or is held, since when and why. It never fails readiness: a held queue
// is the relay's or its configuration's fault, the same on every node, and
// taking nodes out of the balancer would stop logins without sending a
// single message more (docs/DEPLOYMENT.md, Health checks).
func (a *App) MailState() string {
	if a.Opts.SMTPURL == "" {
		return "mail: written to files (no --smtp-url)"
	}
	h, held := a.worker.Held()
	if !held {
		return "mail: ok"
	}
	return fmt.Sprintf("mail: held since %s: %s (fault %s); no mail is sent, none is lost; next probe at %s; the log says what to fix",
		h.Since.UTC().Format(time.RFC3339), h.Fault.Summary(), h.Fault, h.NextProbe.UTC().Format(time.RFC3339))
}

// webhookWorker builds the webhook worker: its own goroutines and
// connections, so that a slow receiver delays neither mail nor requests.
func (a *App) webhookWorker() *webhook.Worker {
	if a.Opts.WebhookAllowPrivate {
		a.Log.Warn("--webhook-allow-private: webhooks may reach loopback, private and other internal addresses, over http too; " +
			"for development and tests only, never in production")
	}
	attempts := a.Registry.NewCounterVec("gatehouse_webhook_attempts_total", "Webhook delivery attempts by outcome.", "outcome")
	return &webhook.Worker{
		Queue:       a.Service.WebhookQueue(),
		Client:      webhook.NewClient(a.webhooks, webhook.ClientOptions{Timeout: a.Opts.WebhookTimeout}),
		Log:         a.Log,
		Wake:        a.Service.WebhooksQueued(),
		OnDelivered: func() { attempts.Inc("delivered") },
		OnFailed:    func() { attempts.Inc("failed") },
		Background:  func() { priority.Lower(priority.Background) },
	}
}

// reportRefusals logs, at most once per CapacityReportEvery, how many
// requests the hashing queue turned away with 503 since the last report,
// and at what estimated wait: the one line an operator needs to add cores
// or nodes, where a line per refused request would bury everything else
// under a flood.
func (a *App) reportRefusals(ctx context.Context) {
	every := a.Opts.CapacityReportEvery
	tick := time.NewTicker(every)
	defer tick.Stop()
	reported := a.Hasher.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := a.Hasher.Load()
		if line := capacityLine(reported, now); line != nil {
			a.Log.Warn("password hashing at capacity: requests answered 503 with Retry-After", line...)
		}
		reported = now
	}
}

// capacityLine returns the attributes of the log's capacity line for the
// refusals between two loads of the Hasher, or nil when there were none.
func capacityLine(before, now password.Load) []any {
	n := now.Refused - before.Refused
	if n == 0 {
		return nil
	}
	attrs := []any{"refused", n}
	if atOnce := now.RefusedAtOnce - before.RefusedAtOnce; atOnce > 0 {
		mean := (now.RefusedWaitSum - before.RefusedWaitSum) / time.Duration(atOnce)
		attrs = append(attrs, "refused_on_arrival", atOnce, "mean_estimated_wait", mean.Round(time.Millisecond))
	}
	if late := now.TimedOut - before.TimedOut; late > 0 {
		attrs = append(attrs, "refused_after_waiting", late)
	}
	return append(attrs, "queue_wait", now.QueueWait, "hashes_per_second", math.Round(now.Throughput*10)/10,
		"waiting_now", now.Waiting, "hint", "add cores or nodes: docs/PASSWORDS.md, Sizing")
}

// registerGauges exposes the hashing queue and the outbox.
func (a *App) registerGauges() {
	stat := func(pick func(running, waiting int, busy uint64) float64) func() float64 {
		return func() float64 { return pick(a.Hasher.Stats()) }
	}
	a.Registry.NewGaugeFunc("gatehouse_hash_running", "Password hashes running now.",
		stat(func(r, _ int, _ uint64) float64 { return float64(r) }))
	a.Registry.NewGaugeFunc("gatehouse_hash_waiting", "Requests waiting for a hashing slot.",
		stat(func(_, w int, _ uint64) float64 { return float64(w) }))
	a.Registry.NewCounterFunc("gatehouse_hash_rejected_total", "Requests answered 503 because the hashing queue was full.",
		stat(func(_, _ int, b uint64) float64 { return float64(b) }))
	a.Registry.NewCounterFunc("gatehouse_hash_total", "Password hashes computed (hashing and verifying) since start.",
		func() float64 { return float64(a.Hasher.Hashed()) })
	a.Registry.NewGaugeFunc("gatehouse_hash_throughput", "Password hashes a second the hashing slots finish at full use, over the last 2 seconds (what admission estimates waits from; 0 before the first).",
		func() float64 { return a.Hasher.Load().Throughput })
	a.Registry.NewGaugeFunc("gatehouse_hash_estimated_wait_seconds", "The wait for a hashing slot that a request arriving now is estimated to face (0 while a slot is free); beyond the queue wait it is refused with 503.",
		func() float64 { return a.Hasher.Load().Wait.Seconds() })
	a.Registry.NewGaugeFunc("gatehouse_mail_pending", "Messages waiting in the outbox.", queueCount(a.Service.MailCounts, false))
	a.Registry.NewGaugeFunc("gatehouse_mail_failed", "Messages that failed for good.", queueCount(a.Service.MailCounts, true))
	a.Registry.NewGaugeFunc("gatehouse_mail_held",
		"1 while this node holds the mail queue for a fault of the SMTP relay or its configuration (the log and /readyz say which), else 0.",
		func() float64 {
			if _, held := a.worker.Held(); held {
				return 1
			}
			return 0
		})
	if _, _, ok := a.DB.CheckpointStats(); ok {
		a.Registry.NewGaugeFunc("gatehouse_sqlite_log_pages",
			"Pages in SQLite's write-ahead log as the last checkpoint left it: stays near 1,000 under load; one that keeps growing means checkpoints that fail (the log says why) or readers that never let the log start over.",
			func() float64 { p, _, _ := a.DB.CheckpointStats(); return float64(p) })
		a.Registry.NewCounterFunc("gatehouse_sqlite_checkpoint_failures_total",
			"SQLite checkpoints that failed since the start (an ERROR line says why; the log grows until one succeeds).",
			func() float64 { _, f, _ := a.DB.CheckpointStats(); return float64(f) })
		a.Registry.NewCounterFunc("gatehouse_sqlite_write_transactions_total",
			"Write transactions committed on SQLite since the start.",
			func() float64 { t, _, _ := a.DB.WriteStats(); return float64(t) })
		a.Registry.NewCounterFunc("gatehouse_sqlite_commits_total",
			"SQLite commits since the start: requests waiting for the one writer share its commits, so under load transactions ÷ commits grows above 1 (DESIGN.md, SQLite).",
			func() float64 { _, c, _ := a.DB.WriteStats(); return float64(c) })
	}
	a.Registry.NewGaugeFunc("gatehouse_webhook_pending", "Webhook deliveries waiting.", queueCount(a.Service.WebhookCounts, false))
	a.Registry.NewGaugeFunc("gatehouse_webhook_failed", "Webhook deliveries given up (kept 14 days).", queueCount(a.Service.WebhookCounts, true))
	a.Registry.NewGaugeFunc("gatehouse_webhook_oldest_due_seconds",
		"How long the webhook delivery due longest has waited to be sent (0 when none is due): grows when the nodes cannot keep up or none runs; failing receivers do not raise it, their deliveries wait for their retries.",
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			d, _ := a.Service.OldestDueWebhook(ctx)
			return d.Seconds()
		})
}

// queueCount is a gauge of an outbox: what count says is waiting, or
// failed for good.
func queueCount(count func(context.Context) (pending, failed int, err error), failed bool) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p, f, _ := count(ctx)
		if failed {
			return float64(f)
		}
		return float64(p)
	}
}
