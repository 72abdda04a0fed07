package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

const (
	goodPW  = testenv.GoodPassword
	otherPW = testenv.OtherPassword
)

// startAcme starts a server with the company Acme and its admin
// ada@example.com, whose password is goodPW.
func startAcme(t *testing.T, opts ...servertest.Option) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, opts...)
	s.Company(t, "Acme", "ada@example.com", goodPW)
	return s
}

// login posts an email and password to the API.
func login(c *servertest.Client, email, pw string) *servertest.Response {
	return c.Do("POST", "/api/v1/login", map[string]string{"email": email, "password": pw})
}

// wantProblem fails the test unless r is a problem document with this
// status and code.
func wantProblem(t *testing.T, what string, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.StatusCode != status || r.Header.Get("Content-Type") != "application/problem+json" || r.Code(t) != code {
		t.Fatalf("%s: got %d %s %s, want %d problem %s", what, r.StatusCode, r.Header.Get("Content-Type"), r.Body, status, code)
	}
}

// raw sends a request exactly as given, headers and Host included.
func raw(t *testing.T, s *servertest.Server, method, path, contentType string, body []byte, header map[string]string) *servertest.Response {
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	servertest.CheckExchange(t, req, body, resp, b)
	return &servertest.Response{Response: resp, Body: b}
}
