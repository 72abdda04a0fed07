package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/totp"
	"github.com/gatehouse/gatehouse/webhook"
)

// The service tests run every rule on the real things, below HTTP: the
// store on a SQLite file and on a fresh PostgreSQL database, the real
// password hasher (with cheap parameters), real sealing, the real mail
// templates, and a mail worker that delivers to a real SMTP server in the
// test's process. Time is a clock the test moves.
//
// Each rule is a subtest named after the error code it expects, then the
// case: TestLastAdmin/postgres/last_admin/demote_self. A case whose point
// is that something is allowed keeps the code of the rule it belongs to.

const (
	goodPW  = testenv.GoodPassword
	otherPW = testenv.OtherPassword
	// rejectedEmail is an address the test SMTP server refuses for good
	// (550): its mail is given up, a mail problem.
	rejectedEmail = "rejected@example.com"
)

// env is the service on one real database.
type env struct {
	svc    *auth.Service
	hasher *password.Hasher
	store  *sqldb.DB
	cfg    sqldb.Config
	clock  *testenv.Clock
	smtp   *smtptest.Server
	log    *testenv.Buffer
	key    seal.Key     // the service's --secret-key-file key
	seq    atomic.Int64 // numbers the companies, users and client addresses a test makes

	// serviceOn builds another service as svc was, on store: the same
	// hasher, key, templates, configuration and mail worker.
	serviceOn func(store gatehouse.Store) *auth.Service

	hashOnce sync.Once
	hash     string // of goodPW, for users added straight into the store
}

// forEachDatabase runs f as a subtest on each database kind, each with an
// env of its own.
func forEachDatabase(t *testing.T, f func(t *testing.T, e *env)) {
	for _, kind := range testenv.Databases() {
		t.Run(kind, func(t *testing.T) { f(t, newEnv(t, kind)) })
	}
}

// newEnv opens a fresh store of the kind and builds the service on it as
// server.Open does, with the mail worker and the reset-request worker
// running until the test ends.
func newEnv(t testing.TB, kind string) *env {
	t.Helper()
	return newEnvHashing(t, kind, testenv.TestHashParams)
}

// newEnvHashing is newEnv with the service's hasher on params. Webhook
// endpoints may be on loopback (the tests' receivers) unless configure
// says otherwise.
func newEnvHashing(t testing.TB, kind string, params password.Params, configure ...func(*auth.Config)) *env {
	t.Helper()
	e := &env{clock: &testenv.Clock{}, log: &testenv.Buffer{}}
	e.cfg = testenv.StoreConfig(t, kind, e.clock)
	e.store = testenv.OpenStore(t, e.cfg)
	e.smtp = smtptest.Start(t, smtptest.WithRejectedRecipients(rejectedEmail))
	rand.Read(e.key[:])
	templates, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	e.hasher = password.NewHasher(params, 0, 10*time.Second)
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	worker := &mail.Worker{Log: log}
	cfg := auth.Config{
		PublicURL: "https://gatehouse.test", MailFrom: "Gatehouse <no-reply@gatehouse.test>",
		Webhooks: &webhook.Policy{AllowPrivate: true},
	}
	for _, f := range configure {
		f(&cfg)
	}
	e.serviceOn = func(store gatehouse.Store) *auth.Service {
		return auth.New(store, e.hasher, seal.New(e.key), templates, cfg, log, nil, worker.Notify)
	}
	e.svc = e.serviceOn(e.store)
	sender, err := mail.NewSender(e.smtp.URL(), mail.Options{TLS: e.smtp.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	worker.Queue, worker.Sender = e.svc.Outbox(), sender

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(ctx) })
	wg.Go(func() { e.svc.RunResetRequests(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if t.Failed() {
			t.Logf("service log:\n%s", e.log)
		}
	})
	return e
}

var ctx = context.Background()

// client returns a caller with an address of its own, so that the
// address throttle of one case never meets another's.
func (e *env) client() auth.Client {
	n := e.seq.Add(1)
	return auth.Client{IP: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), UserAgent: "auth-test"}
}

// company creates a company with an admin whose password is goodPW, and
// returns the admin signed in.
func (e *env) company(t testing.TB) *auth.Identity {
	t.Helper()
	n := e.seq.Add(1)
	_, admin, _, err := e.svc.CreateCompany(ctx, auth.NewCompany{
		Name: fmt.Sprintf("Company %d", n), AdminName: fmt.Sprintf("Admin %d", n),
		AdminEmail: fmt.Sprintf("admin%d@example.com", n), Password: goodPW,
	}, e.client())
	if err != nil {
		t.Fatalf("create company: %v", err)
	}
	return e.signIn(t, admin.Email, goodPW)
}

// user adds an active user of the company, with the password goodPW,
// straight into the store: arranging, not the rule under test.
func (e *env) user(t testing.TB, companyID string, role gatehouse.Role) *gatehouse.User {
	t.Helper()
	e.hashOnce.Do(func() {
		h, err := password.NewHasher(testenv.TestHashParams, 1, time.Second).Hash(ctx, goodPW)
		if err != nil {
			panic(err)
		}
		e.hash = h
	})
	hash := e.hash
	n := e.seq.Add(1)
	var u *gatehouse.User
	err := e.store.Update(ctx, func(tx gatehouse.Tx) error {
		u = &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: companyID, Email: fmt.Sprintf("user%d@example.com", n),
			Name: fmt.Sprintf("User %d", n), Role: role, PasswordHash: hash, PasswordChangedAt: tx.Now(), CreatedAt: tx.Now()}
		return tx.CreateUser(u)
	})
	if err != nil {
		t.Fatalf("add user: %v", err)
	}
	return u
}

// member adds an active member of id's company and returns them signed in.
func (e *env) member(t testing.TB, id *auth.Identity) *auth.Identity {
	t.Helper()
	u := e.user(t, id.User.CompanyID, gatehouse.RoleMember)
	return e.signIn(t, u.Email, goodPW)
}

// admin adds another active admin of id's company and returns them signed in.
func (e *env) admin(t testing.TB, id *auth.Identity) *auth.Identity {
	t.Helper()
	u := e.user(t, id.User.CompanyID, gatehouse.RoleAdmin)
	return e.signIn(t, u.Email, goodPW)
}

// signIn logs in with the password alone and returns the identity of the
// session; it fails the test unless the login completes.
func (e *env) signIn(t testing.TB, email, pw string) *auth.Identity {
	t.Helper()
	res, err := e.svc.Login(ctx, email, pw, e.client())
	if err != nil || res.Status != auth.StatusAuthenticated {
		t.Fatalf("login %s: got %+v, %v; want authenticated", email, res, err)
	}
	return e.authenticate(t, res.SessionToken)
}

// authenticate returns the identity of a session token, failing the test
// if the session does not work.
func (e *env) authenticate(t testing.TB, token string) *auth.Identity {
	t.Helper()
	id, err := e.svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return id
}

// loginStep logs in with the password and fails the test unless the answer
// has the status want; it returns the answer.
func (e *env) loginStep(t testing.TB, email, pw, want string) *auth.LoginResult {
	t.Helper()
	res, err := e.svc.Login(ctx, email, pw, e.client())
	if err != nil || res.Status != want {
		t.Fatalf("login %s: got %+v, %v; want %s", email, res, err, want)
	}
	return res
}

// loginForMFAApp logs in for an app that requires a second factor
// (ForMFAApp) as a user without one: it fails the test unless the login
// asks for the setup before any session, sets up a code, and returns the
// completed login.
func (e *env) loginForMFAApp(t testing.TB, email string) *auth.LoginResult {
	t.Helper()
	c := e.client()
	c.ForMFAApp = true
	res, err := e.svc.Login(ctx, email, goodPW, c)
	if err != nil || res.Status != auth.StatusTOTPSetupRequired || res.SessionToken != "" {
		t.Fatalf("login for the app: got %+v, %v; want totp_setup_required and no session", res, err)
	}
	en, err := e.svc.LoginTOTPSetup(ctx, res.Challenge, e.client())
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.svc.LoginTOTPSetupConfirm(ctx, res.Challenge, e.code(decodeSecret(t, en.Secret), 0), e.client())
	if err != nil || done.Status != auth.StatusAuthenticated {
		t.Fatalf("setup confirm: got %+v, %v; want authenticated", done, err)
	}
	return done
}

// userByID reads a user as the store has them now.
func (e *env) userByID(t testing.TB, id string) *gatehouse.User {
	t.Helper()
	var u *gatehouse.User
	err := e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		u, err = tx.User(id)
		return err
	})
	if err != nil {
		t.Fatalf("read user %s: %v", id, err)
	}
	return u
}

// events returns the types of the company's audit events, oldest first.
func (e *env) events(t testing.TB, companyID string) []string {
	t.Helper()
	var types []string
	err := e.store.View(ctx, func(tx gatehouse.Tx) error {
		list, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: companyID, Limit: 1000})
		for i := len(list) - 1; i >= 0; i-- {
			types = append(types, list[i].Type)
		}
		return err
	})
	if err != nil {
		t.Fatalf("audit events: %v", err)
	}
	return types
}

// enableTOTP turns on id's 2FA as the profile page does, and returns the
// secret and the recovery codes. The confirming code's step is used up:
// a login in the same 30 seconds needs the next step's code.
func (e *env) enableTOTP(t testing.TB, id *auth.Identity) (secret []byte, codes []string) {
	t.Helper()
	en, err := e.svc.BeginTOTPEnrollment(ctx, id, "", e.client())
	if err != nil {
		t.Fatalf("begin enrollment: %v", err)
	}
	secret = decodeSecret(t, en.Secret)
	codes, err = e.svc.ConfirmTOTP(ctx, id, e.code(secret, 0), e.client())
	if err != nil {
		t.Fatalf("confirm enrollment: %v", err)
	}
	id.User = e.userByID(t, id.User.ID)
	return secret, codes
}

// code is the TOTP code of secret at the clock's step plus offset.
func (e *env) code(secret []byte, offset int64) string {
	return totp.Code(secret, totp.Step(e.clock.Now())+offset)
}

// nextStep moves the clock to the start of the next TOTP step, so that a
// code of the new step is neither used up nor about to change.
func (e *env) nextStep() {
	now := e.clock.Now()
	e.clock.Advance(time.Unix((totp.Step(now)+1)*int64(totp.Period/time.Second), 0).Sub(now))
}

func decodeSecret(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		t.Fatalf("secret %q: %v", s, err)
	}
	return b
}

// wantCode fails the test unless err carries the code; "" wants no error.
func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("%s: got %v (code %q), want code %q", what, err, got, code)
	}
}

// concurrently runs f n times at once and returns the errors in the order
// of i.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			errs[i] = f(i)
		})
	}
	start.Done()
	wg.Wait()
	return errs
}

// countCodes tallies the error codes of errs ("" for success).
func countCodes(errs []error) map[string]int {
	m := map[string]int{}
	for _, err := range errs {
		m[gatehouse.ErrorCode(err)]++
	}
	return m
}

// mailToken waits for a message to the address whose subject contains
// subject, and returns the token of its link.
func (e *env) mailToken(t testing.TB, to, subject string) string {
	t.Helper()
	return testenv.LinkToken(t, e.smtp.WaitFor(t, to, subject).Text)
}
