//go:build unix

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
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
		s.Company(b, "Acme", "ada@example.com", testenv.GoodPassword)
		c := s.Client(b)
		c.Token = c.Login("ada@example.com", testenv.GoodPassword)
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
		cred := a.Credentials()[0]
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
		sign := func(options []byte) []byte {
			var ca protocol.CredentialAssertion
			if err := json.Unmarshal(options, &ca); err != nil {
				b.Fatal(err)
			}
			answer, err := a.Sign(cred, ca.Response.RelyingPartyID, ca.Response.Challenge)
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
		run("sign", func() { sign(options) })
		run("server", func() { finish(sign(beginLogin())) })
	})
}
