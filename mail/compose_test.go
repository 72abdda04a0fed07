package mail_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	gmail "github.com/gatehouse/gatehouse/mail"
)

var composeDate = time.Date(2026, time.March, 14, 9, 26, 53, 0, time.UTC)

func TestComposeParsesBack(t *testing.T) {
	for _, subject := range []string{
		"Reset your Gatehouse password",
		"Gatehouse şifrenizi sıfırlayın",
		"Kata sandi Gatehouse Anda telah diatur ulang",
		"Güvenlik uyarısı: çok uzun bir konu satırı, katlanması gereken ve Türkçe karakterler içeren ğüşıöç ĞÜŞİÖÇ",
		"A long ASCII subject that goes on and on well past the seventy-eight characters of a header line",
	} {
		m := gmail.Message{
			To: "ayse@example.com", Subject: subject,
			Text: "Merhaba Ayşe,\n\nhttps://gatehouse.example.com/reset-password?token=" + strings.Repeat("x", 120) + "\n.a dot\n",
			HTML: "<p>Merhaba Ayşe,</p>\n<p><a href=\"https://example.com/?a=1&amp;b=2\">link</a></p>\n",
		}
		raw, err := gmail.Compose("Gatehouse Güvenlik <no-reply@mail.example.com>", m, composeDate)
		if err != nil {
			t.Fatalf("Compose: %v", err)
		}
		checkWire(t, raw)

		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("net/mail: %v\n%s", err, raw)
		}
		h := msg.Header
		if got, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); got != subject {
			t.Errorf("Subject: got %q, want %q", got, subject)
		}
		if from, err := h.AddressList("From"); err != nil || from[0].Name != "Gatehouse Güvenlik" || from[0].Address != "no-reply@mail.example.com" {
			t.Errorf("From: got %v (%v), want Gatehouse Güvenlik <no-reply@mail.example.com>", from, err)
		}
		if to, err := h.AddressList("To"); err != nil || to[0].Address != "ayse@example.com" {
			t.Errorf("To: got %v (%v), want ayse@example.com", to, err)
		}
		if d, err := h.Date(); err != nil || !d.Equal(composeDate) {
			t.Errorf("Date: got %v (%v), want %v", d, err, composeDate)
		}
		if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@mail.example.com>") {
			t.Errorf("Message-ID: got %q, want <...@mail.example.com>", id)
		}
		for k, want := range map[string]string{"MIME-Version": "1.0", "Auto-Submitted": "auto-generated"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: got %q, want %q", k, got, want)
			}
		}

		parts := readParts(t, msg)
		if got := parts["text/plain"]; got != m.Text {
			t.Errorf("text part: got %q, want %q", got, m.Text)
		}
		if got := parts["text/html"]; got != m.HTML {
			t.Errorf("HTML part: got %q, want %q", got, m.HTML)
		}
	}
}

// checkWire checks what a strict relay checks: 7-bit, CRLF only, short lines.
func checkWire(t *testing.T, raw []byte) {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long", i+1, len(line))
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Errorf("line %d is not 7-bit: %q", i+1, line)
				break
			}
		}
	}
	header, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(header, "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "Content-Type:") {
			t.Errorf("header line longer than 78 characters: %q", line)
		}
	}
}

// readParts returns the decoded parts by media type, with LF line ends.
func readParts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type: got %q (%v), want multipart/alternative", mediaType, err)
	}
	parts := map[string]string{}
	var order []string
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		ct, ctParams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ctParams["charset"] != "utf-8" {
			t.Errorf("%s: charset %q, want utf-8", ct, ctParams["charset"])
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = strings.ReplaceAll(string(body), "\r\n", "\n")
		order = append(order, ct)
	}
	if strings.Join(order, ",") != "text/plain,text/html" {
		t.Errorf("parts: got %v, want text/plain then text/html", order)
	}
	return parts
}

func TestComposeTextOnly(t *testing.T) {
	raw, err := gmail.Compose("no-reply@example.com", gmail.Message{To: "a@example.com", Subject: "Hi", Text: "Bonjour, ça va ?\n"}, composeDate)
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/plain; charset=utf-8", ct)
	}
}

func TestComposeRefusesHeaderInjection(t *testing.T) {
	ok := gmail.Message{To: "a@example.com", Subject: "Hi", Text: "x"}
	for name, tt := range map[string]struct {
		from string
		m    gmail.Message
	}{
		"To":       {"no-reply@example.com", gmail.Message{To: "a@example.com\r\nBcc: victim@example.com", Subject: "Hi"}},
		"To LF":    {"no-reply@example.com", gmail.Message{To: "a@example.com\nBcc: victim@example.com", Subject: "Hi"}},
		"Subject":  {"no-reply@example.com", gmail.Message{To: "a@example.com", Subject: "Hi\r\nBcc: victim@example.com"}},
		"Subj. CR": {"no-reply@example.com", gmail.Message{To: "a@example.com", Subject: "Hi\rX: y"}},
		"From":     {"no-reply@example.com\nBcc: victim@example.com", ok},
	} {
		if _, err := gmail.Compose(tt.from, tt.m, composeDate); !errors.Is(err, gmail.ErrHeaderInjection) {
			t.Errorf("%s: got %v, want ErrHeaderInjection", name, err)
		}
	}
	for name, tt := range map[string]struct{ from, to string }{
		"two recipients": {"no-reply@example.com", "a@example.com, b@example.com"},
		"no address":     {"no-reply@example.com", "Alex"},
		"bad From":       {"Gatehouse", "a@example.com"},
	} {
		if _, err := gmail.Compose(tt.from, gmail.Message{To: tt.to, Subject: "Hi"}, composeDate); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func TestComposeRenderedMessages(t *testing.T) {
	tmpl := loadTemplates(t)
	for _, lang := range allLangs {
		for _, name := range tmpl.Names() {
			m, err := tmpl.Render(name, lang, sampleData(name, lang))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := gmail.Compose("Gatehouse <no-reply@example.com>", m, composeDate)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, lang, err)
			}
			checkWire(t, raw)
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			parts := readParts(t, msg)
			if parts["text/plain"] != m.Text || parts["text/html"] != m.HTML {
				t.Errorf("%s/%s: parts do not round-trip", name, lang)
			}
		}
	}
}
