package api_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/nginxtest"
)

// nginx with auth_request in front of an app, as docs/DEPLOYMENT.md
// configures it: the real Debian nginx (nginxtest), before an upstream
// that echoes the headers it got.

// echoUpstream answers every request with the request's headers as JSON.
func echoUpstream(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"path": r.URL.RequestURI(), "headers": r.Header})
	}))
	t.Cleanup(s.Close)
	return s
}

func TestNginxAuthRequest(t *testing.T) {
	w := newFAWorld(t)
	up := echoUpstream(t)
	addr := nginxtest.StartT(t, w.s.URL, up.URL)
	_, port, _ := net.SplitHostPort(addr)

	// get asks nginx for a page of host, as a browser with the session
	// cookie token (none when empty) and extra headers would.
	get := func(host, path, token string, extra map[string]string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Host = host + ":" + port
		req.Header.Set("Accept", browserAccept)
		if token != "" {
			req.Header.Set("Cookie", "gatehouse_session="+token)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var echoed map[string]any
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &echoed); err != nil {
				t.Fatalf("the upstream's answer: %v\n%s", err, body)
			}
		}
		return resp, echoed
	}
	header := func(echoed map[string]any, name string) []string {
		var out []string
		for _, v := range echoed["headers"].(map[string]any)[name].([]any) {
			out = append(out, v.(string))
		}
		return out
	}

	// Signed out: nginx redirects to the login page, which returns here.
	resp, _ := get("wiki.example.com", "/docs?page=2", "", map[string]string{"Remote-User": "ada@example.com"})
	want := w.s.URL + "/login?" + url.Values{"rd": {"http://wiki.example.com:" + port + "/docs?page=2"}}.Encode()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != want {
		t.Fatalf("signed out: got %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// Signed in: the upstream gets the identity, and never the client's own.
	resp, echoed := get("wiki.example.com", "/docs?page=2", w.bob, map[string]string{"Remote-User": "ada@example.com",
		"Remote-Groups": "admin", "Remote-Company-Id": w.beta})
	if resp.StatusCode != 200 || echoed["path"] != "/docs?page=2" {
		t.Fatalf("signed in: got %d %v", resp.StatusCode, echoed)
	}
	for name, value := range map[string]string{"Remote-User": "bob@example.com", "Remote-Email": "bob@example.com",
		"Remote-Groups": "member", "Remote-User-Id": w.bobID, "Remote-Company-Id": w.acme} {
		if got := header(echoed, name); len(got) != 1 || got[0] != value {
			t.Errorf("the upstream's %s: got %q, want only %q", name, got, value)
		}
	}

	// Not admitted: 403 from nginx, the upstream never asked.
	if resp, _ := get("admin.example.com", "/", w.bob, nil); resp.StatusCode != 403 {
		t.Errorf("a member into the admin panel: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := get("unknown.example.com", "/", w.bob, nil); resp.StatusCode != 403 {
		t.Errorf("an unknown host: got %d, want 403", resp.StatusCode)
	}

	// Sign-out takes effect at the very next request.
	if resp, _ := get("wiki.example.com", "/", w.ada, nil); resp.StatusCode != 200 {
		t.Fatalf("ada signed in: got %d", resp.StatusCode)
	}
	w.adaClient.Token = w.ada
	if r := w.adaClient.Do("POST", "/api/v1/logout", nil); r.StatusCode != 204 {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	if resp, _ := get("wiki.example.com", "/", w.ada, nil); resp.StatusCode != 302 {
		t.Errorf("after sign-out: got %d, want 302 to the login page", resp.StatusCode)
	}
}
