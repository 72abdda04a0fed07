package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/sqldb"
)

// app is what every command that touches data builds from its options.
type app struct {
	opts     options
	log      *slog.Logger
	db       *sqldb.DB
	sealer   *seal.Sealer
	hasher   *password.Hasher
	registry *metrics.Registry
	svc      *auth.Service
}

// hashQueueWait is how long a login waits for a hashing slot before it is
// answered 503: long enough to ride out a burst, short enough that a flood
// cannot pile up requests.
const hashQueueWait = 2 * time.Second

// openApp opens the database (migrating it), loads the key and builds the
// service. mailQueued is called after a commit that queued mail.
func openApp(ctx context.Context, o options, logOut io.Writer, mailQueued func()) (*app, error) {
	log, err := newLogger(logOut, o.logLevel, o.logFormat)
	if err != nil {
		return nil, err
	}
	if o.publicURL == "" {
		o.publicURL = defaultPublicURL(o.addr)
	}
	key, err := loadKey(o)
	if err != nil {
		return nil, err
	}
	db, err := sqldb.Open(ctx, sqldb.Config{URL: o.databaseURL, DataDir: o.data, MaxConns: o.dbMaxConns})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	templates, err := mail.LoadTemplates()
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &app{opts: o, log: log, db: db, sealer: seal.New(key), registry: metrics.NewRegistry()}
	a.hasher = password.NewHasher(password.DefaultParams, runtime.NumCPU(), hashQueueWait)
	a.svc = auth.New(db, a.hasher, a.sealer, templates, auth.Config{
		PublicURL: o.publicURL, Product: o.productName, MailFrom: o.mailFrom,
		SessionLifetime: o.sessionLife, SessionIdleTimeout: o.sessionIdle,
	}, log, auth.NewMetrics(a.registry), mailQueued)
	return a, nil
}

func (a *app) Close() error { return a.db.Close() }

// loadKey reads --secret-key-file. With SQLite it defaults to a key made
// in the data folder on first start; with PostgreSQL every node must be
// given the same key, so there is no default.
func loadKey(o options) (seal.Key, error) {
	if o.secretKeyFile != "" {
		k, err := seal.LoadKey(o.secretKeyFile)
		if errors.Is(err, fs.ErrNotExist) {
			return k, fmt.Errorf("--secret-key-file %s does not exist; make one with: openssl rand -base64 32 > %s", o.secretKeyFile, o.secretKeyFile)
		}
		return k, err
	}
	if o.databaseURL != "" {
		return seal.Key{}, usageError{"--secret-key-file (or GATEHOUSE_SECRET_KEY_FILE) is required with --database-url: " +
			"every node must seal and open TOTP secrets and queued mail with the same key. " +
			"Make one with: openssl rand -base64 32 > gatehouse.key, and give the same file to every node"}
	}
	if err := mkdirData(o.data); err != nil {
		return seal.Key{}, err
	}
	k, _, err := seal.LoadOrCreateKey(filepath.Join(o.data, "secret.key"))
	return k, err
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
