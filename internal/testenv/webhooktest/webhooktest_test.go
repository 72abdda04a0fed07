package webhooktest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/webhook"
)

// TestVerifierRefuses shows the witness refusing what a receiver must
// refuse: the Node library verifies a delivery signed right, and refuses
// one signed with another secret, one whose body or ID changed on the way,
// one too old to be fresh (a replay) and one from the future.
func TestVerifierRefuses(t *testing.T) {
	r := Start(t)
	key := webhook.NewSecret()
	r.SetSecrets(webhook.FormatSecret(key))
	body := []byte(`{"type":"user.disabled","timestamp":"2026-01-01T00:00:00.000Z","data":{"id":"u1"}}`)
	now := time.Now().Unix()
	for _, tc := range []struct {
		name   string
		id     string
		ts     int64
		body   []byte
		signed string // the signature header
		want   string // the library's refusal; "" when it verifies
	}{
		{"signed right", "msg_1", now, body, webhook.Sign("msg_1", now, body, key), ""},
		{"another secret", "msg_1", now, body, webhook.Sign("msg_1", now, body, webhook.NewSecret()), "No matching signature found"},
		{"the body altered", "msg_1", now, bytes.Replace(body, []byte("u1"), []byte("u2"), 1), webhook.Sign("msg_1", now, body, key), "No matching signature found"},
		{"the ID altered", "msg_2", now, body, webhook.Sign("msg_1", now, body, key), "No matching signature found"},
		{"ten minutes old", "msg_1", now - 600, body, webhook.Sign("msg_1", now-600, body, key), "Message timestamp too old"},
		{"ten minutes ahead", "msg_1", now + 600, body, webhook.Sign("msg_1", now+600, body, key), "Message timestamp too new"},
		{"unsigned", "msg_1", now, body, "", "Missing required headers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", r.URL+"/"+strings.ReplaceAll(tc.name, " ", "-"), bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("webhook-id", tc.id)
			req.Header.Set("webhook-timestamp", strconv.FormatInt(tc.ts, 10))
			if tc.signed != "" {
				req.Header.Set("webhook-signature", tc.signed)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var got Received
			for _, rec := range r.Received() {
				if rec.Path == req.URL.Path {
					got = rec
				}
			}
			switch {
			case tc.want == "" && (!got.Verified() || got.Payload == nil || got.Payload.Type != "user.disabled"):
				t.Errorf("not verified (errors %v, payload %+v)", got.Errors, got.Payload)
			case tc.want != "" && got.Verified():
				t.Errorf("verified, want refused with %q", tc.want)
			case tc.want != "" && (len(got.Errors) != 1 || !strings.Contains(got.Errors[0], tc.want)):
				t.Errorf("refused with %v, want %q", got.Errors, tc.want)
			}
		})
	}
}
