package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/webhook"
)

// The webhook rules below HTTP, on both databases: which change reports
// which event (derived from the transaction's audit events, on every path:
// what the API and the pages call, and the operator's commands), what the
// event carries, and what becomes of a delivery that fails. The server is
// opened but not started: deliveries stay in the outbox to be read, and
// the tests play the worker's part through the queue.

var cli = auth.Client{IP: "192.0.2.10", UserAgent: "webhook-test"}

// outbox reads the deliveries of one endpoint, oldest first.
type outbox struct {
	e    *env
	seen map[string]bool
}

func (o *outbox) all(t *testing.T, endpointID string) []*gatehouse.WebhookDelivery {
	t.Helper()
	var ds []*gatehouse.WebhookDelivery
	err := o.e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		ds, err = tx.WebhookDeliveries(endpointID, 1000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ds)
	return ds
}

// fresh returns the deliveries of the endpoint not returned before.
func (o *outbox) fresh(t *testing.T, endpointID string) []*gatehouse.WebhookDelivery {
	t.Helper()
	var out []*gatehouse.WebhookDelivery
	for _, d := range o.all(t, endpointID) {
		if !o.seen[d.ID] {
			o.seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}

// payload decodes a delivery's body.
func payload(t *testing.T, d *gatehouse.WebhookDelivery) (typ string, at time.Time, data map[string]any) {
	t.Helper()
	var p struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(d.Body, &p); err != nil {
		t.Fatalf("payload %s: %v", d.Body, err)
	}
	return p.Type, p.Timestamp, p.Data
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no token in %q", link)
	}
	return u.Query().Get("token")
}

// Each event type, on each path that makes it: one subtest per case,
// named after the event type. Each case checks that its change wrote
// exactly one delivery to the company's endpoint (and to the operator's,
// which hears every company), of that type, about the right user or
// company as the change left it, with the webhook-id of the change's
// audit event.
func TestWebhookEvents(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		svc := e.svc
		admin := e.company(t)
		companyID, adminID := admin.User.CompanyID, admin.User.ID
		hook, err := svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: "http://127.0.0.1:9/hooks"}, cli)
		if err != nil {
			t.Fatal(err)
		}
		op, err := svc.OperatorCreateWebhook(ctx, "", auth.NewWebhook{URL: "http://127.0.0.1:9/all"}, cli)
		if err != nil {
			t.Fatal(err)
		}
		ob := &outbox{e: e, seen: map[string]bool{}}
		bobID := e.user(t, companyID, gatehouse.RoleMember).ID

		type want struct {
			typ, subject string
			company      string // of the event; the company endpoint hears only its own
			check        func(t *testing.T, data map[string]any)
		}
		check := func(t *testing.T, w want) {
			t.Helper()
			endpoints := []string{op.Endpoint.ID}
			if w.company == companyID {
				endpoints = append(endpoints, hook.Endpoint.ID)
			}
			var msgID string
			for _, ep := range endpoints {
				ds := ob.fresh(t, ep)
				if len(ds) != 1 {
					var types []string
					for _, d := range ds {
						types = append(types, d.Type)
					}
					t.Fatalf("endpoint %s: got %d deliveries %v, want one %s", ep, len(ds), types, w.typ)
				}
				d := ds[0]
				typ, _, data := payload(t, d)
				if d.Type != w.typ || typ != w.typ {
					t.Errorf("delivery type: got %s (payload %s), want %s", d.Type, typ, w.typ)
				}
				if data["id"] != w.subject {
					t.Errorf("data.id: got %v, want %s", data["id"], w.subject)
				}
				if d.CompanyID != w.company {
					t.Errorf("company: got %s, want %s", d.CompanyID, w.company)
				}
				if msgID != "" && d.MessageID != msgID {
					t.Errorf("webhook-id: got %s on one endpoint and %s on another, want one per event", d.MessageID, msgID)
				}
				msgID = d.MessageID
				if w.check != nil {
					w.check(t, data)
				}
			}
			// The webhook-id is the audit event's ID: one place made both.
			var n int
			err := e.store.View(ctx, func(tx gatehouse.Tx) error {
				evs, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: w.company, Limit: 50})
				for _, ev := range evs {
					if "msg_"+ev.ID == msgID {
						n++
					}
				}
				return err
			})
			if err != nil || n != 1 {
				t.Errorf("webhook-id %s: %d audit events have its ID (%v), want 1", msgID, n, err)
			}
		}
		field := func(name string, v any) func(t *testing.T, data map[string]any) {
			return func(t *testing.T, data map[string]any) {
				t.Helper()
				if data[name] != v {
					t.Errorf("data.%s: got %v, want %v", name, data[name], v)
				}
			}
		}

		t.Run("user.invited", func(t *testing.T) {
			u, err := svc.InviteUser(ctx, admin, auth.Invite{Email: "cy@example.com", Name: "Cy"}, cli)
			if err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserInvited, u.ID, companyID, field("status", "invited")})
		})
		var otherCompany, otherAdmin, invitation string
		t.Run("user.invited/operator_company_create", func(t *testing.T) {
			c, u, link, err := svc.CreateCompany(ctx, auth.NewCompany{Name: "Globex", AdminName: "Gil", AdminEmail: "gil@globex.example"}, cli)
			if err != nil {
				t.Fatal(err)
			}
			otherCompany, otherAdmin, invitation = c.ID, u.ID, link
			check(t, want{gatehouse.WebhookUserInvited, u.ID, c.ID, field("role", "admin")})
		})
		t.Run("user.updated/invitation_accepted", func(t *testing.T) {
			if err := svc.ResetPassword(ctx, tokenOf(t, invitation), goodPW, goodPW, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserUpdated, otherAdmin, otherCompany, field("status", "active")})
		})
		t.Run("user.updated", func(t *testing.T) {
			name, role := "Bob Builder", gatehouse.RoleAdmin
			if _, err := svc.UpdateUser(ctx, admin, bobID, auth.UserUpdate{Name: &name, Role: &role}, cli); err != nil {
				t.Fatal(err)
			}
			// Two audit events (name, role), one event: the user as the change left them.
			check(t, want{gatehouse.WebhookUserUpdated, bobID, companyID, func(t *testing.T, data map[string]any) {
				if data["name"] != name || data["role"] != "admin" {
					t.Errorf("data: got name %v role %v, want %s admin", data["name"], data["role"], name)
				}
			}})
		})
		t.Run("user.updated/email", func(t *testing.T) {
			email := "robert@example.com"
			if _, err := svc.UpdateUser(ctx, admin, bobID, auth.UserUpdate{Email: &email}, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserUpdated, bobID, companyID, field("email", email)})
		})
		t.Run("user.disabled", func(t *testing.T) {
			yes := true
			if _, err := svc.UpdateUser(ctx, admin, bobID, auth.UserUpdate{Disabled: &yes}, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserDisabled, bobID, companyID, field("status", "disabled")})
		})
		t.Run("user.enabled", func(t *testing.T) {
			no := false
			if _, err := svc.UpdateUser(ctx, admin, bobID, auth.UserUpdate{Disabled: &no}, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserEnabled, bobID, companyID, field("status", "active")})
		})
		t.Run("user.password_changed", func(t *testing.T) {
			bob := e.signIn(t, "robert@example.com", goodPW)
			if _, err := svc.ChangePassword(ctx, bob, goodPW, testenv.OtherPassword, testenv.OtherPassword, false, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserPasswordChanged, bobID, companyID, nil})
		})
		t.Run("user.password_reset/admin_temporary", func(t *testing.T) {
			if _, err := svc.SetTemporaryPassword(ctx, admin, bobID, "", cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserPasswordReset, bobID, companyID, field("must_change_password", true)})
		})
		t.Run("user.password_changed/forced_at_login", func(t *testing.T) {
			pw, _, err := svc.OperatorTemporaryPassword(ctx, "robert@example.com", cli)
			if err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserPasswordReset, bobID, companyID, nil}) // the operator's temporary password
			res, err := svc.Login(ctx, "robert@example.com", pw, cli)
			if err != nil || res.Status != auth.StatusPasswordChangeRequired {
				t.Fatalf("login: got %+v, %v", res, err)
			}
			if _, err := svc.LoginChangePassword(ctx, res.Challenge, goodPW, goodPW, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserPasswordChanged, bobID, companyID, field("must_change_password", false)})
		})
		t.Run("user.password_reset/link", func(t *testing.T) {
			link, _, err := svc.OperatorResetLink(ctx, "robert@example.com", cli)
			if err != nil {
				t.Fatal(err)
			}
			if ds := ob.fresh(t, hook.Endpoint.ID); len(ds) != 0 {
				t.Fatalf("a reset link alone wrote %d deliveries, want none: the password has not changed", len(ds))
			}
			ob.fresh(t, op.Endpoint.ID)
			if err := svc.ResetPassword(ctx, tokenOf(t, link), testenv.OtherPassword, testenv.OtherPassword, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserPasswordReset, bobID, companyID, nil})
		})
		t.Run("user.totp_enabled", func(t *testing.T) {
			bob := e.signIn(t, "robert@example.com", testenv.OtherPassword)
			en, err := svc.BeginTOTPEnrollment(ctx, bob, "", cli)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ConfirmTOTP(ctx, bob, e.code(decodeSecret(t, en.Secret), 0), cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserTOTPEnabled, bobID, companyID, field("totp_enabled", true)})
		})
		t.Run("user.totp_disabled/admin", func(t *testing.T) {
			if err := svc.RemoveUserTOTP(ctx, admin, bobID, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserTOTPDisabled, bobID, companyID, field("totp_enabled", false)})
		})
		t.Run("user.totp_disabled/operator", func(t *testing.T) {
			e.clock.Advance(time.Minute) // a fresh TOTP step for the new secret
			res, err := svc.Login(ctx, "robert@example.com", testenv.OtherPassword, cli)
			if err != nil {
				t.Fatal(err)
			}
			bob, _ := svc.Authenticate(ctx, res.SessionToken)
			en, err := svc.BeginTOTPEnrollment(ctx, bob, "", cli)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ConfirmTOTP(ctx, bob, e.code(decodeSecret(t, en.Secret), 0), cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserTOTPEnabled, bobID, companyID, nil})
			if _, err := svc.OperatorRemoveTOTP(ctx, "robert@example.com", cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserTOTPDisabled, bobID, companyID, field("totp_enabled", false)})
		})
		t.Run("user.totp_disabled/self", func(t *testing.T) {
			en, err := svc.BeginTOTPEnrollment(ctx, admin, "", cli)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ConfirmTOTP(ctx, admin, e.code(decodeSecret(t, en.Secret), 0), cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserTOTPEnabled, adminID, companyID, nil})
			e.clock.Advance(time.Minute) // a step the confirmation did not use
			res, err := svc.Login(ctx, admin.User.Email, goodPW, cli)
			if err == nil {
				res, err = svc.LoginTOTP(ctx, res.Challenge, e.code(decodeSecret(t, en.Secret), 0), "", cli)
			}
			if err != nil || res.Status != auth.StatusAuthenticated {
				t.Fatalf("login with 2FA: got %+v, %v", res, err)
			}
			self, err := svc.Authenticate(ctx, res.SessionToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.DisableTOTP(ctx, self, goodPW, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookUserTOTPDisabled, adminID, companyID, nil})
		})
		t.Run("company.updated", func(t *testing.T) {
			name := "Acme Corp"
			if _, err := svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{Name: &name}, cli); err != nil {
				t.Fatal(err)
			}
			check(t, want{gatehouse.WebhookCompanyUpdated, companyID, companyID, field("name", name)})
		})
		t.Run("refused_change_writes_nothing", func(t *testing.T) {
			yes := true
			_, err := svc.UpdateUser(ctx, admin, adminID, auth.UserUpdate{Disabled: &yes}, cli)
			if err == nil {
				t.Fatal("an admin disabled themselves")
			}
			if ds := ob.fresh(t, hook.Endpoint.ID); len(ds) != 0 {
				t.Errorf("a refused change wrote %d deliveries", len(ds))
			}
		})
	})
}

// An endpoint hears only the types it chose; a disabled endpoint and
// another company's endpoint hear nothing.
func TestWebhookEventFilter(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		svc := e.svc
		admin, other := e.company(t), e.company(t)
		companyID := admin.User.CompanyID
		only, err := svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: "http://127.0.0.1:9/a", Events: []string{gatehouse.WebhookUserDisabled}}, cli)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := svc.CreateWebhook(ctx, other, auth.NewWebhook{URL: "http://127.0.0.1:9/b"}, cli)
		if err != nil {
			t.Fatal(err)
		}
		bobID := e.user(t, companyID, gatehouse.RoleMember).ID
		name := "Bob B"
		yes := true
		if _, err := svc.UpdateUser(ctx, admin, bobID, auth.UserUpdate{Name: &name}, cli); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdateUser(ctx, admin, bobID, auth.UserUpdate{Disabled: &yes}, cli); err != nil {
			t.Fatal(err)
		}
		ob := &outbox{e: e, seen: map[string]bool{}}
		if ds := ob.fresh(t, only.Endpoint.ID); len(ds) != 1 || ds[0].Type != gatehouse.WebhookUserDisabled {
			t.Errorf("the user.disabled endpoint got %d deliveries, want the one user.disabled", len(ds))
		}
		if ds := ob.fresh(t, theirs.Endpoint.ID); len(ds) != 0 {
			t.Errorf("another company's endpoint got %d deliveries, want none", len(ds))
		}
		// Another company's admin cannot see or touch the endpoint.
		if _, _, err := svc.Webhook(ctx, other, only.Endpoint.ID); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Errorf("another company's admin reading the endpoint: got %v, want not_found", err)
		}
		if err := svc.DeleteWebhook(ctx, other, only.Endpoint.ID, cli); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
			t.Errorf("another company's admin deleting the endpoint: got %v, want not_found", err)
		}
	})
}

// A change audited outside Service.commit would lose its webhook: the
// service refuses to write it. (Every path goes through commit; this is
// the guard that keeps a path added later from slipping past.)
func TestWebhookEventsCannotBeAuditedOutsideCommit(t *testing.T) {
	if err := auth.AuditOutsideCommitError(gatehouse.EventUserDisabled); err == nil || !strings.Contains(err.Error(), "webhook would be lost") {
		t.Error("auditing user.disabled outside commit is not refused")
	}
	if auth.AuditOutsideCommitError(gatehouse.EventLogout) != nil {
		t.Error("auditing logout (no webhook) outside commit is refused")
	}
}

// claimOne plays the worker: it claims what is due and returns it.
func claimAll(t *testing.T, e *env) []webhook.Delivery {
	t.Helper()
	ds, err := e.svc.WebhookQueue().Claim(ctx, 100, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func record(t *testing.T, e *env, ds []webhook.Delivery, a webhook.Answer) {
	t.Helper()
	var rs []webhook.Result
	for _, d := range ds {
		rs = append(rs, webhook.Result{DeliveryID: d.ID, EndpointID: d.EndpointID, Attempt: d.Attempt, At: time.Now(), Answer: a})
	}
	if err := e.svc.WebhookQueue().Record(ctx, rs); err != nil {
		t.Fatal(err)
	}
}

func delivery(t *testing.T, e *env, id string) *gatehouse.WebhookDelivery {
	t.Helper()
	var d *gatehouse.WebhookDelivery
	err := e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		d, err = tx.WebhookDelivery(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func endpoint(t *testing.T, e *env, id string) *gatehouse.WebhookEndpoint {
	t.Helper()
	var ep *gatehouse.WebhookEndpoint
	err := e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		ep, err = tx.WebhookEndpoint(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// failing sets up a company, an endpoint and one delivery to it, claimed.
func failing(t *testing.T, e *env) (admin *auth.Identity, hook *auth.CreatedWebhook, d webhook.Delivery) {
	t.Helper()
	admin = e.company(t)
	hook, err := e.svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: "http://127.0.0.1:9/hooks"}, cli)
	if err != nil {
		t.Fatal(err)
	}
	name := "Acme Corp"
	if _, err := e.svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{Name: &name}, cli); err != nil {
		t.Fatal(err)
	}
	ds := claimAll(t, e)
	if len(ds) != 1 || ds[0].Attempt != 1 {
		t.Fatalf("claimed %+v, want one delivery at attempt 1", ds)
	}
	return admin, hook, ds[0]
}

var serverError = webhook.Answer{Status: 500, Err: errors.New("HTTP 500 Internal Server Error")}

// A failed attempt is retried after the backoff (or the receiver's
// Retry-After, when longer), with the same webhook-id; a delivery that has
// failed for a day is given up; the endpoint stays enabled.
func TestWebhookRetryRules(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		_, hook, d := failing(t, e)
		record(t, e, []webhook.Delivery{d}, webhook.Answer{Status: 503, Err: errors.New("HTTP 503"), RetryAfter: time.Hour})
		got := delivery(t, e, d.ID)
		if got.State() != gatehouse.DeliveryPending || got.LastStatus != 503 || got.NextAttemptAt.Sub(e.clock.Now()) < 59*time.Minute {
			t.Fatalf("after a 503 with Retry-After 1h: got state %s status %d next in %v, want pending, 503, an hour",
				got.State(), got.LastStatus, got.NextAttemptAt.Sub(e.clock.Now()))
		}
		if ds := claimAll(t, e); len(ds) != 0 {
			t.Fatalf("claimed %d deliveries before the retry was due", len(ds))
		}
		for attempt := 2; ; attempt++ {
			e.clock.Advance(webhook.MaxRetryWait)
			ds := claimAll(t, e)
			if len(ds) != 1 || ds[0].Attempt != attempt || ds[0].Message.ID != d.Message.ID {
				t.Fatalf("attempt %d: claimed %+v, want the delivery again with webhook-id %s", attempt, ds, d.Message.ID)
			}
			record(t, e, ds, serverError)
			if got := delivery(t, e, d.ID); got.State() == gatehouse.DeliveryFailed {
				if age := e.clock.Now().Sub(got.RetryFrom); age < auth.WebhookRetryFor {
					t.Errorf("given up after %v, want at least %v", age, auth.WebhookRetryFor)
				}
				break
			}
			if attempt > 20 {
				t.Fatal("never given up")
			}
		}
		if ep := endpoint(t, e, hook.Endpoint.ID); ep.Disabled() || ep.FailingSince.IsZero() || ep.LastError == "" {
			t.Errorf("endpoint after a day of failures: got disabled=%v failing_since=%v last_error=%q, want enabled, failing, the error",
				ep.Disabled(), ep.FailingSince, ep.LastError)
		}
		// The operator reads which delivery of whose endpoint, and why.
		logged := e.log.String()
		for _, want := range []string{"webhook delivery given up", "delivery=" + d.ID, "webhook_id=" + d.Message.ID,
			"endpoint=" + hook.Endpoint.ID, "company=" + hook.Endpoint.CompanyID, "host=127.0.0.1:9 ", "last_status=500 "} {
			if !strings.Contains(logged, want) {
				t.Errorf("the log does not say %q:\n%s", want, logged)
			}
		}
	})
}

// The first two retries come within a minute; then the waits grow to
// hours, and the schedule spans at least a day.
func TestWebhookBackoffSchedule(t *testing.T) {
	if first2 := webhook.FirstRetry + 5*webhook.FirstRetry; first2 > 45*time.Second {
		t.Errorf("the first two retries wait up to %v, want well within a minute (the worker polls every %v)", first2, webhook.DefaultPoll)
	}
	var total time.Duration
	for n := 1; n <= 12; n++ {
		d := webhook.Backoff(n)
		if n > 1 && d < webhook.Backoff(n-1)*3/4/2 {
			t.Errorf("Backoff(%d) = %v shrinks", n, d)
		}
		if d > webhook.MaxRetryWait {
			t.Errorf("Backoff(%d) = %v, want at most %v", n, d, webhook.MaxRetryWait)
		}
		total += d
	}
	if total < 24*time.Hour {
		t.Errorf("12 waits add up to %v, want retries for at least a day", total)
	}
}

// An endpoint whose every attempt has failed for five days is disabled:
// its waiting deliveries fail, the company's admins are told by mail, the
// audit log says so, and the page's data says why.
func TestWebhookDisabledAfterFailingFiveDays(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin, hook, d := failing(t, e)
		other := e.admin(t, admin)
		record(t, e, []webhook.Delivery{d}, serverError)
		e.clock.Advance(auth.WebhookDisableAfter - time.Hour)
		// A new event in the meantime: the endpoint has not succeeded since.
		svc := e.svc
		name := "Acme Again"
		if _, err := svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{Name: &name}, cli); err != nil {
			t.Fatal(err)
		}
		ds := claimAll(t, e)
		if len(ds) != 2 {
			t.Fatalf("claimed %d, want the old delivery (given up by now? no: it was claimed) and the new", len(ds))
		}
		record(t, e, ds[:1], serverError)
		if ep := endpoint(t, e, hook.Endpoint.ID); ep.Disabled() {
			t.Fatalf("disabled after %v of failures, want %v", auth.WebhookDisableAfter-time.Hour, auth.WebhookDisableAfter)
		}
		e.clock.Advance(time.Hour)
		record(t, e, ds[1:], serverError)
		ep := endpoint(t, e, hook.Endpoint.ID)
		if !ep.Disabled() || ep.DisabledReason != gatehouse.WebhookDisabledFailing {
			t.Fatalf("after %v of failures: got disabled=%v reason %q, want disabled, failing", auth.WebhookDisableAfter, ep.Disabled(), ep.DisabledReason)
		}
		// The operator reads whose endpoint, where, how long and how often
		// it failed, its last answer and what was given up with it; not its
		// URL's path, which may hold the receiver's token.
		logged := e.log.String()
		for _, want := range []string{"webhook endpoint disabled: every attempt failed for 120h0m0s", "endpoint=" + ep.ID,
			"company=" + ep.CompanyID, `company_name="Acme Again"`, "host=127.0.0.1:9 ", "reason=failing ",
			"failed_attempts=3 ", "last_status=500 ", `err="HTTP 500 Internal Server Error"`, "deliveries_given_up=1"} {
			if !strings.Contains(logged, want) {
				t.Errorf("the log does not say %q:\n%s", want, logged)
			}
		}
		if strings.Contains(logged, "127.0.0.1:9/hooks") {
			t.Errorf("the log names the endpoint's whole URL:\n%s", logged)
		}
		for _, x := range ds {
			if got := delivery(t, e, x.ID); got.State() != gatehouse.DeliveryFailed {
				t.Errorf("delivery %s of the disabled endpoint: got %s, want failed", x.ID, got.State())
			}
		}
		// No new deliveries go to it, and a resend is refused until it is enabled.
		if _, err := svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{Name: &name}, cli); err != nil {
			t.Fatal(err)
		}
		name = "Acme Later"
		if _, err := svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{Name: &name}, cli); err != nil {
			t.Fatal(err)
		}
		if n := len((&outbox{e: e, seen: map[string]bool{}}).all(t, ep.ID)); n != 2 {
			t.Errorf("the disabled endpoint has %d deliveries, want still 2", n)
		}
		err := svc.ResendWebhookDelivery(ctx, admin, ep.ID, ds[0].ID, cli)
		if gatehouse.ErrorCode(err) != gatehouse.EWebhookDisabled {
			t.Errorf("resend to a disabled endpoint: got %v, want webhook_disabled", err)
		}
		var events []*gatehouse.AuditEvent
		e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
			events, err = tx.AuditEvents(gatehouse.AuditFilter{CompanyID: ep.CompanyID, Type: gatehouse.EventWebhookDisabled, Limit: 10})
			return err
		})
		if len(events) != 1 || !strings.Contains(events[0].Detail, "endpoint="+ep.ID) {
			t.Errorf("audit: got %d webhook.disabled events, want one naming the endpoint", len(events))
		}

		// Enabled again, it receives events and a resend.
		if err := svc.EnableWebhook(ctx, admin, ep.ID, cli); err != nil {
			t.Fatal(err)
		}
		if err := svc.ResendWebhookDelivery(ctx, admin, ep.ID, ds[0].ID, cli); err != nil {
			t.Fatalf("resend after enabling: %v", err)
		}
		if got := delivery(t, e, ds[0].ID); got.State() != gatehouse.DeliveryPending || got.Attempts != 0 {
			t.Errorf("resent delivery: got %s after %d attempts, want pending with a fresh schedule", got.State(), got.Attempts)
		}

		// Both admins were told, in their mail.
		for _, to := range []string{admin.User.Email, other.User.Email} {
			m := e.smtp.WaitFor(t, to, "Webhook endpoint disabled")
			if !strings.Contains(m.Text, hook.Endpoint.URL) || !strings.Contains(m.Text, auth.WebhooksPath+"/"+ep.ID) {
				t.Errorf("mail to %s: want the endpoint's URL and page in\n%s", to, m.Text)
			}
		}
	})
}

// A receiver that answers 410 Gone asks senders to stop: its endpoint is
// disabled at once.
func TestWebhookGoneDisables(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		_, hook, d := failing(t, e)
		record(t, e, []webhook.Delivery{d}, webhook.Answer{Status: http.StatusGone, Err: errors.New("HTTP 410 Gone")})
		if ep := endpoint(t, e, hook.Endpoint.ID); !ep.Disabled() || ep.DisabledReason != gatehouse.WebhookDisabledGone {
			t.Errorf("after 410: got disabled=%v reason %q, want disabled, gone", ep.Disabled(), ep.DisabledReason)
		}
	})
}

// A success ends the endpoint's run of failures.
func TestWebhookSuccessClearsFailing(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		_, hook, d := failing(t, e)
		record(t, e, []webhook.Delivery{d}, serverError)
		e.clock.Advance(time.Minute)
		ds := claimAll(t, e)
		record(t, e, ds, webhook.Answer{Status: 204})
		if ep := endpoint(t, e, hook.Endpoint.ID); !ep.FailingSince.IsZero() || ep.LastError != "" {
			t.Errorf("after a success: failing_since %v, last_error %q, want none", ep.FailingSince, ep.LastError)
		}
		if got := delivery(t, e, d.ID); got.State() != gatehouse.DeliveryDelivered || got.LastStatus != 204 {
			t.Errorf("delivery: got %s %d, want delivered 204", got.State(), got.LastStatus)
		}
	})
}

// A failed attempt's outcome recorded after a later attempt's success
// (the first node hung past its lease, another node delivered) leaves the
// delivery delivered and the endpoint not failing.
func TestWebhookLateFailureAfterSuccess(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		_, hook, first := failing(t, e)
		e.clock.Advance(2 * time.Minute) // the first claim's lease ends
		second := claimAll(t, e)
		if len(second) != 1 || second[0].ID != first.ID || second[0].Attempt != 2 {
			t.Fatalf("claimed %+v, want the delivery again at attempt 2", second)
		}
		record(t, e, second, webhook.Answer{Status: 204})
		record(t, e, []webhook.Delivery{first}, serverError)
		if ep := endpoint(t, e, hook.Endpoint.ID); !ep.FailingSince.IsZero() || ep.LastError != "" {
			t.Errorf("endpoint: failing_since %v, last_error %q, want none", ep.FailingSince, ep.LastError)
		}
		if got := delivery(t, e, first.ID); got.State() != gatehouse.DeliveryDelivered || !got.FailedAt.IsZero() || got.LastStatus != 204 {
			t.Errorf("delivery: got %s (failed at %v), status %d, want delivered 204 and not failed", got.State(), got.FailedAt, got.LastStatus)
		}
	})
}

// Two nodes record their outcomes at once, each in its own order: one
// node the late failures of attempts that the other delivered, both the
// failures of two more endpoints, crossed. Neither transaction waits for
// the other in a cycle (PostgreSQL would abort one as a deadlock), and
// whichever commits first, the delivered deliveries stay delivered and
// their endpoints are not failing.
func TestWebhookOutcomesRecordedAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		var hooks [4]string
		for i := range hooks {
			h, err := e.svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: fmt.Sprintf("http://127.0.0.1:9/hooks/%d", i)}, cli)
			if err != nil {
				t.Fatal(err)
			}
			hooks[i] = h.Endpoint.ID
		}
		for round := range 8 {
			for i := range 2 {
				name := fmt.Sprintf("Acme %d.%d", round, i)
				if _, err := e.svc.UpdateCompany(ctx, admin, auth.CompanyUpdate{Name: &name}, cli); err != nil {
					t.Fatal(err)
				}
			}
			late := claimAll(t, e)
			e.clock.Advance(2 * time.Minute) // their leases end: another node claims them
			again := claimAll(t, e)
			if len(late) != 8 || len(again) != 8 {
				t.Fatalf("round %d: claimed %d, then %d, want 8 each", round, len(late), len(again))
			}
			of := func(ds []webhook.Delivery, a webhook.Answer, endpoints ...int) (rs []webhook.Result) {
				for _, i := range endpoints {
					for _, d := range ds {
						if d.EndpointID == hooks[i] {
							rs = append(rs, webhook.Result{DeliveryID: d.ID, EndpointID: d.EndpointID, Attempt: d.Attempt, At: time.Now(), Answer: a})
						}
					}
				}
				return rs
			}
			failed := of(again, serverError, 2, 3)
			groups := [2][]webhook.Result{
				append(of(late, serverError, 0, 1), failed[0], failed[3]),                  // endpoints 0, 1, 2, 3
				append(of(again, webhook.Answer{Status: 204}, 1, 0), failed[2], failed[1]), // 1, 0, 3, 2
			}
			var wg sync.WaitGroup
			var errs [2]error
			start := make(chan struct{})
			for i, g := range groups {
				wg.Go(func() {
					<-start
					errs[i] = e.svc.WebhookQueue().Record(ctx, g)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: node %d could not record its outcomes: %v", round, i, err)
				}
			}
			for _, d := range again {
				got := delivery(t, e, d.ID)
				switch want := gatehouse.DeliveryDelivered; {
				case d.EndpointID == hooks[2] || d.EndpointID == hooks[3]:
					if got.State() != gatehouse.DeliveryPending || got.LastStatus != 500 {
						t.Errorf("round %d: a failed delivery: got %s %d, want pending 500", round, got.State(), got.LastStatus)
					}
				case got.State() != want || got.LastStatus != 204 || !got.FailedAt.IsZero():
					t.Errorf("round %d: a delivered delivery: got %s %d (failed at %v), want delivered 204", round, got.State(), got.LastStatus, got.FailedAt)
				}
			}
			for i, id := range hooks {
				ep := endpoint(t, e, id)
				if failing := !ep.FailingSince.IsZero(); failing != (i >= 2) {
					t.Errorf("round %d: endpoint %d failing: %v (last error %q), want %v", round, i, failing, ep.LastError, i >= 2)
				}
			}
			e.clock.Advance(webhook.MaxRetryWait) // the failed ones are due: delivered, they leave the next round its own
			record(t, e, claimAll(t, e), webhook.Answer{Status: 204})
		}
	})
}

// Rotating a secret: the new one signs, and the old one beside it for a
// day, then no more.
func TestWebhookRotation(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin, hook, d := failing(t, e)
		if len(d.Keys) != 1 {
			t.Fatalf("keys before rotation: got %d, want 1", len(d.Keys))
		}
		old := webhook.FormatSecret(d.Keys[0])
		if old != hook.Secret {
			t.Fatalf("signing key %s is not the secret shown at creation", old)
		}
		secret, err := e.svc.RotateWebhookSecret(ctx, admin, hook.Endpoint.ID, cli)
		if err != nil {
			t.Fatal(err)
		}
		record(t, e, []webhook.Delivery{d}, serverError)
		e.clock.Advance(time.Minute)
		ds := claimAll(t, e)
		if len(ds) != 1 || len(ds[0].Keys) != 2 || webhook.FormatSecret(ds[0].Keys[0]) != secret || webhook.FormatSecret(ds[0].Keys[1]) != old {
			t.Fatalf("keys after rotation: got %d, want the new secret, then the old", len(ds[0].Keys))
		}
		record(t, e, ds, serverError)
		e.clock.Advance(auth.WebhookPreviousSecretLife)
		ds = claimAll(t, e)
		if len(ds) != 1 || len(ds[0].Keys) != 1 || webhook.FormatSecret(ds[0].Keys[0]) != secret {
			t.Fatalf("keys a day after rotation: got %d, want the new secret alone", len(ds[0].Keys))
		}
	})
}

// Registration refuses what the contract refuses, and changes nothing.
func TestWebhookRegistrationRefusals(t *testing.T) {
	for _, kind := range testenv.Databases() {
		t.Run(kind, func(t *testing.T) {
			e := newEnvHashing(t, kind, testenv.TestHashParams, func(c *auth.Config) { c.Webhooks = nil }) // the address rule on
			svc := e.svc
			admin := e.company(t)
			for _, c := range []struct {
				url, events, code string
			}{
				{"http://hooks.example.com/x", "", gatehouse.EWebhookURLInvalid},
				{"https://user:pw@hooks.example.com/x", "", gatehouse.EWebhookURLInvalid},
				{"https://hooks.example.com/x#frag", "", gatehouse.EWebhookURLInvalid},
				{"ftp://hooks.example.com/x", "", gatehouse.EWebhookURLInvalid},
				{"https://2130706433/x", "", gatehouse.EWebhookURLInvalid},
				{"https://127.0.0.1/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://[::1]:8443/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://10.1.2.3/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://169.254.169.254/latest/meta-data", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://100.64.0.1/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://[::ffff:192.168.0.1]/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://localhost/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://api.localhost/x", "", gatehouse.EWebhookAddressNotAllowed},
				{"https://1.1.1.1/x", "user.exploded", gatehouse.EInvalidRequest},
			} {
				t.Run(c.code+"/"+c.url, func(t *testing.T) {
					var events []string
					if c.events != "" {
						events = []string{c.events}
					}
					_, err := svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: c.url, Events: events}, cli)
					if gatehouse.ErrorCode(err) != c.code {
						t.Errorf("got %v, want %s", err, c.code)
					}
				})
			}
			if list, _ := svc.Webhooks(ctx, admin); len(list) != 0 {
				t.Errorf("%d endpoints were stored, want none", len(list))
			}
			t.Run("ok/public", func(t *testing.T) {
				created, err := svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: "https://1.1.1.1/x"}, cli)
				if err != nil || !strings.HasPrefix(created.Secret, webhook.SecretPrefix) {
					t.Fatalf("got %v, %v; want the endpoint and a whsec_ secret", created, err)
				}
			})
			// The command line's registration holds the address rule too.
			_, err := svc.OperatorCreateWebhook(ctx, admin.User.CompanyID, auth.NewWebhook{URL: "https://10.1.2.3/x"}, cli)
			if gatehouse.ErrorCode(err) != gatehouse.EWebhookAddressNotAllowed {
				t.Errorf("the operator's private address: got %v, want %s", err, gatehouse.EWebhookAddressNotAllowed)
			}
		})
	}
}
