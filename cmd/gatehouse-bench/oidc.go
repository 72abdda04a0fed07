package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/sqldb"
)

// oidc: the OpenID Connect provider's two grants at 64 clients each (issue
// 16): code exchanges (an authorization with a signed-in session, then the
// token endpoint with PKCE and the client secret) and refreshes (each
// client refreshes its own token, which rotates every time). The figures
// go to BENCHMARKS.md; the targets against the signing and write bound are
// the lead's quiet run.
func (h *harness) oidc(ctx context.Context) error {
	fmt.Fprintln(h.out, "OpenID Connect: code exchanges (authorize with a session, then POST /oauth/token) and refresh grants (rotating), 64 clients each")
	dir, err := h.seeded(ctx, "oidc", standard)
	if err != nil {
		return err
	}
	const redirect = "http://127.0.0.1:9/callback"
	out, err := exec.CommandContext(ctx, h.bin, "app", "create", "--data", dir, "--name", "bench",
		"--redirect-uri", redirect, "--first-party").Output()
	if err != nil {
		return fmt.Errorf("app create: %w", err)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(out, &app); err != nil {
		return fmt.Errorf("app create printed %q: %w", out, err)
	}
	g, err := h.start(ctx, gatehouseConfig{name: "oidc", dataDir: dir}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
	const clients = 64
	var emails []string
	for i := range clients {
		emails = append(emails, standard.account(i))
	}
	sessions, err := loginAll(ctx, g.client(8), emails)
	if err != nil {
		return err
	}
	rp := &benchRP{base: g.base, clientID: app.ClientID, secret: app.ClientSecret, redirect: redirect,
		http: loadgen.NewHTTPClient(clients)}
	rp.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	exchanges := func(ctx context.Context, client int, rec *loadgen.Recorder) {
		for ctx.Err() == nil {
			rec.Time(ctx, "code_exchange", func() error { _, err := rp.signIn(ctx, sessions[client%len(sessions)]); return err })
		}
	}
	// Each refreshing client's first token comes from a code exchange
	// made before the refreshes' run: inside it, the 64 exchanges (an
	// authorization's three requests, each on a new connection, and a
	// signed ID token) were counted in the refreshes' processor time and
	// took from their rate's time (docs/BENCHMARKS.md, "OpenID Connect").
	refreshTokens := make([]string, clients)
	refreshes := func(ctx context.Context, client int, rec *loadgen.Recorder) {
		token := refreshTokens[client]
		for ctx.Err() == nil {
			rec.Time(ctx, "refresh", func() error {
				next, err := rp.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
				if err == nil {
					token = next
				}
				return err
			})
		}
	}
	loadgen.Run(ctx, loadgen.Config{Clients: clients, Duration: h.opts.warmup}, exchanges)
	rep, _ := h.measure(ctx, g.node, clients, exchanges)
	rep.Write(h.out)
	for i := range refreshTokens {
		if refreshTokens[i], err = rp.signIn(ctx, sessions[i%len(sessions)]); err != nil {
			return fmt.Errorf("code exchange before the refreshes: %w", err)
		}
	}
	// The harness generates the refreshes on one processor: it needs a
	// fifth of a core, and with an idle second one Go's scheduler wakes
	// a thread for nearly every answer that arrives (futex calls: about
	// 25 µs of the harness's processor time a refresh, on the cores the
	// bound has to itself). The bound's own measurements below use every
	// core again.
	procs := runtime.GOMAXPROCS(1)
	refreshCPU := measureProcs([]string{"gatehouse", "harness"}, g.node.pid(), os.Getpid())
	rep2, _ := h.measure(ctx, g.node, clients, refreshes)
	runtime.GOMAXPROCS(procs)
	refreshUse := refreshCPU.perOp(rep2.Get("refresh").OK)
	rep2.Write(h.out)
	// The refresh grant against what its signature and its write allow on
	// these cores, each timed alone after the runs, while Gatehouse idles:
	// RS256 signatures, one signer a core, and the write on the scenario's
	// own database through sqldb, at the grant's concurrency. A refresh
	// needs both, on the same cores, so its bound is 1/(1/signs + 1/writes)
	// (docs/BENCHMARKS.md, "OpenID Connect").
	signs := rs256PerSecond()
	writes, err := refreshWritesPerSecond(ctx, dir, clients)
	if err != nil {
		return err
	}
	bound := 1 / (1/signs + 1/writes)
	ref := rep2.Get("refresh")
	fmt.Fprintf(h.out, "RS256 signatures alone: %.0f/s on %d cores; a refresh's write alone: %.0f/s at %d writers; both: %.0f/s; refreshes %.0f/s\n",
		signs, runtime.NumCPU(), writes, clients, bound, ref.PerSecond)
	// Where the processors went, a refresh: the bound allows
	// cores/bound of processor time for everything.
	fmt.Fprintf(h.out, "processor time a refresh: %s; the bound allows %.0f µs\n", refreshUse, 1e6*float64(runtime.NumCPU())/bound)
	h.add(loadgen.Target{Scenario: "oidc", What: "refreshes/s ÷ (RS256 signature + write) alone", Value: ref.PerSecond / bound,
		Op: ">=", Bound: 0.8, Unit: "×", Detail: fmt.Sprintf("%.0f/s vs %.0f/s (signatures %.0f/s, writes %.0f/s)", ref.PerSecond, bound, signs, writes)})

	// userinfo and introspection against the bare handler, 64 clients,
	// each with an access token of its own.
	access := make([]string, clients)
	for i := range clients {
		a, _, err := rp.signInTokens(ctx, sessions[i])
		if err != nil {
			return err
		}
		access[i] = a
	}
	bare, err := h.startBaseline(ctx, g, sessions[0])
	if err != nil {
		return err
	}
	defer bare.stop()
	for _, c := range []struct {
		name string
		call func(ctx context.Context, base, access string) error
	}{{"userinfo", rp.userinfo}, {"introspection", rp.introspect}} {
		run := func(base string) loadgen.Scenario {
			return func(ctx context.Context, client int, rec *loadgen.Recorder) {
				for ctx.Err() == nil {
					rec.Time(ctx, c.name, func() error { return c.call(ctx, base, access[client%len(access)]) })
				}
			}
		}
		loadgen.Run(ctx, loadgen.Config{Clients: clients, Duration: h.opts.warmup}, run(bare.base))
		loadgen.Run(ctx, loadgen.Config{Clients: clients, Duration: h.opts.warmup}, run(g.base))
		names := []string{"server", "harness"}
		bCPU := measureProcs(names, bare.pid(), os.Getpid())
		br, bp := h.measure(ctx, bare, clients, run(bare.base))
		bUse := bCPU.perOp(br.Get(c.name).OK)
		gCPU := measureProcs(names, g.pid(), os.Getpid())
		gr, gp := h.measure(ctx, g.node, clients, run(g.base))
		gUse := gCPU.perOp(gr.Get(c.name).OK)
		p := checkPair{conns: clients, bare: br.Get(c.name), gh: gr.Get(c.name), bareRSS: bp, ghRSS: gp}
		fmt.Fprintln(h.out, c.name+":")
		loadgen.WriteRows(h.out, p.rows())
		fmt.Fprintf(h.out, "processor time a request: bare handler: %s; gatehouse: %s\n", bUse, gUse)
		t := p.rateTarget("oidc")
		t.What = c.name + " " + t.What
		h.add(t)
		if t, ok := p.errorTarget("oidc"); ok {
			t.What = c.name + " " + t.What
			h.add(t)
		}
	}
	for _, r := range []struct {
		rep  *loadgen.Report
		name string
	}{{rep, "code_exchange"}, {rep2, "refresh"}} {
		st := r.rep.Get(r.name)
		h.add(loadgen.Target{Scenario: "oidc", What: r.name + " errors at 64 clients", Value: float64(st.Errors), Op: "<=", Bound: 0,
			Detail: fmt.Sprintf("%.0f/s", st.PerSecond)})
	}
	return nil
}

// benchRP is a relying party that signs sessions into the bench app.
type benchRP struct {
	base, clientID, secret, redirect string
	http                             *http.Client
}

// signIn runs an authorization for the session and exchanges its code;
// it returns the refresh token.
func (rp *benchRP) signIn(ctx context.Context, session string) (string, error) {
	_, refresh, err := rp.signInTokens(ctx, session)
	return refresh, err
}

// signInTokens is signIn returning the access token too.
func (rp *benchRP) signInTokens(ctx context.Context, session string) (access, refresh string, err error) {
	verifier := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%032d", len(session)) + session[:16]))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {rp.clientID}, "redirect_uri": {rp.redirect}, "response_type": {"code"},
		"scope": {"openid offline_access"}, "state": {"s"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
	next := rp.base + "/authorize?" + q.Encode()
	var code string
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, "GET", next, nil)
		req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: session})
		resp, err := rp.http.Do(req)
		if err != nil {
			return "", "", err
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return "", "", fmt.Errorf("authorize: status %d", resp.StatusCode)
		}
		if strings.HasPrefix(loc.String(), rp.redirect) {
			code = loc.Query().Get("code")
			break
		}
		next = loc.String()
	}
	if code == "" {
		return "", "", fmt.Errorf("authorize: no code")
	}
	return rp.tokens(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rp.redirect},
		"code_verifier": {verifier}})
}

// token calls the token endpoint and returns the refresh token.
func (rp *benchRP) token(ctx context.Context, form url.Values) (string, error) {
	_, refresh, err := rp.tokens(ctx, form)
	return refresh, err
}

// tokens calls the token endpoint and returns the access and refresh tokens.
func (rp *benchRP) tokens(ctx context.Context, form url.Values) (access, refresh string, err error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", rp.base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.clientID), url.QueryEscape(rp.secret))
	resp, err := rp.http.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body.RefreshToken == "" {
		return "", "", &loadgen.StatusError{Status: resp.StatusCode}
	}
	return body.AccessToken, body.RefreshToken, nil
}

// userinfo is GET /userinfo with an access token, to base (Gatehouse or
// the bare handler).
func (rp *benchRP) userinfo(ctx context.Context, base, access string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	return rp.do(req)
}

// introspect is POST /oauth/introspect of an access token by its client.
func (rp *benchRP) introspect(ctx context.Context, base, access string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/oauth/introspect",
		strings.NewReader(url.Values{"token": {access}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.clientID), url.QueryEscape(rp.secret))
	return rp.do(req)
}

func (rp *benchRP) do(req *http.Request) error {
	resp, err := rp.http.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return &loadgen.StatusError{Status: resp.StatusCode}
	}
	return nil
}

// refreshWritesPerSecond is how many transactions the size of a
// refresh's write the SQLite database in dir commits in a second, alone,
// at writers goroutines: each inserts a refresh token row and marks its
// previous one rotated (a sealed successor beside it), committed as the
// grant commits (UpdateLazy), through the same sqldb package. The grant's
// own transaction also inserts an access token row; the bound does not
// count it.
func refreshWritesPerSecond(ctx context.Context, dir string, writers int) (float64, error) {
	db, err := sqldb.Open(ctx, sqldb.Config{DataDir: dir})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	sealed := make([]byte, 71) // a sealed 43-character token
	rand.Read(sealed)
	var n atomic.Int64
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	stop := time.Now().Add(2 * time.Second)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			family := fmt.Sprintf("bench-write-%d-%d", w, start.UnixNano())
			prev := ""
			for time.Now().Before(stop) {
				err := db.UpdateLazy(ctx, func(tx gatehouse.Tx) error {
					_, hash := gatehouse.NewToken()
					rt := &gatehouse.OIDCRefreshToken{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, FamilyID: family,
						OIDCGrant: gatehouse.OIDCGrant{ClientID: family, UserID: gatehouse.NewID(tx.Now()), CompanyID: gatehouse.NewID(tx.Now()),
							Scopes: []string{"openid", "offline_access"}, AuthTime: tx.Now(), AMR: []string{"pwd"}},
						CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(time.Hour)}
					if prev != "" {
						if _, err := tx.RotateRefreshToken(prev, rt.ID, sealed); err != nil {
							return err
						}
					}
					if err := tx.CreateRefreshToken(rt); err != nil {
						return err
					}
					prev = rt.ID
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("refresh writes alone: %w", err)
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// rs256PerSecond is how many RS256 signatures (2048-bit keys, as the
// provider's) the cores make in a second, one signer a core: the bound
// of a grant that signs an ID token, before its database write.
func rs256PerSecond() float64 {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0
	}
	digest := sha256.Sum256([]byte("header.payload"))
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(2 * time.Second)
	start := time.Now()
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
