package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/totp"
)

const testPW = "plum tractor velvet oyster"

// installation is a `gatehouse serve` subprocess on SQLite with a real
// SMTP server, and the environment every command of it shares.
type installation struct {
	t    *testing.T
	url  string
	data string
	env  []string
	smtp *smtptest.Server
	log  *testenv.Buffer // serve's output, read while it runs
}

func startServe(t *testing.T) *installation {
	t.Helper()
	smtp := smtptest.Start(t, smtptest.WithWaitTimeout(30*time.Second))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	in := &installation{t: t, url: "http://" + addr, data: t.TempDir(), smtp: smtp, log: &testenv.Buffer{}}
	in.env = append(os.Environ(), "GATEHOUSE_DATA="+in.data, "GATEHOUSE_PUBLIC_URL="+in.url, "GATEHOUSE_SMTP_URL="+smtp.URL(),
		"GATEHOUSE_LOG_LEVEL=debug")
	cmd := exec.Command(binary, "serve", "--addr", addr)
	cmd.Env = in.env
	cmd.Stdout, cmd.Stderr = in.log, in.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", in.log.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		if r, err := http.Get(in.url + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready:\n%s", in.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return in
}

// run runs a gatehouse command beside the server and returns its standard
// output, standard error and exit status.
func (in *installation) run(stdin string, args ...string) (string, string, int) {
	in.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = in.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		in.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func (in *installation) mustRun(stdin string, args ...string) string {
	in.t.Helper()
	out, errOut, code := in.run(stdin, args...)
	if code != 0 {
		in.t.Fatalf("gatehouse %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// call sends a JSON request to the server.
func (in *installation) call(method, path, token string, body any) (int, map[string]any) {
	in.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, in.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (in *installation) login(email, pw string) map[string]any {
	in.t.Helper()
	status, m := in.call("POST", "/api/v1/login", "", map[string]string{"email": email, "password": pw})
	if status != 200 {
		in.t.Fatalf("login %s: got %d %v", email, status, m)
	}
	return m
}

var tokenInLink = regexp.MustCompile(`/reset-password\?token=([A-Za-z0-9_-]{43})`)

// TestBreakGlassWhileServing runs the operator's commands beside a running
// `gatehouse serve` on the same SQLite data: the only admin of a company
// gets back in by a printed link, then by a temporary password, and loses
// a second factor; the user and the other admin are told by mail, and the
// audit log records the operator's acts.
func TestBreakGlassWhileServing(t *testing.T) {
	in := startServe(t)
	in.mustRun(testPW+"\n", "company", "create", "--name", "Acme", "--admin-email", "ada@acme.example", "--admin-name", "Ada", "--password-stdin")
	ada := in.login("ada@acme.example", testPW)["session_token"].(string)
	status, _ := in.call("POST", "/api/v1/company/users", ada, map[string]string{"email": "bo@acme.example", "name": "Bo", "role": "admin"})
	if status != 201 {
		t.Fatalf("invite Bo: got %d", status)
	}
	invite := tokenInLink.FindStringSubmatch(in.smtp.WaitFor(t, "bo@acme.example", "invited you").Text)[1]
	if status, m := in.call("POST", "/api/v1/password-reset/confirm", "", map[string]string{"token": invite, "new_password": testPW, "confirm_password": testPW}); status != 204 {
		t.Fatalf("Bo accepts: got %d %v", status, m)
	}
	bo := in.login("bo@acme.example", testPW)["session_token"].(string)

	// A printed reset link.
	out := in.mustRun("", "user", "reset-password", "--email", "ada@acme.example")
	m := tokenInLink.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, in.url+"/reset-password?token=") || !strings.Contains(out, "1 hour") {
		t.Fatalf("reset-password printed %q, want a link under the public URL valid 1 hour", out)
	}
	link := m[1]
	checkExpiry(t, in.data, func(tx gatehouse.Tx) time.Time {
		tok, err := tx.TokenByHash(gatehouse.HashToken(link))
		if err != nil {
			t.Fatal(err)
		}
		return tok.ExpiresAt
	})
	notice := in.smtp.WaitFor(t, "ada@acme.example", "password was reset")
	if !strings.Contains(notice.Text, "server operator") || !strings.Contains(notice.Text, "operator will give you a link") {
		t.Errorf("the user's notice should name the operator and the handed-over link:\n%s", notice.Text)
	}
	alert := in.smtp.WaitFor(t, "bo@acme.example", "operator access to ada@acme.example")
	if !strings.Contains(alert.Text, "password reset link") {
		t.Errorf("the other admin's alert should say what happened:\n%s", alert.Text)
	}
	if status, m := in.call("POST", "/api/v1/password-reset/confirm", "", map[string]string{"token": link,
		"new_password": "river lantern quartz meadow", "confirm_password": "river lantern quartz meadow"}); status != 204 {
		t.Fatalf("use the printed link: got %d %v", status, m)
	}
	in.login("ada@acme.example", "river lantern quartz meadow")

	// A printed temporary password, the last word of the output.
	out = in.mustRun("", "user", "reset-password", "--email", "ada@acme.example", "--temporary")
	words := strings.Fields(out)
	temp := words[len(words)-1]
	if len(strings.ReplaceAll(temp, "-", "")) < 16 {
		t.Fatalf("reset-password --temporary printed %q: want a temporary password as the last word", out)
	}
	checkExpiry(t, in.data, func(tx gatehouse.Tx) time.Time {
		u, err := tx.UserByEmail("ada@acme.example")
		if err != nil || !u.MustChangePassword {
			t.Fatalf("ada: got %v, %v, want a temporary password", u, err)
		}
		return u.TempPasswordExpiresAt
	})
	res := in.login("ada@acme.example", temp)
	if res["status"] != "password_change_required" {
		t.Fatalf("login with the temporary password: got %v, want password_change_required", res)
	}
	if status, m := in.call("POST", "/api/v1/login/password", "", map[string]string{"challenge": res["challenge"].(string),
		"new_password": "copper giraffe whistle sunday", "confirm_password": "copper giraffe whistle sunday"}); status != 200 || m["status"] != "authenticated" {
		t.Fatalf("forced change: got %d %v", status, m)
	}

	// 2FA removed: under a company that requires it, set up again. (Bo,
	// who requires it, must have it himself.)
	_, offer := in.call("POST", "/api/v1/me/totp", bo, map[string]string{"password": testPW})
	boSecret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(fmt.Sprint(offer["secret"]))
	if err != nil {
		t.Fatalf("Bo's 2FA offer: got %v", offer)
	}
	if status, m := in.call("POST", "/api/v1/me/totp/confirm", bo, map[string]string{"code": totp.Code(boSecret, totp.Step(time.Now()))}); status != 200 {
		t.Fatalf("Bo turns 2FA on: got %d %v", status, m)
	}
	if status, _ := in.call("PATCH", "/api/v1/company", bo, map[string]any{"require_totp": true}); status != 200 {
		t.Fatalf("require 2FA: got %d", status)
	}
	c := servertest.NewClient(t, in.url)
	c.SetUpTOTPAtLogin("ada@acme.example", "copper giraffe whistle sunday", time.Now())
	out = in.mustRun("", "user", "disable-2fa", "--email", "ada@acme.example")
	if !strings.Contains(out, "Removed two-factor authentication") {
		t.Errorf("disable-2fa printed %q", out)
	}
	in.smtp.WaitFor(t, "ada@acme.example", "Two-factor authentication was removed")
	in.smtp.WaitFor(t, "bo@acme.example", "operator access")
	if res := in.login("ada@acme.example", "copper giraffe whistle sunday"); res["status"] != "totp_setup_required" {
		t.Errorf("login after disable-2fa: got %v, want totp_setup_required", res)
	}

	// The audit log names no actor and says "via=operator".
	_, log := in.call("GET", "/api/v1/company/audit-events?limit=200", bo, nil)
	found := map[string]bool{}
	for _, e := range log["events"].([]any) {
		ev := e.(map[string]any)
		if strings.Contains(ev["detail"].(string), "via=operator") {
			if ev["actor_id"] != "" {
				t.Errorf("operator event %v: got an actor, want none", ev)
			}
			found[ev["type"].(string)] = true
		}
	}
	for _, typ := range []string{"password.reset_by_admin", "password.temporary_set", "totp.removed_by_admin"} {
		if !found[typ] {
			t.Errorf("audit log: no %s via=operator in %v", typ, log["events"])
		}
	}

	// Mistakes say what is wrong.
	if _, errOut, code := in.run("", "user", "reset-password", "--email", "nobody@acme.example"); code != 1 || !strings.Contains(errOut, "No user") {
		t.Errorf("unknown email: got exit %d %q, want 1 with \"No user\"", code, errOut)
	}
	if _, _, code := in.run("", "user", "reset-password"); code != 2 {
		t.Errorf("no --email: got exit %d, want 2", code)
	}
	if _, errOut, code := in.run("", "user", "disable-2fa", "--email", "ada@acme.example"); code != 1 || !strings.Contains(errOut, "Two-factor authentication is off") {
		t.Errorf("disable-2fa without 2FA: got exit %d %q", code, errOut)
	}
}

// checkExpiry opens the same data as the running server and checks that
// what the operator was given expires within the hour.
func checkExpiry(t *testing.T, dataDir string, expiresAt func(tx gatehouse.Tx) time.Time) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(context.Background(), func(tx gatehouse.Tx) error {
		at := expiresAt(tx)
		if left := time.Until(at); left <= 0 || left > time.Hour {
			t.Errorf("expires in %v, want within the hour", left)
		}
		return nil
	})
}
