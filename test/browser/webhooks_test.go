package browser_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/browsertest"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/webhooktest"
	"github.com/gatehouse/gatehouse/server"
)

// TestWebhooks is an admin's webhook journey in each language: add an
// endpoint for user.disabled (its secret shown once, with a copy button),
// watch a delivery fail with the receiver's answer and its next try,
// resend it and see the endpoint disabled by the receiver's 410 Gone with
// the reason, then delete it after the dialog. Each page is checked for
// accessibility, and the screenshots are docs/screenshots/webhook*.png.
func TestWebhooks(t *testing.T) {
	inEachLanguage(t, []servertest.Option{servertest.WithOptions(func(o *server.Options) { o.WebhookAllowPrivate = true })}, func(t *testing.T, s *acme, p *browsertest.Page, T func(string, ...any) string, lang string) {
		carl := s.CarlID
		r := webhooktest.Start(t)
		r.Respond(func(webhooktest.Received) webhooktest.Answer { return webhooktest.Answer{Status: 503} })

		p.Click(`.sidebar a[href="/settings/webhooks"]`)
		p.WaitPath("/settings/webhooks")
		p.WaitText(T("webhooks.none"))
		p.CheckAccessibility("webhooks, none")
		p.Fill("#url", r.URL)
		p.Click(`input[name=events][value="user.disabled"]`)
		p.Screenshot(shotName("webhooks-add", lang))
		p.Submit(`form[action="/settings/webhooks"] button[type=submit]`)
		p.WaitVisible("#webhook-secret")
		secret := p.Text("#webhook-secret")
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("secret on the page: %q", secret)
		}
		r.SetSecrets(secret)
		p.WaitVisible(`[data-copy="#webhook-secret"]`)
		p.CheckAccessibility("webhooks, added")
		p.Screenshot(shotName("webhooks-added", lang))

		// Carl is disabled; the receiver answers 503.
		c := s.Client(t)
		c.Token = c.Login(adaEmail, goodPW)
		if res := c.Do("PATCH", "/api/v1/company/users/"+carl, map[string]any{"disabled": true}); res.StatusCode != 200 {
			t.Fatalf("disable Carl: %d %s", res.StatusCode, res.Body)
		}
		r.WaitFor(browsertest.Timeout, "the delivery", func(rs []webhooktest.Received) bool { return len(rs) == 1 && rs[0].Verified() })
		p.ClickLink(r.URL)
		p.WaitText(T("webhook.deliveries_heading"))
		reloadUntil(t, p, "HTTP 503")
		p.WaitText(T("delivery_state.pending"))
		p.CheckAccessibility("webhook, failing")
		p.Screenshot(shotName("webhook", lang))

		// Resent, the receiver says 410 Gone: the endpoint is disabled and the page says why.
		r.Respond(func(webhooktest.Received) webhooktest.Answer { return webhooktest.Answer{Status: 410} })
		p.Submit(`form[action$="/resend"] button`)
		p.WaitToast(T("flash.webhook_resent"))
		reloadUntil(t, p, T("webhook.disabled_heading"))
		p.WaitText("410")
		p.CheckAccessibility("webhook, disabled")
		p.Screenshot(shotName("webhook-disabled", lang))
		s.SMTP.WaitFor(t, adaEmail, "")

		// Delete, after the dialog.
		p.Click(`form[action$="/delete"] button`)
		p.WaitVisible("#confirm-dialog")
		if got := p.Text("#confirm-dialog"); !strings.Contains(got, r.URL) {
			t.Errorf("the dialog says %q, want the URL", got)
		}
		p.Screenshot(shotName("webhook-delete-dialog", lang))
		p.Submit("#confirm-dialog-ok")
		p.WaitPath("/settings/webhooks")
		p.WaitToast(T("flash.webhook_deleted"))
		p.WaitText(T("webhooks.none"))
	})
}

// reloadUntil opens the page again until it says text: the outcome of a
// delivery is written a moment after the receiver answers.
func reloadUntil(t *testing.T, p *browsertest.Page, text string) {
	t.Helper()
	deadline := time.Now().Add(browsertest.Timeout)
	for !strings.Contains(p.Text("body"), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the page never said %q", text)
		}
		time.Sleep(100 * time.Millisecond)
		p.Open(p.Path())
	}
}
