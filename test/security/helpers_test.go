package security_test

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/server"
	"github.com/gatehouse/gatehouse/totp"
	"github.com/gatehouse/gatehouse/web"
)

const (
	pw      = testenv.GoodPassword
	otherPW = testenv.OtherPassword
	wrongPW = "wrong guess of a password"
)

// world is a server with two companies, the shape most attacks need:
// Acme with its admin Ada, the member Mia and the disabled member Dan;
// Bolt with its admin Bob and the member Ben. Every password is pw.
type world struct {
	s                       *servertest.Server
	acme, bolt              string // company IDs
	ada, mia, dan, bob, ben string // user IDs

	stolen map[string]string // session tokens by email, as an attacker might hold them
}

// newWorld starts a server with the two companies. The server believes
// X-Forwarded-For from 127.0.0.1, so that a test can pose as many client
// addresses (see from).
func newWorld(t *testing.T, opts ...servertest.Option) *world {
	t.Helper()
	// On localhost, not 127.0.0.1: passkeys need a domain name.
	opts = append([]servertest.Option{viaProxy(), servertest.WithLocalhost()}, opts...)
	s := servertest.Start(t, opts...)
	w := &world{s: s}
	w.acme, w.ada = s.Company(t, "Acme", "ada@acme.example", pw)
	w.bolt, w.bob = s.Company(t, "Bolt", "bob@bolt.example", pw)
	w.mia = s.AddUser(t, w.acme, "mia@acme.example", pw, gatehouse.RoleMember)
	w.dan = s.AddUser(t, w.acme, "dan@acme.example", pw, gatehouse.RoleMember)
	w.ben = s.AddUser(t, w.bolt, "ben@bolt.example", pw, gatehouse.RoleMember)
	ada := w.api(t, "ada@acme.example")
	wantStatus(t, "disable Dan", ada.Do("PATCH", "/api/v1/company/users/"+w.dan, map[string]any{"disabled": true}), 200)
	return w
}

// viaProxy makes the server believe X-Forwarded-For from the loopback
// address the tests connect from.
func viaProxy() servertest.Option {
	return servertest.WithOptions(func(o *server.Options) {
		ps, err := httpx.ParseProxies("127.0.0.1")
		if err != nil {
			panic(err)
		}
		o.TrustedProxies = ps
	})
}

// from makes c appear to come from the client address ip (the server
// believes the loopback proxy; see viaProxy).
func from(c *servertest.Client, ip string) *servertest.Client {
	c.Header["X-Forwarded-For"] = ip
	return c
}

// api returns a program's client signed in as email through the JSON API.
func (w *world) api(t *testing.T, email string) *servertest.Client {
	t.Helper()
	c := w.s.Client(t)
	c.Token = c.Login(email, pw)
	return c
}

// browser returns a browser's client signed in as email through the login
// form.
func (w *world) browser(t *testing.T, email string) *servertest.Client {
	t.Helper()
	c := w.s.Client(t)
	formLogin(t, c, email, pw)
	return c
}

// formLogin signs c in through the login form, or fails the test.
func formLogin(t *testing.T, c *servertest.Client, email, password string) {
	t.Helper()
	r := c.PostForm("/login", map[string]string{"email": email, "password": password})
	if r.StatusCode != http.StatusSeeOther || c.SessionCookie() == "" {
		t.Fatalf("form login %s: got %d %s, want 303 and a session cookie", email, r.StatusCode, r.Body)
	}
}

// loginAPI posts an email and password to the JSON API.
func loginAPI(c *servertest.Client, email, password string) *servertest.Response {
	return c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": password})
}

// wantStatus fails the test unless r has the status.
func wantStatus(t *testing.T, what string, r *servertest.Response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s: got %d %s, want %d", what, r.StatusCode, clip(r.Body), status)
	}
}

// wantProblem fails the test unless r is a problem document with this
// status and code.
func wantProblem(t *testing.T, what string, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.StatusCode != status || r.Header.Get("Content-Type") != "application/problem+json" || r.Code(t) != code {
		t.Fatalf("%s: got %d %s %s, want %d problem %s", what, r.StatusCode, r.Header.Get("Content-Type"), clip(r.Body), status, code)
	}
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// --- Routes ---

// route is one registered route: a method and a path pattern such as
// /api/v1/company/users/{id}.
type route struct {
	Method, Pattern string
}

func (r route) String() string { return r.Method + " " + r.Pattern }

// parseRoutes splits ServeMux patterns ("POST /login"); a pattern without
// a method (the API's catch-all) is left out.
func parseRoutes(patterns []string) []route {
	var out []route
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			continue
		}
		out = append(out, route{method, path})
	}
	return out
}

// apiRoutes and pageRoutes are every route of the JSON API and the pages,
// as the packages register them; apiRoutes leaves out proxyRoutes.
func apiRoutes() []route {
	var out []route
	for _, r := range parseRoutes(api.Endpoints()) {
		if !isProxyRoute(r) {
			out = append(out, r)
		}
	}
	return out
}

// proxyRoutes are the routes reverse proxies ask before each request to
// an app they protect (forward auth): their input is the proxy's headers
// and the original request's cookie, never a body, and a caller without a
// session gets the login page's address. forwardauth_test.go attacks them.
func proxyRoutes() []route {
	var out []route
	for _, r := range parseRoutes(api.Endpoints()) {
		if isProxyRoute(r) {
			out = append(out, r)
		}
	}
	return out
}

func isProxyRoute(r route) bool { return strings.HasPrefix(r.Pattern, "/authz/") }
func pageRoutes() []route       { return parseRoutes(web.Endpoints()) }

// publicAPI and publicPages are the routes that work without a session.
// Every other route must refuse a caller who has none.
var (
	publicAPI = []string{
		"POST /api/v1/login", "POST /api/v1/login/totp", "POST /api/v1/login/password",
		"POST /api/v1/login/totp-setup", "POST /api/v1/login/totp-setup/confirm",
		"POST /api/v1/password-reset", "POST /api/v1/password-reset/confirm", "GET /api/v1/openapi.json",
		"POST /api/v1/password-check", // live feedback on a password; a session, if any, only adds inputs
		"POST /api/v1/login/passkey/begin", "POST /api/v1/login/passkey", "POST /api/v1/login/passkey-2fa/begin",
		"POST /api/v1/login/passkey-2fa",
	}
	publicPages = []string{
		"GET /static/", "GET /{$}", "GET /lang/{lang}", "GET /login", "POST /login", "GET /login/2fa", "POST /login/2fa",
		"GET /login/change-password", "POST /login/change-password", "GET /login/setup-2fa", "POST /login/setup-2fa/start",
		"POST /login/setup-2fa", "POST /logout", "GET /forgot-password", "POST /forgot-password", "GET /reset-password",
		"POST /reset-password", "GET /setup", "POST /setup", "GET /settings",
		"POST /login/passkey", "POST /login/2fa/passkey/options", "POST /login/2fa/passkey",
	}
)

// protected returns the routes that need a session.
func protected(routes []route, public []string) []route {
	var out []route
	for _, r := range routes {
		if !slices.Contains(public, r.String()) {
			out = append(out, r)
		}
	}
	return out
}

// ids are the values put into a route's path parameters.
type ids struct {
	User    string // {id} of a user route
	Session string // {id} of a session route
}

// path fills the pattern's parameters: a user ID, a session ID, a language.
func (r route) path(v ids) string {
	p := r.Pattern
	id := v.User
	if strings.Contains(p, "/sessions/") {
		id = v.Session
	}
	p = strings.ReplaceAll(p, "{id}", url.PathEscape(id))
	p = strings.ReplaceAll(p, "{lang}", "en")
	p = strings.ReplaceAll(p, "{$}", "")
	if strings.HasSuffix(p, "/static/") {
		p += "app.css"
	}
	return p
}

// changesState reports whether a method may change state.
func changesState(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// --- The OpenAPI document, for the members of each request body ---

// bodyMembers returns, for each API route, the members of its JSON body
// and their types ("string", "boolean", ...), read from the document the
// server serves. A route without a body has none.
func bodyMembers(t *testing.T, s *servertest.Server) map[string]map[string]string {
	t.Helper()
	r := s.Client(t).Get("/api/v1/openapi.json")
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas map[string]schema }
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	out := map[string]map[string]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				RequestBody struct {
					Content map[string]struct{ Schema schema }
				}
			}
			if json.Unmarshal(raw, &op) != nil {
				continue
			}
			sch := op.RequestBody.Content["application/json"].Schema
			if sch.Ref != "" {
				sch = doc.Components.Schemas[strings.TrimPrefix(sch.Ref, "#/components/schemas/")]
			}
			members := map[string]string{}
			for name, p := range sch.Properties {
				typ, _ := p.Type.(string) // "string", or a list such as ["string", "null"]
				if list, ok := p.Type.([]any); ok && len(list) > 0 {
					typ, _ = list[0].(string)
				}
				members[name] = typ
			}
			out[strings.ToUpper(method)+" "+path] = members
		}
	}
	return out
}

type schema struct {
	Ref        string `json:"$ref"`
	Type       any
	Properties map[string]struct{ Type any }
}

// stringMembers lists the string members of a body, sorted.
func stringMembers(members map[string]string) []string {
	var out []string
	for name, typ := range members {
		if typ == "string" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// --- Raw requests ---

// send makes a request exactly as given: headers, Host and cookies
// included; it follows no redirect and keeps no cookie.
func send(t *testing.T, s *servertest.Server, method, path, contentType string, body []byte, header map[string]string) *servertest.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	servertest.CheckExchange(t, req, body, resp, b.Bytes())
	return &servertest.Response{Response: resp, Body: b.Bytes()}
}

// sessionCookieHeader is the Cookie header of a session token over http.
func sessionCookieHeader(token string) string {
	return httpx.SessionCookieName + "=" + token
}

// --- TOTP ---

// alignClock moves the server's clock two seconds into the next step, so
// that a test has most of a step before codes change under it.
func alignClock(s *servertest.Server) {
	now := s.Clock.Now()
	next := now.Truncate(totp.Period).Add(totp.Period + 2*time.Second)
	s.Clock.Advance(next.Sub(now))
}

// codeAt is the authenticator's code delta steps from now.
func codeAt(s *servertest.Server, secret []byte, delta int64) string {
	return totp.Code(secret, totp.Step(s.Clock.Now())+delta)
}

// wrongCode is a code that no step in the accepted window has.
func wrongCode(s *servertest.Server, secret []byte) string {
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if c != codeAt(s, secret, -1) && c != codeAt(s, secret, 0) && c != codeAt(s, secret, 1) {
			return c
		}
	}
	panic("unreachable")
}

// enableTOTP turns 2FA on for the signed-in client c through the API and
// returns the secret and the recovery codes. The step it used is spent.
func enableTOTP(t *testing.T, s *servertest.Server, c *servertest.Client) (secret []byte, recovery []string) {
	t.Helper()
	alignClock(s)
	r := c.Do("POST", "/api/v1/me/totp", map[string]string{"password": pw})
	wantStatus(t, "begin 2FA", r, 200)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.Str(t, "secret"))
	if err != nil {
		t.Fatalf("secret: %v", err)
	}
	r = c.Do("POST", "/api/v1/me/totp/confirm", map[string]string{"code": codeAt(s, secret, 0)})
	wantStatus(t, "confirm 2FA", r, 200)
	for _, v := range r.JSON(t)["recovery_codes"].([]any) {
		recovery = append(recovery, v.(string))
	}
	s.Clock.Advance(totp.Period) // the confirming step is spent
	return secret, recovery
}

// challenge logs in with the password and returns the challenge of the
// next step, which must be want.
func challenge(t *testing.T, c *servertest.Client, email, want string) string {
	t.Helper()
	r := loginAPI(c, email, pw)
	if r.StatusCode != 200 || r.Str(t, "status") != want {
		t.Fatalf("login %s: got %d %s, want %s", email, r.StatusCode, clip(r.Body), want)
	}
	return r.Str(t, "challenge")
}

// requireTOTP switches a company's 2FA requirement in the store.
func requireTOTP(t *testing.T, s *servertest.Server, companyID string, on bool) {
	t.Helper()
	err := s.App.DB.Update(t.Context(), func(tx gatehouse.Tx) error {
		c, err := tx.Company(companyID)
		if err != nil {
			return err
		}
		c.RequireTOTP = on
		return tx.UpdateCompany(c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mustURL parses a URL of the test server.
func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// cookieValue returns the value of the client's cookie name for base.
func cookieValue(c *servertest.Client, base, name string) string {
	u, _ := url.Parse(base + "/")
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
