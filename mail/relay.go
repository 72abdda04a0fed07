package mail

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
)

// Fault names what is wrong when the relay turns away every message alike:
// nothing a retry of one message fixes, and nothing to blame a recipient
// for. The worker then holds the whole queue (see Worker) until a probe
// passes.
type Fault string

const (
	// FaultConnect: the relay cannot be reached, or does not speak SMTP.
	FaultConnect Fault = "connect"
	// FaultTLS: TLS fails (a certificate that does not verify, a scheme
	// that does not fit the port), or is needed and not offered.
	FaultTLS Fault = "tls"
	// FaultAuth: the relay refuses our credentials, or wants some.
	FaultAuth Fault = "auth"
	// FaultSender: the relay refuses the sender address (--mail-from), at
	// MAIL FROM, at RCPT TO (Postfix: "553 5.7.1 <addr>: Sender address
	// rejected") or after the message (Amazon SES: "554 Message rejected:
	// Email address is not verified").
	FaultSender Fault = "sender"
)

// Summary says what the fault is in a few words, for /readyz and the log.
func (f Fault) Summary() string {
	switch f {
	case FaultConnect:
		return "the SMTP relay cannot be reached"
	case FaultTLS:
		return "TLS to the SMTP relay fails"
	case FaultAuth:
		return "the SMTP relay refuses the credentials"
	case FaultSender:
		return "the SMTP relay refuses the sender address"
	}
	return string(f)
}

// RelayError is a failure that every message would meet: Send returns one
// for a relay that cannot be reached, whose TLS or credentials fail, or
// that refuses the sender. Fix says what the operator should do.
type RelayError struct {
	Fault Fault
	Fix   string
	Err   error
}

func (e *RelayError) Error() string { return e.Err.Error() }
func (e *RelayError) Unwrap() error { return e.Err }

// AsRelayError returns the RelayError in err's chain, or nil.
func AsRelayError(err error) *RelayError {
	e, _ := errors.AsType[*RelayError](err)
	return e
}

// Fixes for the operator, by cause.
const (
	fixConnect = "check the host and port in --smtp-url, and that the relay is up and reachable from this machine"
	fixCert    = "the relay's certificate does not verify: give the CA that signed it with --smtp-ca-file, " +
		"or use in --smtp-url the host name the certificate names"
	fixAuth = "check the user name and password in --smtp-url (percent-encode any /, #, %, ?, @ or : in them), " +
		"and that the account may send through the relay"
	fixAuthNeeded = "the relay wants a login: put user:password in --smtp-url (smtp://user:password@host:587), " +
		"or let this machine relay without one (Postfix: mynetworks)"
	fixSender = "the relay does not let this account send as the address of --mail-from: allow it on the relay " +
		"(Postfix: smtpd_sender_login_maps; Amazon SES: verify the address or its domain; SendGrid: verify a Sender Identity), " +
		"or set --mail-from to an address the relay allows"
	fixNoSTARTTLS = "the relay offers no STARTTLS, and mail carries reset and invitation links, which are credentials: " +
		"use smtps:// or a relay that offers STARTTLS; only on a network you trust, --smtp-allow-plaintext sends mail unencrypted"
	fixPlainPort = "the server answered in plain text, not TLS: this port takes plain SMTP upgraded with STARTTLS (as 25 and 587 do): use smtp://"
	fixTLSPort   = "if this port expects implicit TLS (as 465 does), use smtps://"
)

// connectFault classifies a failure before the mail transaction: dialing,
// the greeting, EHLO, STARTTLS and AUTH.
func connectFault(stage string, err error, implicitTLS bool) *RelayError {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return &RelayError{FaultTLS, fixCert, err}
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok && implicitTLS {
		return &RelayError{FaultTLS, fixPlainPort, err}
	}
	switch stage {
	case "STARTTLS":
		return &RelayError{FaultTLS, "check that the relay's STARTTLS works (its certificate and key, its TLS versions)", err}
	case "AUTH":
		if reply, ok := errors.AsType[*textproto.Error](err); ok && reply.Code >= 400 {
			return &RelayError{FaultAuth, fixAuth, err}
		}
		return &RelayError{FaultAuth, "the relay cannot authenticate this client: see the error", err}
	}
	return &RelayError{FaultConnect, fixConnect, err}
}

// transactionFault reports whether a refusal within the mail transaction
// (of MAIL FROM, RCPT TO or the message) is the relay turning away every
// message: our sender address, or our right to send at all. Refusals of
// one recipient or message are not.
//
// Relays say it in words, not in codes: Postfix answers a sender it will
// not take with "553 5.7.1 <addr>: Sender address rejected" at RCPT TO,
// the stage where it refuses an unknown recipient with a 550; Amazon SES
// answers "554 Message rejected: Email address is not verified. The
// following identities failed the check in region ...: <addr>" at the end
// of DATA, the answer it gives in its sandbox for an unverified recipient.
// So the answer decides: one that names the recipient is about the
// recipient; one that names the sender, or our address, is about us.
func transactionFault(stage string, reply *textproto.Error, from, to string) *RelayError {
	err := &stageError{stage, reply}
	text := strings.ToLower(reply.Msg)
	switch {
	case strings.Contains(text, "relay access denied"),
		reply.Code == 530, strings.Contains(text, "authentication required"):
		return &RelayError{FaultAuth, fixAuthNeeded, err}
	case stage == "MAIL FROM":
		if reply.Code >= 500 || strings.Contains(text, "sender") {
			return &RelayError{FaultSender, fixSender, err}
		}
		return nil
	case strings.Contains(text, "recipient"):
		return nil
	case strings.Contains(text, "sender"), strings.Contains(text, "from address"),
		!strings.EqualFold(from, to) && strings.Contains(text, strings.ToLower(from)):
		return &RelayError{FaultSender, fixSender, err}
	}
	return nil
}

// Reply returns the server's answer in err, exactly as it gave it but on
// one line ("553 5.7.1 <a@example.com>: Sender address rejected"), and
// the command it answered (MAIL FROM, RCPT TO, DATA, end of DATA, or
// AUTH, EHLO...); both empty when err holds no answer (a connection that
// failed or broke). `gatehouse mail test` prints them.
func Reply(err error) (stage, answer string) {
	reply, ok := errors.AsType[*textproto.Error](err)
	if !ok {
		return "", ""
	}
	if s, ok := errors.AsType[*stageError](err); ok {
		stage = s.stage
	}
	return stage, fmt.Sprintf("%d %s", reply.Code, strings.Join(strings.Fields(reply.Msg), " "))
}

// answerOf is the server's answer to the recipient or the message in
// err, "550 5.1.1 <a@example.com>: ..." on one line, or "" when there is
// none: a broken connection, or an answer before RCPT TO, which is about
// our account rather than the recipient.
func answerOf(err error) string {
	reply, ok := errors.AsType[*textproto.Error](err)
	stage, staged := errors.AsType[*stageError](err)
	if !ok || !staged || stage.stage == "MAIL FROM" {
		return ""
	}
	return fmt.Sprintf("%d %s", reply.Code, strings.Join(strings.Fields(reply.Msg), " "))
}
