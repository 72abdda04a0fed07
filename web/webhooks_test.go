package web_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
	"github.com/gatehouse/gatehouse/internal/testenv/webhooktest"
	"github.com/gatehouse/gatehouse/server"
)

var (
	webhookSecret = regexp.MustCompile(`id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<`)
	webhookLink   = regexp.MustCompile(`href="/settings/webhooks/([0-9a-z]{26})"`)
)

// The webhook pages without JavaScript: add an endpoint (its secret shown
// once), see a failing delivery with its answer and next try, resend it,
// replace the secret, delete the endpoint after a confirmation page; the
// address rule's refusal keeps the form.
func TestWebhookPagesJourney(t *testing.T) {
	s := servertest.Start(t, servertest.WithOptions(func(o *server.Options) { o.WebhookAllowPrivate = true }))
	acme, _ := s.Company(t, "Acme", "ada@acme.example", pw)
	bob := s.AddUser(t, acme, "bob@acme.example", pw, gatehouse.RoleMember)
	ada := signedIn(t, s, "ada@acme.example", pw)
	r := webhooktest.Start(t)
	r.Respond(func(webhooktest.Received) webhooktest.Answer { return webhooktest.Answer{Status: 503} })

	wantPage(t, "empty list", ada.Get("/settings/webhooks"), 200, "Webhooks", "No endpoints yet.", "Add an endpoint",
		"A user was disabled", "user.password_reset")
	bad := wantPage(t, "bad url", ada.PostForm("/settings/webhooks", map[string]string{"url": "ftp://example.com/x"}), 400,
		"Enter a full https:// URL")
	if !strings.Contains(bad, `value="ftp://example.com/x"`) || !strings.Contains(bad, `aria-invalid="true"`) {
		t.Errorf("the refused form does not keep the URL and mark the field")
	}
	created := ada.PostForm("/settings/webhooks", map[string]string{"url": r.URL, "events": gatehouse.WebhookUserDisabled})
	page := wantPage(t, "created", created, 200, "Endpoint added", "It is shown only now", r.URL, "user.disabled")
	m := webhookSecret.FindStringSubmatch(page)
	link := webhookLink.FindStringSubmatch(string(created.Body))
	if m == nil || link == nil {
		t.Fatalf("no secret or endpoint link on the page:\n%s", page)
	}
	r.SetSecrets(m[1])
	id := link[1]
	if again := ada.Get("/settings/webhooks"); strings.Contains(string(again.Body), m[1]) {
		t.Error("the secret is shown again on the list")
	}

	// A user is disabled on the user's page; the receiver answers 503.
	wantRedirect(t, "disable", ada.PostForm("/settings/users/"+bob+"/disable", map[string]string{"confirmed": "1"}), "/settings/users/"+bob)
	r.WaitFor(10*time.Second, "a verified delivery", func(rs []webhooktest.Received) bool { return len(rs) == 1 && rs[0].Verified() })
	endpointPage := "/settings/webhooks/" + id
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(ada.Get(endpointPage).Body), "HTTP 503") {
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint's page never showed the 503:\n%s", ada.Get(endpointPage).Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantPage(t, "endpoint", ada.Get(endpointPage), 200, "Failing", "every attempt has failed since", "Recent deliveries",
		"user.disabled", "Waiting", "HTTP 503", "Resend", "Replace secret", "Delete endpoint")

	// Resend, replace the secret (shown once), delete after confirming.
	r.Respond(nil)
	resend := regexp.MustCompile(`action="(/settings/webhooks/[0-9a-z]+/deliveries/[0-9a-z]+/resend)"`).FindStringSubmatch(string(ada.Get(endpointPage).Body))
	if resend == nil {
		t.Fatal("no resend form")
	}
	wantRedirect(t, "resend", ada.PostForm(resend[1], nil), endpointPage)
	r.WaitFor(10*time.Second, "the resent delivery", func(rs []webhooktest.Received) bool { return len(rs) == 2 && rs[1].ID == rs[0].ID })
	rotated := ada.PostForm(endpointPage+"/rotate", nil)
	wantPage(t, "rotated", rotated, 200, "New signing secret", "for 24 hours", "Previous secret", "still signs until")
	if n := webhookSecret.FindStringSubmatch(text(rotated)); n == nil || n[1] == m[1] {
		t.Errorf("no new secret on the page")
	}
	wantPage(t, "confirm delete", ada.PostForm(endpointPage+"/delete", nil), 200, "Delete this endpoint?", r.URL)
	wantPage(t, "not yet deleted", ada.Get(endpointPage), 200)
	wantRedirect(t, "delete", ada.PostForm(endpointPage+"/delete", map[string]string{"confirmed": "1"}), "/settings/webhooks")
	wantPage(t, "deleted", ada.Get(endpointPage), 404)
	wantPage(t, "audit", ada.Get("/settings/audit"), 200, "Webhook endpoint added", "Webhook signing secret replaced",
		"Webhook delivery resent", "Webhook endpoint deleted")

	// A member gets 403, and the page is not in their menu.
	s.AddUser(t, acme, "carl@acme.example", pw, gatehouse.RoleMember)
	carl := signedIn(t, s, "carl@acme.example", pw)
	wantPage(t, "member", carl.Get("/settings/webhooks"), 403)
	if strings.Contains(string(carl.Get("/settings/profile").Body), "/settings/webhooks") {
		t.Error("a member's menu links to the webhooks")
	}
}
