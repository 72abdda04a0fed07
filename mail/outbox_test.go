package mail_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/sqldb"
)

// The worker's tests deliver the real outbox: the store on a SQLite file
// and on a fresh PostgreSQL database, read through auth's Outbox as the
// server runs it (sealed bodies, leases, attempts), to a real SMTP server.

// forEachDatabase runs f as a subtest on each database kind.
func forEachDatabase(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range testenv.Databases() {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}

// outbox is the outbox table of a fresh store, as the worker sees it
// (Queue) and as the tests look at it (row, count).
type outbox struct {
	mail.Queue
	store  *sqldb.DB
	cfg    sqldb.Config
	key    seal.Key
	sealer *seal.Sealer
	read   *sql.DB
}

// newOutbox opens a fresh store of the kind on clock and the service's
// view of its outbox, whose envelope sender is the address in from.
func newOutbox(t testing.TB, kind, from string, clock gatehouse.Clock) *outbox {
	t.Helper()
	var key seal.Key
	rand.Read(key[:])
	return openOutbox(t, testenv.StoreConfig(t, kind, clock), key, from)
}

// openOutbox is newOutbox on the store cfg, whose bodies are sealed with
// key.
func openOutbox(t testing.TB, cfg sqldb.Config, key seal.Key, from string) *outbox {
	t.Helper()
	o := &outbox{cfg: cfg, key: key, sealer: seal.New(key)}
	o.store = testenv.OpenStore(t, o.cfg)
	o.read = testenv.OpenSQL(t, o.cfg.URL, o.cfg.DataDir)
	templates, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.New(o.store, password.NewHasher(testenv.TestHashParams, 0, time.Second), o.sealer, templates,
		auth.Config{PublicURL: "https://gatehouse.test", MailFrom: from}, slog.New(slog.NewTextHandler(t.Output(), nil)), nil, nil)
	o.Queue = svc.Outbox()
	return o
}

// add queues a composed message to to, due now, as the service queues
// mail: sealed, in a transaction. It returns the message's id.
func (o *outbox) add(t testing.TB, to string, body []byte) string {
	t.Helper()
	return o.addDue(t, to, body, time.Time{})
}

// addDue is add with the message due at due (now when zero).
func (o *outbox) addDue(t testing.TB, to string, body []byte, due time.Time) string {
	t.Helper()
	var id string
	err := o.store.Update(context.Background(), func(tx gatehouse.Tx) error {
		id = gatehouse.NewID(tx.Now())
		// Sealed as auth seals the outbox, bound to the message's id.
		return tx.EnqueueMail(&gatehouse.OutboxMail{ID: id, CreatedAt: tx.Now(), Recipient: to,
			Body: o.sealer.Seal(body, []byte("outbox:"+id)), NextAttemptAt: due, Template: "test"})
	})
	if err != nil {
		t.Fatalf("queue mail: %v", err)
	}
	return id
}

// outboxRow is what the store keeps of one message.
type outboxRow struct {
	ID               string
	State            string // queued, delivered or failed
	Attempts         int    // claims counted (a released claim is not)
	BodyKept         bool
	LastErr          string
	Failure, Answer  string
	LeaseUntil, Next time.Time
	SentAt           int64 // milliseconds, as stored
}

func (o *outbox) rows(t testing.TB) []outboxRow {
	t.Helper()
	rows, err := o.read.Query(`SELECT id, sent_at, failed_at, attempts, body IS NOT NULL, last_error, failure, answer,
		lease_until, next_attempt_at FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	defer rows.Close()
	var list []outboxRow
	for rows.Next() {
		var r outboxRow
		var failed, lease, next int64
		if err := rows.Scan(&r.ID, &r.SentAt, &failed, &r.Attempts, &r.BodyKept, &r.LastErr, &r.Failure, &r.Answer, &lease, &next); err != nil {
			t.Fatalf("read the outbox: %v", err)
		}
		r.State = "queued"
		if r.SentAt != 0 {
			r.State = "delivered"
		} else if failed != 0 {
			r.State = "failed"
		}
		r.LeaseUntil, r.Next = time.UnixMilli(lease), time.UnixMilli(next)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	return list
}

// row returns the message id.
func (o *outbox) row(t testing.TB, id string) outboxRow {
	t.Helper()
	for _, r := range o.rows(t) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no message %s in the outbox", id)
	return outboxRow{}
}

// count counts the messages in state.
func (o *outbox) count(t testing.TB, state string) int {
	t.Helper()
	n := 0
	for _, r := range o.rows(t) {
		if r.State == state {
			n++
		}
	}
	return n
}

// conn opens a connection of its own to the store's database, to write
// as another program would.
func (o *outbox) conn(t testing.TB) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", o.cfg.URL
	if dsn == "" {
		driver, dsn = "sqlite", filepath.Join(o.cfg.DataDir, "gatehouse.db")+"?_busy_timeout=10000&_txlock=immediate"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// exec runs a statement on a connection of its own.
func (o *outbox) exec(t testing.TB, query string) {
	t.Helper()
	if _, err := o.conn(t).Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// lockWrites keeps the outbox from being written, from a connection of
// its own, until the returned func is called: a database busy with
// another writer.
func (o *outbox) lockWrites(t testing.TB) (unlock func()) {
	t.Helper()
	tx, err := o.conn(t).Begin() // BEGIN IMMEDIATE on SQLite: the write lock
	if err == nil && o.cfg.URL != "" {
		_, err = tx.Exec("LOCK TABLE outbox IN EXCLUSIVE MODE")
	}
	if err != nil {
		t.Fatalf("lock the outbox: %v", err)
	}
	unlock = sync.OnceFunc(func() {
		if err := tx.Rollback(); err != nil {
			t.Errorf("unlock the outbox: %v", err)
		}
	})
	t.Cleanup(unlock)
	return unlock
}

// tickingClock is the real time, but each reading is at least a
// millisecond after the last: every transaction of the store has a time
// of its own, so rows written together share it and rows written apart
// do not.
type tickingClock struct {
	mu   sync.Mutex
	last time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if !now.After(c.last) {
		now = c.last.Add(time.Millisecond)
	}
	c.last = now
	return now
}
