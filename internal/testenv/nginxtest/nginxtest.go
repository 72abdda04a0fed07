// Package nginxtest runs the real nginx (the Debian package) with
// auth_request before an upstream, as docs/DEPLOYMENT.md configures it, on
// a free loopback port with a generated configuration: for the tests of
// forward auth (api, test/browser) and for gatehouse-bench's forward-auth
// scenario, which compares nginx asking Gatehouse with nginx asking a bare
// handler.
package nginxtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// ErrMissing says that nginx is not installed.
var ErrMissing = errors.New("nginx is not installed (apt-get install nginx; .ci/run installs it)")

// Bin returns the nginx binary: on the PATH, or Debian's /usr/sbin/nginx
// (not on a user's PATH).
func Bin() (string, error) {
	if bin, err := exec.LookPath("nginx"); err == nil {
		return bin, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
		return "", ErrMissing
	}
	return "/usr/sbin/nginx", nil
}

// Config says what nginx stands before and asks.
type Config struct {
	// Auth is the URL auth_request asks, such as
	// http://127.0.0.1:8080/authz/auth-request.
	Auth string
	// Upstream is the app's base URL (no path).
	Upstream string
	// Keepalive keeps up to this many idle connections to Auth and to
	// Upstream each (default 16, DEPLOYMENT.md's): each auth subrequest
	// reuses a connection rather than opening one, as a production proxy
	// should.
	Keepalive int
	// Connections bounds each worker's connections (default 64).
	Connections int
}

// Conf returns the configuration of nginx listening on addr, its files
// in dir: DEPLOYMENT.md's upstream and location blocks, with c's addresses.
func Conf(dir, addr string, c Config) (string, error) {
	auth, err := url.Parse(c.Auth)
	if err != nil || auth.Host == "" {
		return "", fmt.Errorf("nginxtest: the auth URL %q", c.Auth)
	}
	up, err := url.Parse(c.Upstream)
	if err != nil || up.Host == "" {
		return "", fmt.Errorf("nginxtest: the upstream URL %q", c.Upstream)
	}
	conns := c.Connections
	if conns == 0 {
		conns = 64
	}
	keepalive := c.Keepalive
	if keepalive == 0 {
		keepalive = 16
	}
	return strings.NewReplacer("{{dir}}", dir, "{{addr}}", addr, "{{conns}}", fmt.Sprint(conns),
		"{{keepalive}}", fmt.Sprint(keepalive), "{{auth_host}}", auth.Host, "{{auth_uri}}", auth.RequestURI(),
		"{{upstream_host}}", up.Host).Replace(conf), nil
}

const conf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections {{conns}}; }
http {
    access_log off;
    client_body_temp_path {{dir}}/tmp;
    proxy_temp_path {{dir}}/tmp;
    fastcgi_temp_path {{dir}}/tmp;
    uwsgi_temp_path {{dir}}/tmp;
    scgi_temp_path {{dir}}/tmp;
    upstream gatehouse {
        server {{auth_host}};
        keepalive {{keepalive}};
    }
    upstream app {
        server {{upstream_host}};
        keepalive {{keepalive}};
    }
    server {
        listen {{addr}};
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
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
        location = /_gatehouse {
            internal;
            proxy_pass http://gatehouse{{auth_uri}};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Original-Method $request_method;
        }
    }
}
`

// Nginx is a running nginx.
type Nginx struct {
	Addr   string // 127.0.0.1:port
	Dir    string // its configuration, error log and temporary files
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs nginx with c in a new folder under parent (the system's
// temporary folder when empty) on a free loopback port, and returns once
// it listens.
func Start(parent string, c Config) (*Nginx, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "nginx")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	text, err := Conf(dir, addr, c)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive its starter
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &Nginx{Addr: addr, Dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(n.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return n, nil
		}
		select {
		case <-n.exited:
			return nil, fmt.Errorf("nginx exited before it listened on %s:\n%s", addr, n.ErrorLog())
		default:
		}
		if time.Now().After(deadline) {
			n.Stop()
			return nil, fmt.Errorf("nginx did not listen on %s: %v\n%s", addr, err, n.ErrorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is nginx's process (its only one: no master process).
func (n *Nginx) Pid() int { return n.cmd.Process.Pid }

// ErrorLog returns what nginx logged.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	return string(b)
}

// Stop ends nginx and waits until it has.
func (n *Nginx) Stop() {
	n.cmd.Process.Kill()
	<-n.exited
}

// StartT starts nginx before upstream, asking gatehouse's
// /authz/auth-request, for a test, and returns its address. It skips the
// test when nginx is missing (fails it in CI), stops nginx when the test
// ends, and logs nginx's error log if the test failed.
func StartT(t testing.TB, gatehouse, upstream string) string {
	t.Helper()
	if _, err := Bin(); err != nil {
		testenv.Need(t, err.Error())
	}
	n, err := Start(t.TempDir(), Config{Auth: gatehouse + "/authz/auth-request", Upstream: upstream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("nginx error log:\n%s", n.ErrorLog())
		}
	})
	return n.Addr
}
