//go:build unix

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
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
		post := func(path string, body []byte) []byte {
			req := httptest.NewRequestWithContext(ctx, "POST", path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("POST %s: got %d %s, want 200", path, rec.Code, rec.Body)
			}
			return rec.Body.Bytes()
		}
		beginLogin := func() []byte {
			var v struct{ Options json.RawMessage }
			json.Unmarshal(post("/api/v1/login/passkey/begin", []byte("{}")), &v)
			return v.Options
		}
		sign := func(client int, options []byte) []byte {
			var ca protocol.CredentialAssertion
			if err := json.Unmarshal(options, &ca); err != nil {
				b.Fatal(err)
			}
			answer, err := keys[client].Sign(creds[client], ca.Response.RelyingPartyID, ca.Response.Challenge)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := json.Marshal(map[string]any{"credential": json.RawMessage(answer)})
			return body
		}
		finish := func(body []byte) {
			var res struct{ Status string }
			json.Unmarshal(post("/api/v1/login/passkey", body), &res)
			if res.Status != "authenticated" {
				b.Fatalf("finish: %q", res.Status)
			}
		}
		run := func(name string, step func()) {
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					step()
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
		options := beginLogin()
		run("sign", func() { sign(0, options) })
		run("server", func() { finish(sign(0, beginLogin())) })
		// All clients at once: their transactions share SQLite's commits
		// (sqldb's batches), as under gatehouse-bench's load.
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Int64
			b.SetParallelism(clients / runtime.GOMAXPROCS(0))
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				client := int(next.Add(1)-1) % clients
				for pb.Next() {
					finish(sign(client, beginLogin()))
				}
			})
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	})
}
