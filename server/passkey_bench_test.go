//go:build unix

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/passkeytest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// BenchmarkPasskeySignIn is a passkey sign-in as gatehouse-bench's passkey
// scenario makes it, through the whole handler without a network: "begin"
// and "finish" are the server's two requests, "sign" is the software
// authenticator's P-256 signature that the harness makes between them on
// the same cores. cpu-ns/op counts the whole process, so a profile of
// "server" is the server's share alone.
//
//	go test ./server -run '^$' -bench PasskeySignIn -benchtime 2000x -cpuprofile cpu.out
func BenchmarkPasskeySignIn(b *testing.B) {
	servertest.BenchEachDatabase(b, func(b *testing.B, db servertest.Option) {
		s := servertest.Start(b, db, servertest.WithLocalhost())
		// Each client signs in as an account of its own with a passkey of
		// its own, as gatehouse-bench's clients do.
		enroll := func(i int) (*passkeytest.Authenticator, *passkeytest.Credential) {
			email := fmt.Sprintf("user%d@example.com", i)
			s.Company(b, fmt.Sprintf("Acme %d", i), email, testenv.GoodPassword)
			c := s.Client(b)
			c.Token = c.Login(email, testenv.GoodPassword)
			a := passkeytest.New(s.URL)
			begin := c.Do("POST", "/api/v1/me/passkeys/begin", nil)
			var opts struct{ Options json.RawMessage }
			if err := json.Unmarshal(begin.Body, &opts); err != nil {
				b.Fatal(err)
			}
			answer, _, err := a.Create(opts.Options)
			if err != nil {
				b.Fatal(err)
			}
			if r := c.Do("POST", "/api/v1/me/passkeys", map[string]any{"credential": json.RawMessage(answer)}); r.StatusCode != 201 {
				b.Fatalf("add passkey: %d %s", r.StatusCode, r.Body)
			}
			return a, a.Credentials()[0]
		}
		const clients = 32
		keys := make([]*passkeytest.Authenticator, clients)
		creds := make([]*passkeytest.Credential, clients)
		for i := range clients {
			keys[i], creds[i] = enroll(i)
		}
		h := handler(b, s)
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		post := func(path string, body []byte) ([]byte, error) {
			req := httptest.NewRequestWithContext(ctx, "POST", path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				return nil, fmt.Errorf("POST %s: got %d %s, want 200", path, rec.Code, rec.Body)
			}
			return rec.Body.Bytes(), nil
		}
		beginLogin := func() ([]byte, error) {
			body, err := post("/api/v1/login/passkey/begin", []byte("{}"))
			var v struct{ Options json.RawMessage }
			if err == nil {
				err = json.Unmarshal(body, &v)
			}
			return v.Options, err
		}
		sign := func(client int, options []byte) ([]byte, error) {
			var ca protocol.CredentialAssertion
			if err := json.Unmarshal(options, &ca); err != nil {
				return nil, err
			}
			answer, err := keys[client].Sign(creds[client], ca.Response.RelyingPartyID, ca.Response.Challenge)
			if err != nil {
				return nil, err
			}
			return json.Marshal(map[string]any{"credential": json.RawMessage(answer)})
		}
		// signIn is the whole sign-in: begin, the authenticator's
		// signature, the answer.
		signIn := func(client int) error {
			options, err := beginLogin()
			if err != nil {
				return err
			}
			answer, err := sign(client, options)
			if err != nil {
				return err
			}
			body, err := post("/api/v1/login/passkey", answer)
			if err != nil {
				return err
			}
			var res struct{ Status string }
			if json.Unmarshal(body, &res); res.Status != "authenticated" {
				return fmt.Errorf("finish: %q", res.Status)
			}
			return nil
		}
		run := func(name string, step func() error) {
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					if err := step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
		options, err := beginLogin()
		if err != nil {
			b.Fatal(err)
		}
		run("sign", func() error { _, err := sign(0, options); return err })
		run("server", func() error { return signIn(0) })
		// All clients at once: their transactions share SQLite's commits
		// (sqldb's batches), as under gatehouse-bench's load.
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			runClients(b, clients, signIn)
		})
	})
}
