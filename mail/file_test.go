package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gmail "github.com/gatehouse/gatehouse/mail"
)

func TestFileSender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail") // made by Send
	var logs bytes.Buffer
	s := gmail.NewFileSender(dir, slog.New(slog.NewJSONHandler(&logs, nil)))

	tmpl := loadTemplates(t)
	m, err := tmpl.Render("password_reset", "tr", sampleData("password_reset", "tr"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gmail.Compose(mailFrom, m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Send(context.Background(), mailFrom, m.To, raw); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) != 2 {
		t.Fatalf("got files %v (%v), want two", files, err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".eml") {
			t.Errorf("%s: want a .eml file", f)
		}
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, perm)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s does not parse: %v", f, err)
		}
		if parts := readParts(t, msg); parts["text/plain"] != m.Text {
			t.Errorf("%s: text part does not round-trip", f)
		}
	}

	var line struct{ Level, Msg, To, Subject, Path, Text string }
	first, _, _ := bytes.Cut(logs.Bytes(), []byte("\n"))
	if err := json.Unmarshal(first, &line); err != nil {
		t.Fatalf("log: %v: %s", err, logs.Bytes())
	}
	if line.Level != "INFO" || line.To != m.To || line.Subject != m.Subject || filepath.Dir(line.Path) != dir {
		t.Errorf("log: got %+v, want INFO with to, subject and a path in %s", line, dir)
	}
	// The link whole, though quoted-printable broke it over two lines in the file.
	if !strings.Contains(line.Text, sampleData("password_reset", "tr").Link+"\n") {
		t.Errorf("log text: got %q, want the decoded link", line.Text)
	}
}

func TestFileSenderReportsAnUnwritableFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := gmail.NewFileSender(filepath.Join(file, "mail"), slog.New(slog.DiscardHandler))
	if err := s.Send(context.Background(), mailFrom, "a@example.com", []byte("x")); err == nil {
		t.Error("got no error for a folder under a file")
	}
}
