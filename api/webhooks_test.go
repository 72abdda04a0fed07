package api_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/dnstest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/webhooktest"
	"github.com/gatehouse/gatehouse/server"
)

// allowPrivate lets the server deliver to receivers on loopback.
var allowPrivate = servertest.WithOptions(func(o *server.Options) { o.WebhookAllowPrivate = true })

// webhookAdmin starts a server with Acme and returns the admin's client.
func webhookAdmin(t *testing.T, opts ...servertest.Option) (*servertest.Server, *servertest.Client) {
	t.Helper()
	s := startAcme(t, opts...)
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW)
	return s, c
}

// register registers url through the API and returns the endpoint's ID
// and secret.
func register(t *testing.T, c *servertest.Client, url string, events ...string) (id, secret string) {
	t.Helper()
	body := map[string]any{"url": url}
	if events != nil {
		body["events"] = events
	}
	r := c.Do("POST", "/api/v1/company/webhooks", body)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: got %d %s, want 201", url, r.StatusCode, r.Body)
	}
	id, secret = r.Str(t, "id"), r.Str(t, "secret")
	if !strings.HasPrefix(secret, "whsec_") || r.Header.Get("Location") != "/api/v1/company/webhooks/"+id {
		t.Fatalf("register: got secret %q, Location %q", secret, r.Header.Get("Location"))
	}
	return id, secret
}

// A delivery end to end: registered through the API, caused by an admin's
// change through the API, signed so that the reference library verifies
// it under the secret the API showed once, carrying the user exactly as
// the API shows them. The receiver fails, then hangs, then recovers: the
// delivery is retried with the same webhook-id until it succeeds, and the
// endpoint's page in the API tells each attempt.
func TestWebhookDeliveredEndToEnd(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s, c := webhookAdmin(t, db, allowPrivate, servertest.WithOptions(func(o *server.Options) { o.WebhookTimeout = time.Second }))
		r := webhooktest.Start(t)
		var mu sync.Mutex
		attempt := 0
		r.Respond(func(webhooktest.Received) webhooktest.Answer {
			mu.Lock()
			defer mu.Unlock()
			attempt++
			switch attempt {
			case 1:
				return webhooktest.Answer{Status: 500}
			case 2:
				return webhooktest.Answer{Hang: true} // until the sender's timeout
			}
			return webhooktest.Answer{Status: 204}
		})
		id, secret := register(t, c, r.URL, gatehouse.WebhookUserDisabled)
		r.SetSecrets(secret)
		companyID := c.Get("/api/v1/company").Str(t, "id")
		bob := s.AddUser(t, companyID, "bob@example.com", goodPW, gatehouse.RoleMember)
		if p := c.Do("PATCH", "/api/v1/company/users/"+bob, map[string]any{"disabled": true}); p.StatusCode != 200 {
			t.Fatalf("disable: got %d %s", p.StatusCode, p.Body)
		}

		// The retries come 5 s and 25 s after the failures; move the clock
		// instead of waiting for them, whenever no request is held.
		deadline := time.Now().Add(60 * time.Second)
		for len(r.Received()) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("after a minute the receiver got %d attempts, want 3", len(r.Received()))
			}
			n := len(r.Received())
			if n > 0 && r.Hanging() == 0 {
				s.Clock.Advance(time.Minute)
			}
			// A new attempt, or the end of a held one (the sender gave up).
			held := r.Hanging()
			r.Await(time.Second, func(rs []webhooktest.Received, hanging int) bool { return len(rs) > n || hanging < held })
		}
		got := r.Received()
		for i, x := range got {
			if !x.Verified() {
				t.Errorf("attempt %d: the reference library refused the signature: %v", i+1, x.Errors)
			}
			if x.ID != got[0].ID {
				t.Errorf("attempt %d: webhook-id %s, want %s as at the first", i+1, x.ID, got[0].ID)
			}
		}
		// The user as the API shows them, less what only the admin's view
		// of one user adds (the login throttle, mail that did not reach them).
		user := c.Get("/api/v1/company/users/" + bob).JSON(t)
		delete(user, "locked_until")
		delete(user, "mail_problem")
		var data map[string]any
		json.Unmarshal(got[0].Payload.Data, &data)
		if fmt.Sprint(data) != fmt.Sprint(user) || got[0].Payload.Type != gatehouse.WebhookUserDisabled {
			t.Errorf("payload %s data %v, want user.disabled with the API's user %v", got[0].Payload.Type, data, user)
		}

		// The API shows the delivery done, with its attempts.
		waitDelivered := time.Now().Add(10 * time.Second)
		for {
			ep := c.Get("/api/v1/company/webhooks/" + id).JSON(t)
			ds := ep["deliveries"].([]any)
			d := ds[0].(map[string]any)
			if d["state"] == "delivered" {
				if d["attempts"].(float64) != 3 || d["last_status"].(float64) != 204 || d["message_id"] != got[0].ID {
					t.Errorf("delivery: got %v, want delivered at the third attempt, 204, webhook-id %s", d, got[0].ID)
				}
				if ep["failing_since"] != nil || ep["state"] != "enabled" {
					t.Errorf("endpoint after a success: got %v", ep)
				}
				break
			}
			if time.Now().After(waitDelivered) {
				t.Fatalf("the delivery is not marked delivered: %v", d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// The API's rules: the contract's 201 with the secret once, the address
// rule's 400s, members 403, another company's endpoints 404, rotation,
// resend, delete, all audited.
func TestWebhookAPI(t *testing.T) {
	s, c := webhookAdmin(t)
	companyID := c.Get("/api/v1/company").Str(t, "id")
	for _, tc := range []struct{ url, code string }{
		{"http://hooks.example.com/x", gatehouse.EWebhookURLInvalid},
		{"https://127.0.0.1/x", gatehouse.EWebhookAddressNotAllowed},
		{"https://[::ffff:10.0.0.1]/x", gatehouse.EWebhookAddressNotAllowed},
		{"https://169.254.169.254/x", gatehouse.EWebhookAddressNotAllowed},
	} {
		before := s.Snapshot(t)
		wantProblem(t, tc.url, c.Do("POST", "/api/v1/company/webhooks", map[string]any{"url": tc.url}), 400, tc.code)
		if after := s.Snapshot(t); after != before {
			t.Errorf("%s: a refused registration changed the data", tc.url)
		}
	}
	wantProblem(t, "unknown event", c.Do("POST", "/api/v1/company/webhooks",
		map[string]any{"url": "https://1.1.1.1/x", "events": []string{"user.nope"}}), 400, gatehouse.EInvalidRequest)

	id, _ := register(t, c, "https://1.1.1.1/hooks", gatehouse.WebhookUserUpdated, gatehouse.WebhookUserUpdated)
	list := c.Get("/api/v1/company/webhooks").JSON(t)["webhooks"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["secret"] != nil || fmt.Sprint(list[0].(map[string]any)["events"]) != "[user.updated]" {
		t.Errorf("list: got %v, want the one endpoint with its events and no secret", list)
	}

	r := c.Do("POST", "/api/v1/company/webhooks/"+id+"/rotate-secret", nil)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Str(t, "secret"), "whsec_") {
		t.Errorf("rotate: got %d %s", r.StatusCode, r.Body)
	}
	if ep := c.Get("/api/v1/company/webhooks/" + id).JSON(t); ep["previous_secret_expires_at"] == nil {
		t.Errorf("after rotation the endpoint does not say until when the old secret signs: %v", ep)
	}

	// A member, another company's admin.
	s.AddUser(t, companyID, "mo@example.com", goodPW, gatehouse.RoleMember)
	m := s.Client(t)
	m.Token = m.Login("mo@example.com", goodPW)
	wantProblem(t, "member lists", m.Get("/api/v1/company/webhooks"), 403, gatehouse.EForbidden)
	wantProblem(t, "member registers", m.Do("POST", "/api/v1/company/webhooks", map[string]any{"url": "https://1.1.1.1/x"}), 403, gatehouse.EForbidden)
	s.Company(t, "Globex", "gil@example.com", goodPW)
	o := s.Client(t)
	o.Token = o.Login("gil@example.com", goodPW)
	wantProblem(t, "other company reads", o.Get("/api/v1/company/webhooks/"+id), 404, gatehouse.ENotFound)
	wantProblem(t, "other company deletes", o.Do("DELETE", "/api/v1/company/webhooks/"+id, nil), 404, gatehouse.ENotFound)
	wantProblem(t, "other company rotates", o.Do("POST", "/api/v1/company/webhooks/"+id+"/rotate-secret", nil), 404, gatehouse.ENotFound)
	wantProblem(t, "resend of nothing", c.Do("POST", "/api/v1/company/webhooks/"+id+"/deliveries/nope/resend", nil), 404, gatehouse.ENotFound)

	if r := c.Do("DELETE", "/api/v1/company/webhooks/"+id, nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: got %d %s", r.StatusCode, r.Body)
	}
	wantProblem(t, "deleted", c.Get("/api/v1/company/webhooks/"+id), 404, gatehouse.ENotFound)

	events := c.Get("/api/v1/company/audit-events").JSON(t)["events"].([]any)
	var types []string
	for _, e := range events {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	for _, want := range []string{gatehouse.EventWebhookCreated, gatehouse.EventWebhookSecretRotated, gatehouse.EventWebhookDeleted} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("audit log %v lacks %s", types, want)
		}
	}
}

// A slow or dead endpoint delays nobody: while ten endpoints hang, every
// delivery to ten others arrives, and so does mail, and a login works.
// All twenty are paths of one receiver, as when a service receives for
// many customers on one host: a hanging endpoint must not take the
// connections of the others. The hanging ones hold at most
// webhook.DefaultPerEndpoint requests each, and the attempts' timeout is
// far longer than the test waits, so nothing here gets through by waiting
// for them.
func TestSlowEndpointsDelayNobody(t *testing.T) {
	s, c := webhookAdmin(t, allowPrivate, servertest.WithOptions(func(o *server.Options) { o.WebhookTimeout = 5 * time.Minute }))
	companyID := c.Get("/api/v1/company").Str(t, "id")
	r := webhooktest.Start(t)
	r.Respond(func(x webhooktest.Received) webhooktest.Answer {
		return webhooktest.Answer{Hang: strings.HasPrefix(x.Path, "/slow/")}
	})
	base := strings.TrimSuffix(r.URL, "/hooks")
	var secrets []string
	for i := range 10 {
		for _, kind := range []string{"slow", "fast"} {
			_, secret := register(t, c, fmt.Sprintf("%s/%s/%d", base, kind, i), gatehouse.WebhookUserUpdated)
			secrets = append(secrets, secret)
		}
	}
	r.SetSecrets(secrets...)
	bob := s.AddUser(t, companyID, "bob@example.com", goodPW, gatehouse.RoleMember)
	const changes = 12
	for i := range changes {
		if r := c.Do("PATCH", "/api/v1/company/users/"+bob, map[string]any{"name": fmt.Sprintf("Bob %d", i)}); r.StatusCode != 200 {
			t.Fatalf("rename: got %d %s", r.StatusCode, r.Body)
		}
	}
	// Mail goes out meanwhile: an invitation.
	if r := c.Do("POST", "/api/v1/company/users", map[string]string{"email": "cy@example.com", "name": "Cy"}); r.StatusCode != 201 {
		t.Fatalf("invite: got %d %s", r.StatusCode, r.Body)
	}
	r.WaitFor(30*time.Second, fmt.Sprint(changes, " verified deliveries to each fast endpoint"), func(rs []webhooktest.Received) bool {
		n := map[string]int{}
		for _, x := range rs {
			if strings.HasPrefix(x.Path, "/fast/") && x.Verified() {
				n[x.Path]++
			}
		}
		for i := range 10 {
			if n[fmt.Sprintf("/fast/%d", i)] != changes {
				return false
			}
		}
		return true
	})
	s.SMTP.WaitFor(t, "cy@example.com", "")
	if tok := s.Client(t).Login("bob@example.com", goodPW); tok == "" {
		t.Error("login failed while endpoints hang")
	}
	for i := range 10 {
		path := fmt.Sprintf("/slow/%d", i)
		if n := r.HangingAt(path); n == 0 || n > 4 {
			t.Errorf("hanging endpoint %s holds %d requests, want 1 to 4 (webhook.DefaultPerEndpoint)", path, n)
		}
	}
}

// DNS rebinding through the whole server: the name of a registered
// endpoint resolved to a public address at registration, and resolves to
// loopback at delivery. The attempt is refused by the dialer's check, the
// endpoint's page says why, and the loopback receiver sees nothing.
func TestWebhookDNSRebinding(t *testing.T) {
	r := webhooktest.Start(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(r.URL, "/hooks"), "http://"))
	dns := dnstest.Start(t)
	dns.Set("hooks.rebind.test", "93.184.216.34")
	s, c := webhookAdmin(t, servertest.WithOptions(func(o *server.Options) { o.WebhookResolver = dns.Resolver() }))
	id, _ := register(t, c, "https://hooks.rebind.test:"+port+"/hooks")
	dns.Set("hooks.rebind.test", "127.0.0.1")
	companyID := c.Get("/api/v1/company").Str(t, "id")
	bob := s.AddUser(t, companyID, "bob@example.com", goodPW, gatehouse.RoleMember)
	c.Do("PATCH", "/api/v1/company/users/"+bob, map[string]any{"name": "Robert"})
	deadline := time.Now().Add(15 * time.Second)
	for {
		ep := c.Get("/api/v1/company/webhooks/" + id).JSON(t)
		if e, _ := ep["last_error"].(string); e != "" {
			if !strings.Contains(e, "loopback") || strings.Contains(e, "127.0.0.1") {
				t.Errorf("last error: got %q, want the loopback refusal, without the address", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt recorded: %v", ep)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(r.Received()); n != 0 {
		t.Errorf("the loopback receiver got %d requests, want none", n)
	}
}

// What an operator reads in /metrics after real deliveries to a real
// receiver: the attempt delivered, then an endpoint that answers 410 Gone
// disabled with its delivery given up, and a receiver that hangs making
// the oldest due delivery's wait grow.
func TestWebhookMetrics(t *testing.T) {
	s, c := webhookAdmin(t, allowPrivate)
	r := webhooktest.Start(t)
	var mu sync.Mutex
	gone := false
	r.Respond(func(rec webhooktest.Received) webhooktest.Answer {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(rec.Path, "/slow"):
			return webhooktest.Answer{Hang: true}
		case gone:
			return webhooktest.Answer{Status: http.StatusGone}
		}
		return webhooktest.Answer{Status: 204}
	})
	id, _ := register(t, c, r.URL, gatehouse.WebhookUserDisabled, gatehouse.WebhookUserEnabled)
	companyID := c.Get("/api/v1/company").Str(t, "id")
	bob := s.AddUser(t, companyID, "bob@example.com", goodPW, gatehouse.RoleMember)
	metric := func(name string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(string(c.Get("/metrics").Body))
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	waitMetric := func(name string, ok func(float64) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for v := metric(name); !ok(v); v = metric(name) {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %v after 20 s", name, v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	patch := func(disabled bool) {
		t.Helper()
		if p := c.Do("PATCH", "/api/v1/company/users/"+bob, map[string]any{"disabled": disabled}); p.StatusCode != 200 {
			t.Fatalf("disable: got %d %s", p.StatusCode, p.Body)
		}
	}

	patch(true)
	r.WaitFor(10*time.Second, "the delivery", func(rs []webhooktest.Received) bool { return len(rs) == 1 })
	waitMetric(`gatehouse_webhook_attempts_total{outcome="delivered"}`, func(v float64) bool { return v == 1 })
	waitMetric(`gatehouse_webhook_pending`, func(v float64) bool { return v == 0 })
	if v := metric(`gatehouse_webhook_oldest_due_seconds`); v != 0 {
		t.Errorf("gatehouse_webhook_oldest_due_seconds with nothing due: %v, want 0", v)
	}

	mu.Lock()
	gone = true
	mu.Unlock()
	patch(false)
	waitMetric(`gatehouse_webhook_endpoints_disabled_total{reason="gone"}`, func(v float64) bool { return v == 1 })
	for name, want := range map[string]float64{
		`gatehouse_webhook_attempts_total{outcome="failed"}`:  1,
		`gatehouse_webhook_given_up_total{reason="disabled"}`: 1,
		`gatehouse_webhook_failed`:                            1,
	} {
		if v := metric(name); v != want {
			t.Errorf("%s: got %v, want %v", name, v, want)
		}
	}
	if ep := c.Get("/api/v1/company/webhooks/" + id).JSON(t); ep["state"] != "disabled" {
		t.Errorf("endpoint after 410: got %v, want disabled", ep)
	}

	register(t, c, r.URL+"/slow", gatehouse.WebhookUserDisabled)
	patch(true)
	if !r.Await(10*time.Second, func(_ []webhooktest.Received, hanging int) bool { return hanging == 1 }) {
		t.Fatal("the slow receiver got no delivery")
	}
	s.Clock.Advance(time.Minute)
	if v := metric(`gatehouse_webhook_oldest_due_seconds`); v < 60 {
		t.Errorf("gatehouse_webhook_oldest_due_seconds a minute after the hanging delivery was due: %v, want at least 60", v)
	}
}
