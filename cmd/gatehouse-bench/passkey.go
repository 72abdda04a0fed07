package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
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
	// 16 clients a core: a sign-in waits for the disk (its answer's
	// commit, a flush that the commits made meanwhile share) and for the
	// one writer, so with few clients the processors idle through the
	// waits and each flush covers few sign-ins. Password logins are bound
	// by the hashing at any count (docs/BENCHMARKS.md, Passkeys).
	clients := 16 * runtime.NumCPU()
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

	// Each client's account gets a passkey of its own authenticator.
	keys := make([]*passkeytest.Authenticator, clients)
	for i := range keys {
		token, err := c.Login(ctx, standard.account(i), benchPassword)
		if err != nil {
			return fmt.Errorf("log in as %s: %w", standard.account(i), err)
		}
		keys[i] = passkeytest.New(origin)
		var begin struct{ Options json.RawMessage }
		if err := c.PostJSON(ctx, "/api/v1/me/passkeys/begin", token, []byte("{}"), http.StatusOK, &begin); err != nil {
			return err
		}
		answer, _, err := keys[i].Create(begin.Options)
		if err != nil {
			return err
		}
		if err := c.PostJSON(ctx, "/api/v1/me/passkeys", token, credentialBody(nil, answer), http.StatusCreated, nil); err != nil {
			return err
		}
	}
	signIns := func(ctx context.Context, client int, rec *loadgen.Recorder) {
		key := keys[client%len(keys)]
		si := signer{api: c, key: key, cred: key.Credentials()[0]}
		for ctx.Err() == nil {
			err := rec.Time(ctx, "passkey", func() error { return si.signIn(ctx) })
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
		var ro requestOptions
		if err := json.Unmarshal(options, &ro); err != nil {
			return 0, err
		}
		answer, err := key.Sign(cred, ro.PublicKey.RPID, ro.PublicKey.Challenge)
		if err != nil {
			return 0, err
		}
		credentialBody(nil, answer)
	}
	end, err := cpuTime(os.Getpid())
	return (end - start) / n, err
}

// signer is a client signing in with its passkey through the harness's
// API client (net/http, a kept-alive connection a client).
type signer struct {
	api  loadgen.Client
	key  *passkeytest.Authenticator
	cred *passkeytest.Credential
	body []byte // the answer's request, reused
}

// signIn is one passkey sign-in: the options, the authenticator's answer,
// and the answer checked into a session.
func (s *signer) signIn(ctx context.Context) error {
	var begin struct{ Options requestOptions }
	if err := s.api.PostJSON(ctx, "/api/v1/login/passkey/begin", "", []byte("{}"), http.StatusOK, &begin); err != nil {
		return err
	}
	opts := begin.Options.PublicKey
	answer, err := s.key.Sign(s.cred, opts.RPID, opts.Challenge)
	if err != nil {
		return err
	}
	s.body = credentialBody(s.body[:0], answer)
	var res struct{ Status string }
	if err := s.api.PostJSON(ctx, "/api/v1/login/passkey", "", s.body, http.StatusOK, &res); err != nil {
		return err
	}
	if res.Status != "authenticated" {
		return fmt.Errorf("passkey sign-in answered %q", res.Status)
	}
	return nil
}

// requestOptions is what the authenticator reads of a sign-in's options
// (the members a page passes to navigator.credentials.get that a
// discoverable sign-in uses).
type requestOptions struct {
	PublicKey struct {
		Challenge protocol.URLEncodedBase64 `json:"challenge"`
		RPID      string                    `json:"rpId"`
	} `json:"publicKey"`
}

// credentialBody appends to b the request {"credential": answer}.
func credentialBody(b, answer []byte) []byte {
	b = append(b, `{"credential":`...)
	b = append(b, answer...)
	return append(b, '}')
}
