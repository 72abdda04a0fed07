package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/server"
)

// Config says how Start builds the server; options change it.
type Config struct {
	Options  server.Options
	Postgres bool // a fresh PostgreSQL database instead of SQLite
	SMTP     []smtptest.Option
	// Localhost names the server http://localhost:port instead of
	// http://127.0.0.1:port: WebAuthn takes a domain name as the relying
	// party id, never an IP address.
	Localhost bool
}

// Option changes a Config.
type Option func(*Config)

// WithPostgres runs the server on a fresh PostgreSQL database.
func WithPostgres() Option { return func(c *Config) { c.Postgres = true } }

// WithLocalhost serves at http://localhost:port, which passkeys need.
func WithLocalhost() Option { return func(c *Config) { c.Localhost = true } }

// WithOptions edits the server's options directly.
func WithOptions(f func(*server.Options)) Option {
	return func(c *Config) { f(&c.Options) }
}

// WithSMTP configures the server's SMTP server.
func WithSMTP(opts ...smtptest.Option) Option {
	return func(c *Config) { c.SMTP = append(c.SMTP, opts...) }
}

// Server is a running Gatehouse with its own data folder and SMTP server.
type Server struct {
	URL   string
	App   *server.App
	SMTP  *smtptest.Server
	Clock *testenv.Clock
	Dir   string
	Log   fmt.Stringer // everything the server logged; String is safe while it logs

	start, stop func()
}

// Service is the server's service, for arranging state quickly.
func (s *Server) Service() *auth.Service { return s.App.Service }

// ForEachDatabase runs f as a subtest on each database kind, with
// WithPostgres for PostgreSQL.
func ForEachDatabase(t *testing.T, f func(t *testing.T, db Option)) {
	for _, kind := range testenv.Databases() {
		t.Run(kind, func(t *testing.T) { f(t, databaseOption(kind)) })
	}
}

// BenchEachDatabase is ForEachDatabase for benchmarks.
func BenchEachDatabase(b *testing.B, f func(b *testing.B, db Option)) {
	for _, kind := range testenv.Databases() {
		b.Run(kind, func(b *testing.B) { f(b, databaseOption(kind)) })
	}
}

// databaseOption is the Option that puts a server on kind.
func databaseOption(kind string) Option {
	if kind == "postgres" {
		return WithPostgres()
	}
	return func(*Config) {}
}

// Start starts a server on a free loopback port, in-process, built
// exactly as `gatehouse serve` builds it. It stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := Open(t, opts...)
	s.Start()
	return s
}

// Open is Start without the start: the database is open and
// the service usable, but nothing serves requests and no background worker
// runs until Start. A test arranges state there that the workers must not
// see half made, such as a full outbox.
func Open(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	smtp := smtptest.Start(t, cfg.SMTP...)
	dir := t.TempDir()
	clock := &testenv.Clock{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if cfg.Localhost {
		base = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	logBuf := &testenv.Buffer{}
	o := cfg.Options
	o.DataDir = dir
	if o.PublicURL == "" {
		o.PublicURL = base
	}
	if o.SMTPURL == "" {
		o.SMTPURL = smtp.URL()
		o.SMTPTLS = smtp.TLSConfig()
	}
	if o.HashParams == (password.Params{}) {
		o.HashParams = testenv.TestHashParams
	}
	if o.Clock == nil {
		o.Clock = clock
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Postgres {
		o.DatabaseURL = testenv.Postgres(t)
		if o.SecretKeyFile == "" {
			o.SecretKeyFile = testenv.WriteKeyFile(t, dir)
		}
	}
	app, err := server.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := &Server{URL: base, App: app, SMTP: smtp, Clock: clock, Dir: dir, Log: logBuf}
	var started bool
	s.start = sync.OnceFunc(func() {
		started = true
		go func() { done <- app.Serve(ctx, ln) }()
	})
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if started {
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			} else {
				ln.Close()
			}
			app.Close()
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	})
	return s
}

// Start serves requests and runs the background workers of a server from
// Open; the package's Start has already called it.
func (s *Server) Start() { s.start() }

// Stop shuts the server down as SIGTERM would.
func (s *Server) Stop() { s.stop() }

// Company creates a company with an admin whose password is pw, and
// returns the admin's ID and company ID.
func (s *Server) Company(t testing.TB, name, adminEmail, pw string) (companyID, adminID string) {
	t.Helper()
	c, u, _, err := s.Service().CreateCompany(context.Background(), auth.NewCompany{
		Name: name, AdminName: strings.Split(adminEmail, "@")[0], AdminEmail: adminEmail, Password: pw,
	}, auth.Client{})
	if err != nil {
		t.Fatalf("create company: %v", err)
	}
	return c.ID, u.ID
}

// Client talks to the server as a program would (JSON, bearer tokens) or
// as a browser would (cookies, forms), without following redirects.
type Client struct {
	t      testing.TB
	base   string
	HTTP   *http.Client
	Token  string            // sent as a bearer token when set
	Header map[string]string // added to every request

	// NoOpenAPICheck turns off the OpenAPI witness (openapi.go) for a
	// client that sends what no client should, on purpose, and checks the
	// answers itself. Say why where you set it.
	NoOpenAPICheck bool
}

// Client returns a new client of the server with its own cookie jar.
func (s *Server) Client(t testing.TB) *Client { return NewClient(t, s.URL) }

// NewClient returns a client of the server at base (http://host:port),
// such as a `gatehouse serve` process, with its own cookie jar.
func NewClient(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, base: base, Header: map[string]string{},
		HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// JSON decodes the body as an object.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", r.Request.Method, r.Request.URL.Path, err, r.Body)
	}
	return m
}

// Str returns a string member of the JSON body.
func (r *Response) Str(t testing.TB, key string) string {
	t.Helper()
	v, _ := r.JSON(t)[key].(string)
	return v
}

// Code returns the problem code of an error answer.
func (r *Response) Code(t testing.TB) string { return r.Str(t, "code") }

// Do sends a request; body is sent as JSON unless it is a string or
// []byte, which are sent as they are.
func (c *Client) Do(method, path string, body any) *Response {
	c.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	return c.send(req)
}

// PostForm posts a form as a browser of this site would (with Origin).
func (c *Client) PostForm(path string, form map[string]string) *Response {
	c.t.Helper()
	vals := make([]string, 0, len(form))
	for k, v := range form {
		vals = append(vals, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(strings.Join(vals, "&")))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	return c.send(req)
}

// Get fetches a page or resource.
func (c *Client) Get(path string) *Response {
	c.t.Helper()
	return c.Do("GET", path, nil)
}

func (c *Client) send(req *http.Request) *Response {
	c.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			c.t.Fatal(err)
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	c.checkAgainstDocument(req, reqBody, resp, body)
	return &Response{Response: resp, Body: body}
}

// Login logs in through the API and returns the session token; it fails
// the test unless the answer is authenticated.
//
// A 503 with Retry-After (the hashing queue is full: a busy machine runs
// many suites at once) is retried after the wait it names, a few times,
// as a well-behaved client does; the refusal itself is tested elsewhere.
func (c *Client) Login(email, pw string) string {
	c.t.Helper()
	r := c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": pw})
	for try := 0; try < 5 && r.StatusCode == http.StatusServiceUnavailable; try++ {
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil {
			break
		}
		time.Sleep(time.Duration(min(wait, 5)) * time.Second)
		r = c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": pw})
	}
	if r.StatusCode != 200 || r.Str(c.t, "status") != auth.StatusAuthenticated {
		c.t.Fatalf("login %s: got %d %s, want 200 authenticated", email, r.StatusCode, r.Body)
	}
	return r.Str(c.t, "session_token")
}

// SessionCookie returns the value of the session cookie the client holds.
func (c *Client) SessionCookie() string {
	u, _ := http.NewRequest("GET", c.base+"/", nil)
	for _, ck := range c.HTTP.Jar.Cookies(u.URL) {
		if ck.Name == httpx.SessionCookieName {
			return ck.Value
		}
	}
	return ""
}
