package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clip"
	"github.com/gatehouse/gatehouse/internal/priority"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/webhook"
)

// Lifetimes and limits that ../shared/DESIGN.md sets.
const (
	ChallengeLifetime    = 10 * time.Minute
	ChallengeMaxFailures = 5
	ResetTokenLifetime   = time.Hour
	InvitationLifetime   = 7 * 24 * time.Hour
	SetupTokenLifetime   = 24 * time.Hour
	TempPasswordLifetime = 72 * time.Hour
	// ReauthWindow is how long after a login sensitive changes need no password.
	ReauthWindow = 15 * time.Minute
	// touchInterval bounds the writes that keep sessions alive.
	touchInterval = time.Minute
)

// Config is what the service needs to know about its installation.
type Config struct {
	// PublicURL is the only base of links in mail, never a request's Host.
	PublicURL string
	// Product names the service in mail and authenticator apps.
	Product string
	// MailFrom is the From of every message.
	MailFrom string
	// SessionLifetime is the absolute lifetime of a session (default 7 days);
	// SessionIdleTimeout ends a session unused for that long (default 24h).
	SessionLifetime    time.Duration
	SessionIdleTimeout time.Duration
	// Webhooks says where webhook endpoints may point (nil: public
	// addresses only, names looked up with the system's resolver).
	Webhooks *webhook.Policy
}

// Service implements the use cases.
type Service struct {
	store     gatehouse.Store
	hasher    *password.Hasher
	sealer    *seal.Sealer
	templates *mail.Templates
	cfg       Config
	log       *slog.Logger
	metrics   *Metrics

	// mailQueued wakes the mail worker after a commit that queued mail;
	// resetQueued wakes the reset-request worker.
	mailQueued  func()
	resetQueued chan struct{}
	// webhooksQueued wakes the webhook worker after a commit that queued
	// deliveries (WebhooksQueued).
	webhooksQueued chan struct{}

	// touching holds the IDs of sessions whose activity is being written
	// (see touch).
	touching sync.Map

	// intake groups the writes of concurrent forgot-password requests.
	intake resetIntake

	// rp is the WebAuthn relying party of the public URL, made on first use.
	rpOnce sync.Once
	rp     *webauthn.WebAuthn
	rpErr  error
	// oidcKeys holds the provider's signing keys opened, by ID (see
	// SigningKeys).
	oidcKeys sync.Map
}

// Metrics are the counters the service keeps.
type Metrics struct {
	Logins     *metrics.CounterVec // by result
	MailQueued *metrics.CounterVec // by template
	// WebhooksGivenUp counts deliveries given up, by reason (see
	// NewMetrics); WebhooksDisabled endpoints disabled, by reason
	// (gatehouse.WebhookDisabledFailing or WebhookDisabledGone).
	WebhooksGivenUp, WebhooksDisabled *metrics.CounterVec
}

// Reasons a webhook delivery is given up, in gatehouse_webhook_given_up_total.
const (
	givenUpExpired  = "expired"  // failed for WebhookRetryFor
	givenUpDisabled = "disabled" // its endpoint was disabled
	givenUpSecret   = "secret"   // the signing secret does not open with this node's key
)

// NewMetrics registers the service's metrics.
func NewMetrics(r *metrics.Registry) *Metrics {
	return &Metrics{
		Logins:     r.NewCounterVec("gatehouse_logins_total", "Login attempts by result (each login step counts).", "result"),
		MailQueued: r.NewCounterVec("gatehouse_mail_queued_total", "Messages queued for delivery, by template.", "template"),
		WebhooksGivenUp: r.NewCounterVec("gatehouse_webhook_given_up_total",
			"Webhook deliveries this node gave up, by reason: expired (failed for a day), disabled (their endpoint was disabled), secret (the signing secret does not open with this node's key).", "reason"),
		WebhooksDisabled: r.NewCounterVec("gatehouse_webhook_endpoints_disabled_total",
			"Webhook endpoints this node disabled, by reason: failing (every attempt failed for 5 days) or gone (the receiver answered 410).", "reason"),
	}
}

// New returns the service. mailQueued may be nil.
func New(store gatehouse.Store, hasher *password.Hasher, sealer *seal.Sealer, templates *mail.Templates,
	cfg Config, log *slog.Logger, m *Metrics, mailQueued func()) *Service {
	if cfg.Product == "" {
		cfg.Product = "Gatehouse"
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 7 * 24 * time.Hour
	}
	if cfg.SessionIdleTimeout <= 0 {
		cfg.SessionIdleTimeout = 24 * time.Hour
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if m == nil {
		m = NewMetrics(metrics.NewRegistry())
	}
	if mailQueued == nil {
		mailQueued = func() {}
	}
	return &Service{
		store: store, hasher: hasher, sealer: sealer, templates: templates, cfg: cfg, log: log,
		metrics: m, mailQueued: mailQueued, resetQueued: make(chan struct{}, 1), webhooksQueued: make(chan struct{}, 1),
		intake: resetIntake{threads: priority.NewPool(priority.Background)},
	}
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Client describes who is calling: the address used for throttling and the
// audit log, the browser, and the preferred language for mail.
type Client struct {
	IP        string
	UserAgent string
	Lang      string
	// ForMFAApp marks a login that returns to an application requiring a
	// second factor (the pages' /login?rd=): a user without one sets it
	// up before the login completes. Only Login reads it; the later steps
	// carry the mark on their challenge.
	ForMFAApp bool
}

// Identity is an authenticated caller: a live session and its user, or an
// API key (Key set, Session and User nil). Only the admin methods (through
// Actor) and the operator's provisioning methods accept a key; every other
// method needs a User.
type Identity struct {
	Session *gatehouse.Session
	User    *gatehouse.User
	Key     *gatehouse.APIKey
}

// update runs fn in a store transaction and wakes the mail worker when the
// transaction queued mail.
func (s *Service) update(ctx context.Context, fn func(tx gatehouse.Tx, o *outcome) error) error {
	return s.commit(ctx, s.store.Update, fn)
}

// updateBackground is update for work that should yield to requests (see
// gatehouse.Store.UpdateBackground).
func (s *Service) updateBackground(ctx context.Context, fn func(tx gatehouse.Tx, o *outcome) error) error {
	return s.commit(ctx, s.store.UpdateBackground, fn)
}

// updateLazy is update for a transaction that need not wait for the disk
// (gatehouse.Store.UpdateLazy): the steps of a login that succeeds.
func (s *Service) updateLazy(ctx context.Context, fn func(tx gatehouse.Tx, o *outcome) error) error {
	return s.commit(ctx, s.store.UpdateLazy, fn)
}

func (s *Service) commit(ctx context.Context, update func(context.Context, func(gatehouse.Tx) error) error,
	fn func(tx gatehouse.Tx, o *outcome) error) error {
	var o outcome
	err := update(ctx, func(tx gatehouse.Tx) error {
		o = outcome{}
		ctx := &changeTx{Tx: tx}
		if err := fn(ctx, &o); err != nil {
			return err
		}
		return s.queueWebhooks(ctx, &o)
	})
	if err == nil && o.mailQueued {
		s.mailQueued()
	}
	if err == nil && o.webhooksQueued {
		wake(s.webhooksQueued)
	}
	if err == nil {
		err = o.err
	}
	return err
}

// outcome collects what a transaction did that matters after the commit.
type outcome struct {
	mailQueued     bool
	webhooksQueued bool
	// err is returned to the caller after the transaction commits: a
	// refusal whose audit event and counters must be kept.
	err error
}

// audit records a security event in the transaction. The events of a
// transaction of commit are also what its webhooks are made of
// (queueWebhooks), so an event that has a webhook may only be audited
// there.
func (s *Service) audit(tx gatehouse.Tx, e gatehouse.AuditEvent) error {
	if err := checkAuditedInCommit(tx, e.Type); err != nil {
		return err
	}
	e.ID = gatehouse.NewID(tx.Now())
	e.At = tx.Now()
	return tx.AddAuditEvent(&e)
}

// event builds an audit event about target, by actor (nil for the user
// themselves acting without a session, or the operator), from client.
func event(typ string, companyID string, actorID, targetID string, c Client) gatehouse.AuditEvent {
	return gatehouse.AuditEvent{Type: typ, CompanyID: companyID, ActorID: actorID, TargetID: targetID,
		IP: c.IP, UserAgent: userAgent(c.UserAgent)}
}

// queueMail renders a message to the user to in their language (see
// mailLang), seals it and adds it to the outbox in the transaction.
func (s *Service) queueMail(tx gatehouse.Tx, o *outcome, to *gatehouse.User, c Client, name string, d mail.Data) error {
	lang := mailLang(to, c)
	d.Product = s.cfg.Product
	if d.At.IsZero() {
		d.At = tx.Now()
	}
	m, err := s.templates.Render(name, lang, d)
	if err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	m.To = to.Email
	body, err := mail.Compose(s.cfg.MailFrom, m, tx.Now())
	if err != nil {
		return fmt.Errorf("compose %s: %w", name, err)
	}
	id := gatehouse.NewID(tx.Now())
	om := &gatehouse.OutboxMail{
		ID: id, CreatedAt: tx.Now(), Recipient: m.To, Body: s.sealer.Seal(body, outboxAAD(id)),
		CompanyID: to.CompanyID, UserID: to.ID, Template: name,
	}
	// A link with a lifetime (a token's) expires; a link to a page
	// (webhook_disabled's) does not.
	if d.Link != "" && d.ExpiresIn > 0 {
		om.LinkExpiresAt = tx.Now().Add(d.ExpiresIn)
	}
	if err := tx.EnqueueMail(om); err != nil {
		return err
	}
	s.metrics.MailQueued.Inc(name)
	o.mailQueued = true
	return nil
}

// mailLang is the language of mail to u: the one u chose, else the one of
// the request that caused it (the browser of u, or of the admin acting on
// u, who usually shares it).
func mailLang(u *gatehouse.User, c Client) string {
	if u.Language != "" {
		return u.Language
	}
	return c.Lang
}

func outboxAAD(id string) []byte { return []byte("outbox:" + id) }

// The pages the links auth mails and prints open, each with ?token=;
// package web serves them at these paths.
const (
	ResetPasswordPath = "/reset-password" // reset and invitation links
	SetupPath         = "/setup"          // the setup link printed at the first start
)

// link builds a link from the public URL only.
func (s *Service) link(path string, query url.Values) string {
	return s.cfg.PublicURL + path + "?" + query.Encode()
}

// userAgent is a client's User-Agent as it is stored and mailed: valid
// UTF-8 without NUL, at most 256 bytes. HTTP lets a client send any byte
// in a header, and PostgreSQL refuses text that is not UTF-8: stored as
// sent, a crafted header would fail every login of that client with a 500.
func userAgent(s string) string {
	return clip.Prefix(strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD"), 256)
}
