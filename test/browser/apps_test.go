package browser_test

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
)

// TestAppsPage is an admin's journey on /settings/apps in each language:
// register an app for forward auth (its client secret shown once, with a
// copy button), change it on its page (a refusal first), then delete it
// after the dialog. Each page is checked for
// accessibility; the screenshots are docs/screenshots/apps*.png.
func TestAppsPage(t *testing.T) {
	t.Parallel()
	cat := catalogue(t)
	for _, lang := range i18n.Supported {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			T := func(key string, args ...any) string { return cat.T(lang, key, args...) }
			s := startAcme(t)
			p := browsertest.NewPage(t, s.URL, browsertest.AcceptLanguage(lang))
			login(p, adaEmail, goodPW, "/settings/profile")
			p.Click(`.sidebar a[href="/settings/apps"]`)
			p.WaitPath("/settings/apps")
			p.WaitText(T("apps.none"))
			p.CheckAccessibility("apps, none")
			p.Fill("#name", "Wiki")
			p.Fill("#forward_auth_hosts", "wiki.acme.example")
			p.Click("#require_mfa")
			p.Screenshot(shotName("apps-add", lang))
			p.Submit(`form[action="/settings/apps"] button[type=submit]`)
			p.WaitVisible("#client-secret")
			if secret := p.Text("#client-secret"); len(secret) != 43 {
				t.Fatalf("client secret on the page: %q", secret)
			}
			p.WaitVisible(`[data-copy="#client-secret"]`)
			p.WaitText("wiki.acme.example")
			p.CheckAccessibility("apps, added")
			p.Screenshot(shotName("apps-added", lang))

			// Change it: its page holds its settings; a refusal stays on the
			// form with the error, a save returns to the list with a toast.
			p.Click(`.apps-table a.button`)
			p.WaitText(T("apps.edit_heading", "name", "Wiki"))
			if got := p.Value("#forward_auth_hosts"); got != "wiki.acme.example" {
				t.Fatalf("the form's hosts: %q", got)
			}
			p.CheckAccessibility("app, edit")
			p.Fill("#forward_auth_hosts", "https://wiki.acme.example/")
			p.Submit(`form[action^="/settings/apps/"] button[type=submit]`)
			p.WaitText(T("error.invalid_forward_auth_host"))
			p.CheckAccessibility("app, edit refused")
			p.Fill("#name", "Team wiki")
			p.Fill("#forward_auth_hosts", "wiki.acme.example\nkb.acme.example")
			p.Click("#require_admin")
			p.Screenshot(shotName("apps-edit", lang))
			p.Submit(`form[action^="/settings/apps/"] button[type=submit]`)
			p.WaitPath("/settings/apps")
			p.WaitToast(T("flash.app_updated"))
			p.WaitText("kb.acme.example")
			p.WaitText(T("apps.admins_only") + "; " + T("apps.mfa"))
			p.CheckAccessibility("apps, changed")

			p.Click(`form[action$="/delete"] button`)
			p.WaitVisible("#confirm-dialog")
			if got := p.Text("#confirm-dialog"); !strings.Contains(got, "Team wiki") {
				t.Errorf("the dialog says %q, want the app's name", got)
			}
			p.Screenshot(shotName("apps-delete-dialog", lang))
			p.Submit("#confirm-dialog-ok")
			p.WaitPath("/settings/apps")
			p.WaitToast(T("flash.app_deleted"))
			p.WaitText(T("apps.none"))
		})
	}
}

// TestForwardAuthJourney: a person opens a page of an app behind nginx
// (auth_request to Gatehouse), lands on Gatehouse's login page, signs in
// with their second factor, and arrives back at the page they asked for,
// which knows who they are.
func TestForwardAuthJourney(t *testing.T) {
	t.Parallel()
	s := startAcme(t)
	secret, _ := enableTOTP(t, s.Server, adaEmail, goodPW)
	// The app: a page that says whom nginx let in.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Wiki</title></head><body><main><h1>Wiki</h1>`+
			`<p id="who">Signed in as %s (%s)</p><p id="path">%s</p></main></body></html>`,
			html.EscapeString(r.Header.Get("Remote-User")), html.EscapeString(r.Header.Get("Remote-Groups")), html.EscapeString(r.URL.RequestURI()))
	}))
	t.Cleanup(app.Close)
	// Browsers send a host's cookies to every port of it: the app on
	// 127.0.0.1 behind nginx receives Gatehouse's cookie of 127.0.0.1.
	if _, err := s.Service().OperatorCreateApplication(context.Background(), s.CompanyID,
		auth.NewApplication{Name: "Wiki", ForwardAuthHosts: []string{"127.0.0.1"}, RequireMFA: true}, auth.Client{}); err != nil {
		t.Fatal(err)
	}
	proxy := startNginx(t, s.URL, app.URL)

	p := browsertest.NewPage(t, "http://"+proxy)
	p.Open("/docs/page?x=1")
	p.WaitPath("/login")
	if !strings.Contains(p.URL(), "rd=") {
		t.Fatalf("the login page's address %q carries no rd", p.URL())
	}
	p.Fill("#email", adaEmail)
	p.Fill("#password", goodPW)
	p.Submit("form[action='/login'] button[type=submit]")
	p.WaitPath("/login/2fa")
	p.Fill("#code", nextCode(s.Server, secret))
	p.Submit("form[action='/login/2fa'] button[type=submit]")
	p.WaitPath("/docs/page")
	p.WaitText("Signed in as " + adaEmail + " (admin)")
	if got := p.URL(); got != "http://"+proxy+"/docs/page?x=1" {
		t.Errorf("arrived at %q, want the page asked for", got)
	}
}

// startNginx runs nginx with auth_request to gatehouse in front of
// upstream, as docs/DEPLOYMENT.md configures it, and returns its address.
func startNginx(t *testing.T, gatehouse, upstream string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("nginx is not installed (.ci/run installs it)")
		}
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := strings.NewReplacer("{{dir}}", dir, "{{addr}}", addr, "{{upstream}}", upstream, "{{gatehouse}}", gatehouse).Replace(`daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path {{dir}}/tmp; proxy_temp_path {{dir}}/tmp; fastcgi_temp_path {{dir}}/tmp;
    uwsgi_temp_path {{dir}}/tmp; scgi_temp_path {{dir}}/tmp;
    server {
        listen {{addr}};
        location / {
            auth_request /_gatehouse;
            auth_request_set $gh_user $upstream_http_remote_user;
            auth_request_set $gh_groups $upstream_http_remote_groups;
            auth_request_set $gh_login $upstream_http_location;
            error_page 401 =302 $gh_login;
            proxy_set_header Remote-User $gh_user;
            proxy_set_header Remote-Groups $gh_groups;
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
`)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
