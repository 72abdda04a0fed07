package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// NewFileSender returns the Sender for running without --smtp-url: each
// message becomes <dir>/<UTC time>-<random>.eml, readable only by its owner,
// and one Info line on log with the recipient, subject, path and the decoded
// plain-text body.
//
// The body goes to the log because the contract (../shared/API.md) promises that "each message is
// printed to the log": without SMTP, the log is how a developer or a
// first-time operator follows a reset or setup link. It also means the log
// holds live tokens, which is the price of running without SMTP; anyone
// who can read the log can read <dir> too.
func NewFileSender(dir string, log *slog.Logger) Sender {
	return &fileSender{dir: dir, log: log}
}

type fileSender struct {
	dir string
	log *slog.Logger
}

func (f *fileSender) Send(ctx context.Context, from, to string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, err := f.write(msg)
	if err != nil {
		return fmt.Errorf("mail: writing to %s: %w", f.dir, err)
	}
	subject, text := readSummary(msg)
	f.log.LogAttrs(ctx, slog.LevelInfo, "mail written to file",
		slog.String("to", to), slog.String("subject", subject),
		slog.String("path", path), slog.String("text", text))
	return nil
}

// write stores msg under a temporary name and renames it, so that a reader
// of the folder never sees half a message.
func (f *fileSender) write(msg []byte) (path string, err error) {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(f.dir, ".writing-*") // mode 0600
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(msg); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// The time first, so that a directory listing is in order of sending.
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + rand.Text()[:8] + ".eml"
	path = filepath.Join(f.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, nil
}

// readSummary returns the decoded subject and plain-text part of a composed
// message, or what it can of them. The text must be decoded: quoted-printable
// breaks a long reset link over lines with "=" at their ends.
func readSummary(msg []byte) (subject, text string) {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return "", ""
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subject = m.Header.Get("Subject")
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return subject, ""
	}
	if mediaType == "text/plain" {
		return subject, readAll(mailPart(m))
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return subject, ""
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		// NextPart undoes quoted-printable for us.
		p, err := mr.NextPart()
		if err != nil {
			return subject, ""
		}
		if t, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); t == "text/plain" {
			return subject, readAll(p)
		}
	}
}

// mailPart gives a single-part message's body as a multipart part would be,
// so that quoted-printable is decoded the same way.
func mailPart(m *mail.Message) io.Reader {
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		return quotedprintable.NewReader(m.Body)
	}
	return m.Body
}

func readAll(r io.Reader) string {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
