package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nginx with auth_request in front of an app, as docs/DEPLOYMENT.md
// configures it: the real Debian nginx, started on a free loopback port
// with a generated configuration, before an upstream that echoes the
// headers it got.

// nginxConf is DEPLOYMENT.md's configuration, with the test's addresses.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path {{dir}}/tmp;
    proxy_temp_path {{dir}}/tmp;
    fastcgi_temp_path {{dir}}/tmp;
    uwsgi_temp_path {{dir}}/tmp;
    scgi_temp_path {{dir}}/tmp;
    server {
        listen 127.0.0.1:{{port}};
        location / {
            auth_request /_gatehouse;
            auth_request_set $gh_user $upstream_http_remote_user;
            auth_request_set $gh_email $upstream_http_remote_email;
            auth_request_set $gh_name $upstream_http_remote_name;
            auth_request_set $gh_groups $upstream_http_remote_groups;
            auth_request_set $gh_user_id $upstream_http_remote_user_id;
            auth_request_set $gh_company_id $upstream_http_remote_company_id;
            auth_request_set $gh_login $upstream_http_location;
            error_page 401 =302 $gh_login;
            proxy_set_header Remote-User $gh_user;
            proxy_set_header Remote-Email $gh_email;
            proxy_set_header Remote-Name $gh_name;
            proxy_set_header Remote-Groups $gh_groups;
            proxy_set_header Remote-User-Id $gh_user_id;
            proxy_set_header Remote-Company-Id $gh_company_id;
            proxy_pass {{upstream}};
        }
        location = /_gatehouse {
            internal;
            proxy_pass {{gatehouse}}/authz/auth-request;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
        }
    }
}
`

// startNginx runs nginx before upstream, asking gatehouse, and returns
// its address (127.0.0.1:port). It stops when the test ends.
func startNginx(t *testing.T, gatehouse, upstream string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", port, "{{upstream}}", upstream, "{{gatehouse}}", gatehouse).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error log:\n%s", log)
		}
	})
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
	addr := startNginx(t, w.s.URL, up.URL)
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
