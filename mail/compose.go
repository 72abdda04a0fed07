package mail

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// ErrHeaderInjection is returned by Compose for a From, To or Subject that
// holds a line break: someone trying to add headers or recipients.
var ErrHeaderInjection = errors.New("mail: line break in a header")

// maxSubject bounds the subject before encoding, far below the 998 octets a
// header line may have.
const maxSubject = 400

// Compose builds the RFC 5322 message for m from the address from
// ("Gatehouse <no-reply@example.com>"): a multipart/alternative with the
// text and HTML parts in UTF-8 quoted-printable (text only when m.HTML is
// empty), so that the message is 7-bit clean for any relay.
func Compose(from string, m Message, date time.Time) ([]byte, error) {
	for _, h := range []string{from, m.To, m.Subject} {
		if strings.ContainsAny(h, "\r\n") {
			return nil, ErrHeaderInjection
		}
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: From %q: %w", from, err)
	}
	toAddr, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: To %q: %w", m.To, err)
	}
	if len(m.Subject) > maxSubject {
		return nil, fmt.Errorf("mail: subject longer than %d bytes", maxSubject)
	}

	var b bytes.Buffer
	header := func(k, v string) {
		sep := " "
		if strings.HasPrefix(v, "\r\n") {
			sep = "" // folded before the first word
		}
		fmt.Fprintf(&b, "%s:%s%s\r\n", k, sep, v)
	}
	header("Date", date.Format(time.RFC1123Z))
	header("From", fromAddr.String())
	header("To", toAddr.String())
	header("Subject", encodeSubject(m.Subject))
	header("Message-ID", messageID(fromAddr.Address))
	header("MIME-Version", "1.0")
	// RFC 3834: no vacation replies or bounces-to-bounces for machine mail;
	// the X- header is what Exchange honours instead.
	header("Auto-Submitted", "auto-generated")
	header("X-Auto-Response-Suppress", "All")

	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	// Plain text first: RFC 2046 §5.1.4 puts the preferred (richest) part last.
	for _, p := range []struct{ contentType, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.contentType},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, p.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeQP writes s quoted-printable with CRLF line ends. A lone CR would
// survive encoding as a bare CR on the wire, so every line end becomes LF
// first and the encoder turns LF into CRLF.
func writeQP(w io.Writer, s string) error {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// encodeSubject encodes a non-ASCII subject as RFC 2047 encoded-words and
// folds it so that no line passes 78 characters. Go makes encoded-words of
// up to 75 characters, which do not fit after "Subject: ": such a first word
// goes on a line of its own.
func encodeSubject(s string) string {
	// Encode leaves ASCII alone, or encodes it all as words split by spaces.
	words := strings.Split(mime.QEncoding.Encode("utf-8", s), " ")
	var b strings.Builder
	line := len("Subject: ")
	for i, w := range words {
		if line+len(w) > 78 {
			b.WriteString("\r\n ")
			line = 1
		} else if i > 0 {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// messageID makes a unique Message-ID in the sender's domain, as RFC 5322
// §3.6.4 asks; some spam filters score a foreign or missing domain.
func messageID(from string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		domain = from[at+1:]
	}
	return "<" + rand.Text() + "@" + domain + ">"
}
