package security_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Threat: script stored through what users type — names, emails, company
// names — or send — the User-Agent, query parameters — and run in an
// admin's or a user's browser on any page, or in a mail client.

// payloads break out of text, attributes, URLs, scripts and titles.
var payloads = []string{
	`<script>alert("x1")</script>`,
	`"><img src=x onerror=alert("x2")>`,
	`'><svg onload=alert('x3')>`,
	`</title><script>alert("x4")</script>`,
	`javascript:alert("x5")`,
	`<a href="javascript:alert('x6')">x6</a>`,
	`{{.}}<!--x7-->`,
	"<iframe srcdoc='<script>alert(8)</script>'>",
}

// emailPayload is as hostile as an address may be: quotes, backticks,
// equals signs and slashes are all allowed in its local part.
const emailPayload = "x'onfocus=alert`1`'autofocus='/x@acme.example"

// rawPayloads returns the payloads found unescaped in body.
func rawPayloads(body string) []string {
	var found []string
	for _, p := range append(payloads, emailPayload) {
		if strings.Contains(body, p) {
			found = append(found, p)
		}
	}
	// A payload broken up still must not leave a live tag or handler.
	for _, p := range []string{"<script>alert", "<img src=x", "<svg onload", "<iframe", "href=\"javascript:", "href=javascript:"} {
		if strings.Contains(body, p) {
			found = append(found, p)
		}
	}
	return found
}

func TestNoStoredOrReflectedScript(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		w := newWorld(t, db)
		ada := w.api(t, "ada@acme.example")
		ada.Header["User-Agent"] = payloads[0]
		// Names everywhere: Ada's own, Mia's, the company's, an invited
		// user's, with a hostile email.
		wantStatus(t, "rename Ada", ada.Do("PATCH", "/api/v1/company/users/"+w.ada, map[string]any{"name": payloads[1]}), 200)
		wantStatus(t, "rename Mia", ada.Do("PATCH", "/api/v1/company/users/"+w.mia, map[string]any{"name": payloads[2]}), 200)
		wantStatus(t, "rename the company", ada.Do("PATCH", "/api/v1/company", map[string]any{"name": payloads[3]}), 200)
		r := ada.Do("POST", "/api/v1/company/users", map[string]any{"email": emailPayload, "name": payloads[5]})
		wantStatus(t, "invite a hostile address", r, 201)
		invited := r.Str(t, "id")
		wantStatus(t, "rename Dan", ada.Do("PATCH", "/api/v1/company/users/"+w.dan, map[string]any{"name": payloads[6]}), 200)

		// Sessions and audit events carry the User-Agent.
		mia := w.s.Client(t)
		mia.Header["User-Agent"] = payloads[7]
		formLogin(t, mia, "mia@acme.example", pw)
		adaWeb := w.s.Client(t)
		adaWeb.Header["User-Agent"] = payloads[4]
		formLogin(t, adaWeb, "ada@acme.example", pw)
		loginAPI(from(w.s.Client(t), "192.0.2.1"), "mia@acme.example", payloads[0]) // a failed login in the log

		pages := 0
		for _, c := range []*servertest.Client{adaWeb, mia} {
			for _, r := range pageRoutes() {
				if r.Method != "GET" || strings.HasPrefix(r.Pattern, "/static/") {
					continue
				}
				for _, id := range []string{w.mia, w.ada, invited, w.dan} {
					for _, q := range []string{"", "?query=" + url.QueryEscape(payloads[0]), "?next=" + url.QueryEscape(payloads[4]),
						"?type=" + url.QueryEscape(payloads[1]), "?user_id=" + id, "?token=" + url.QueryEscape(payloads[2])} {
						path := r.path(ids{User: id, Session: "x"}) + q
						if found := rawPayloads(string(c.Get(path).Body)); len(found) > 0 {
							t.Errorf("GET %s shows %q unescaped", path, found)
						}
						pages++
					}
				}
			}
		}
		// Forms that fail show what was typed again.
		for _, form := range []struct {
			path   string
			fields map[string]string
		}{
			{"/login", map[string]string{"email": payloads[1], "password": "x"}},
			{"/forgot-password", map[string]string{"email": payloads[2]}},
			{"/settings/users", map[string]string{"email": payloads[3], "name": payloads[1]}},
			{"/settings/users/" + w.mia, map[string]string{"email": payloads[1], "name": payloads[2], "role": payloads[3]}},
			{"/settings/company", map[string]string{"name": strings.Repeat(payloads[0], 30)}},
		} {
			if found := rawPayloads(string(adaWeb.PostForm(form.path, form.fields).Body)); len(found) > 0 {
				t.Errorf("POST %s shows %q unescaped", form.path, found)
			}
		}
		if pages < 50 {
			t.Fatalf("only %d pages looked at", pages)
		}

		// Mail: the invitation names the admin and the company; every
		// message's HTML escapes them.
		w.s.WaitQuiet(t)
		for _, m := range w.s.SMTP.Messages() {
			if found := rawPayloads(m.HTML); len(found) > 0 {
				t.Errorf("mail %q to %v shows %q unescaped", m.Subject, m.To, found)
			}
		}
		w.s.SMTP.WaitFor(t, emailPayload, "")
	})
}
