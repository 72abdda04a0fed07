// Package smtptest is the SMTP sink that mail tests deliver to: a real
// server on a loopback port that speaks enough of RFC 5321 (EHLO, STARTTLS,
// AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for net/smtp and
// for Gatehouse's own sender, and keeps every message it accepts, parsed,
// for assertions.
//
// It is strict where a lax server would hide a bug in our mail: command and
// text line lengths (RFC 5321 §4.5.3.1), bare CR or LF in the message (the
// stuff of SMTP smuggling), and messages that do not parse as MIME fail.
package smtptest
