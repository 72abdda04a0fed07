package main

import (
	"errors"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sqldb"
)

// options are the flags shared by every command that touches data, plus
// those of serve.
type options struct {
	addr           string
	data           string
	databaseURL    string
	publicURL      string
	smtpURL        string
	smtpCAFile     string
	smtpAllowPlain bool
	mailFrom       string
	secretKeyFile  string
	trustedProxies string
	cookieDomain   string
	productName    string
	logLevel       string
	logFormat      string
	dbMaxConns     int
	dbConnTimeout  time.Duration
	dbStmtTimeout  time.Duration
	sessionLife    time.Duration
	sessionIdle    time.Duration
	hashQueueWait  time.Duration
	cpuProfile     string

	webhookAllowPrivate bool
}

// dataFlags registers the flags of every command that touches data.
func (o *options) dataFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.data, "data", "./gatehouse-data", "folder of the SQLite database, the secret key and development mail")
	fs.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL URL (postgres://user@host/db); empty means SQLite under --data")
	fs.StringVar(&o.secretKeyFile, "secret-key-file", "", "file with the base64 32-byte key sealing TOTP secrets and queued mail (default <data>/secret.key with SQLite)")
	fs.StringVar(&o.publicURL, "public-url", "", "the URL people use to reach Gatehouse; the only base of links in mail (default http://<addr>)")
	o.messageFlags(fs)
	fs.IntVar(&o.dbMaxConns, "db-max-conns", 0, "largest number of database connections (default 20 for PostgreSQL)")
	fs.DurationVar(&o.dbConnTimeout, "db-connect-timeout", sqldb.DefaultConnectTimeout, "PostgreSQL: how long to wait for a new connection")
	fs.DurationVar(&o.dbStmtTimeout, "db-statement-timeout", sqldb.DefaultStatementTimeout, "PostgreSQL: longest a statement may run, or a transaction stay idle, before the request answers 503")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
}

// messageFlags registers what every message says about its sender.
func (o *options) messageFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.mailFrom, "mail-from", "Gatehouse <no-reply@localhost>", "From address of every message")
	fs.StringVar(&o.productName, "product-name", "Gatehouse", "name shown in mail and in authenticator apps")
}

// mailFlags registers how mail reaches the relay: serve's and mail test's.
func (o *options) mailFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.smtpURL, "smtp-url", "", "smtp://user:pass@host:port (STARTTLS) or smtps://... (implicit TLS); "+
		"percent-encode / # % ? @ : in the password; empty writes mail to <data>/mail and the log")
	fs.StringVar(&o.smtpCAFile, "smtp-ca-file", "", "PEM file of CA certificates trusted for the SMTP relay, besides the system's")
	fs.BoolVar(&o.smtpAllowPlain, "smtp-allow-plaintext", false, "let mail, links included, go unencrypted to an SMTP relay "+
		"off loopback that offers no STARTTLS (only on a network you trust; credentials never go in clear)")
}

// serveFlags registers the flags only serve has.
func (o *options) serveFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	o.mailFlags(fs)
	fs.StringVar(&o.trustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes whose X-Forwarded-For is believed")
	fs.StringVar(&o.cookieDomain, "cookie-domain", "", "set the session cookie for this domain (example.com), so that apps on its "+
		"subdomains behind forward auth receive it; every subdomain then gets the session cookie (docs/DEPLOYMENT.md)")
	fs.DurationVar(&o.sessionLife, "session-lifetime", 7*24*time.Hour, "absolute lifetime of a session")
	fs.DurationVar(&o.sessionIdle, "session-idle-timeout", 24*time.Hour, "a session unused this long ends")
	fs.DurationVar(&o.hashQueueWait, "hash-queue-wait", 2*time.Second, "longest a request that hashes a password (a login, a password change) is to wait for a hashing slot; "+
		"one that would wait longer, at the measured rate of hashing, answers 503 with Retry-After at once")
	o.webhookFlags(fs)
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the node to this file until it stops (for `go tool pprof`; diagnosing speed only)")
}

// webhookFlags registers the flags of the commands that check webhook
// URLs or send webhooks.
func (o *options) webhookFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.webhookAllowPrivate, "webhook-allow-private", false,
		"let webhooks reach loopback, private and other internal addresses, over http too (development and tests only)")
}

// parse reads the environment (GATEHOUSE_<FLAG>) and then the arguments,
// so that a flag beats the environment.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = usageError{fmt.Sprintf("%s=%q: %v", name, v, err)}
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "devel"
}
