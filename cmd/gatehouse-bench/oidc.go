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
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/loadgen"
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
	refreshes := func(ctx context.Context, client int, rec *loadgen.Recorder) {
		token, err := rp.signIn(ctx, sessions[client%len(sessions)])
		if err != nil {
			rec.Time(ctx, "refresh", func() error { return err })
			return
		}
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
	rep2, _ := h.measure(ctx, g.node, clients, refreshes)
	rep2.Write(h.out)
	// The refresh grant against what its signature allows: RS256 on
	// these cores, timed alone after the runs.
	signs := rs256PerSecond()
	ref := rep2.Get("refresh")
	fmt.Fprintf(h.out, "RS256 signatures alone: %.0f/s on %d cores; refreshes %.0f/s\n", signs, runtime.NumCPU(), ref.PerSecond)
	h.add(loadgen.Target{Scenario: "oidc", What: "refreshes/s ÷ RS256 signatures/s alone", Value: ref.PerSecond / signs,
		Op: ">=", Bound: 0.8, Unit: "×", Detail: fmt.Sprintf("%.0f/s vs %.0f/s (a refresh signs once and writes once)", ref.PerSecond, signs)})

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
		br, bp := h.measure(ctx, bare, clients, run(bare.base))
		gr, gp := h.measure(ctx, g.node, clients, run(g.base))
		p := checkPair{conns: clients, bare: br.Get(c.name), gh: gr.Get(c.name), bareRSS: bp, ghRSS: gp}
		fmt.Fprintln(h.out, c.name+":")
		loadgen.WriteRows(h.out, p.rows())
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
