package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse/gatehouse/internal/loadgen"
	"github.com/gatehouse/gatehouse/internal/testenv/passkeytest"
)

// passkey: sign-ins with a passkey alone (issue 18) against password
// logins, at the same concurrency on the same Gatehouse in the same run. A
// passkey sign-in is two requests (begin, then the signed answer) and no
// password hash: one ECDSA verification and two short transactions, so it
// should outrun a login bound by argon2id many times over. The answers
// come from software authenticators in the harness (real P-256 keys, the
// same code as the tests' authenticator), one per client, each signing in
// as an account of its own.
func (h *harness) passkey(ctx context.Context) error {
	clients := 2 * runtime.NumCPU()
	fmt.Fprintf(h.out, "passkey sign-ins (begin + answer, no password) against password logins, %d clients, Gatehouse on SQLite\n", clients)
	dir, err := h.seeded(ctx, "passkey", standard)
	if err != nil {
		return err
	}
	g, err := h.start(ctx, gatehouseConfig{name: "passkey", dataDir: dir, localhost: true}, standard)
	if err != nil {
		return err
	}
	defer g.stop()
	origin := "http://localhost:" + g.base[len("http://127.0.0.1:"):]
	c := g.client(2 * clients)
	api := passkeyAPI{base: g.base, http: loadgen.NewHTTPClient(2 * clients)}

	// Each client's account gets a passkey of its own authenticator.
	keys := make([]*passkeytest.Authenticator, clients)
	for i := range keys {
		token, err := c.Login(ctx, standard.account(i), benchPassword)
		if err != nil {
			return fmt.Errorf("log in as %s: %w", standard.account(i), err)
		}
		keys[i] = passkeytest.New(origin)
		var begin struct{ Options json.RawMessage }
		if err := api.do(ctx, "/api/v1/me/passkeys/begin", token, nil, http.StatusOK, &begin); err != nil {
			return err
		}
		answer, _, err := keys[i].Create(begin.Options)
		if err != nil {
			return err
		}
		if err := api.do(ctx, "/api/v1/me/passkeys", token, map[string]any{"credential": json.RawMessage(answer)}, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	signIns := func(ctx context.Context, client int, rec *loadgen.Recorder) {
		key := keys[client%len(keys)]
		for ctx.Err() == nil {
			err := rec.Time(ctx, "passkey", func() error { return api.signIn(ctx, key) })
			if err != nil {
				backoff(ctx, err)
			}
		}
	}
	// Password logins are by other accounts: with a passkey, the password
	// alone answers passkey_required.
	email := func(client int) string { return standard.account(clients + client) }
	signCPU, err := signingCost(keys[0])
	if err != nil {
		return err
	}
	loadgen.Run(ctx, loadgen.Config{Clients: 2, Duration: h.opts.warmup}, signIns)
	pkCPU := measureCPU(g.node)
	pk, pkPeak := h.measureFor(ctx, h.opts.loginDuration, g.node, clients, signIns)
	pkUse := pkCPU()
	loadgen.Run(ctx, loadgen.Config{Clients: 2, Duration: h.opts.warmup}, logins(c, email))
	pwCPU := measureCPU(g.node)
	pw, pwPeak := h.measureFor(ctx, h.opts.loginDuration, g.node, clients, logins(c, email))
	pwUse := pwCPU()
	a, b := pk.Get("passkey"), pw.Get("login")
	ratio := ratioOf(a, b, func(s loadgen.Stats) float64 { return s.PerSecond })
	fmt.Fprintln(h.out)
	loadgen.WriteRows(h.out, []loadgen.Row{
		{Label: "passkey sign-in", Clients: clients, Stats: a, PeakRSS: pkPeak, Note: fmt.Sprintf("  %.1f× the password logins/s", ratio)},
		{Label: "password login", Clients: clients, Stats: b, PeakRSS: pwPeak},
	})
	// Where the processors went: the server's share of a sign-in, and the
	// harness's (its HTTP client and the authenticator's signature, which
	// a real sign-in makes on the person's device).
	perOp := func(d time.Duration, n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f ms", loadgen.Millis(d)/float64(n))
	}
	fmt.Fprintf(h.out, "passkey sign-ins: processor time %s; gatehouse's %s a sign-in, the harness's %s (of which the P-256 signature alone %.3f ms)\n",
		pkUse, perOp(pkUse.node, a.OK), perOp(pkUse.harness, a.OK), loadgen.Millis(signCPU))
	fmt.Fprintf(h.out, "password logins: processor time %s; gatehouse's %s a login\n", pwUse, perOp(pwUse.node, b.OK))
	h.add(loadgen.Target{Scenario: "passkey", What: "passkey sign-ins/s ÷ password logins/s", Value: ratio, Op: ">=", Bound: 20, Unit: "×",
		Detail: fmt.Sprintf("%.1f/s against %.1f/s at %d clients", a.PerSecond, b.PerSecond, clients)})
	h.add(loadgen.Target{Scenario: "passkey", What: "passkey sign-in errors", Value: float64(a.Errors), Op: "<=", Bound: 0})
	return nil
}

// signingCost is the processor time of the authenticator's part of a
// sign-in alone (reading the options, signing, writing the answer), which
// the harness spends on the cores the server uses: measured on one
// goroutine, over enough signatures for the kernel's 10 ms ticks.
func signingCost(key *passkeytest.Authenticator) (time.Duration, error) {
	cred := key.Credentials()[0]
	options, _ := json.Marshal(map[string]any{"publicKey": map[string]any{
		"challenge": "c2lnbmluZy1jb3N0LWNoYWxsZW5nZS1vZi0zMi1ieXRlcw", "rpId": cred.RPID, "userVerification": "required"}})
	const n = 2000
	start, err := cpuTime(os.Getpid())
	if err != nil {
		return 0, err
	}
	for range n {
		var ca protocol.CredentialAssertion
		if err := json.Unmarshal(options, &ca); err != nil {
			return 0, err
		}
		answer, err := key.Sign(cred, ca.Response.RelyingPartyID, ca.Response.Challenge)
		if err != nil {
			return 0, err
		}
		if _, err := json.Marshal(map[string]any{"credential": json.RawMessage(answer)}); err != nil {
			return 0, err
		}
	}
	end, err := cpuTime(os.Getpid())
	return (end - start) / n, err
}

// passkeyAPI makes the passkey calls of the API.
type passkeyAPI struct {
	base string
	http *http.Client
}

// signIn is one passkey sign-in: the options, the authenticator's answer,
// and the answer checked into a session.
func (a passkeyAPI) signIn(ctx context.Context, key *passkeytest.Authenticator) error {
	var begin struct{ Options json.RawMessage }
	if err := a.do(ctx, "/api/v1/login/passkey/begin", "", nil, http.StatusOK, &begin); err != nil {
		return err
	}
	answer, err := key.Get(begin.Options)
	if err != nil {
		return err
	}
	var res struct{ Status string }
	if err := a.do(ctx, "/api/v1/login/passkey", "", map[string]any{"credential": json.RawMessage(answer)}, http.StatusOK, &res); err != nil {
		return err
	}
	if res.Status != "authenticated" {
		return fmt.Errorf("passkey sign-in answered %q", res.Status)
	}
	return nil
}

// do POSTs body as JSON; an answer other than want is a
// *loadgen.StatusError.
func (a passkeyAPI) do(ctx context.Context, path, token string, body any, want int, v any) error {
	b, _ := json.Marshal(body)
	if body == nil {
		b = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, "POST", a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		var p struct{ Code string }
		json.Unmarshal(out, &p)
		e := &loadgen.StatusError{Status: resp.StatusCode, Code: p.Code}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = secondsOf(s)
		}
		return e
	}
	if v != nil {
		return json.Unmarshal(out, v)
	}
	return nil
}

func secondsOf(s int) time.Duration { return time.Duration(s) * time.Second }
