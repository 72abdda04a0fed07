// Package mail owns everything between "the service decided to send a
// message" and "an SMTP server took it":
//
//   - templates/: the words, one .txt and one .html file per message and
//     language, embedded, checked at start-up and parsed for a language on
//     its first message (LoadTemplates, Render);
//   - Compose: the RFC 5322 bytes, multipart/alternative, 7-bit clean;
//   - Sender: NewSender for --smtp-url (smtp:// with STARTTLS, smtps://;
//     TLS required off loopback), NewFileSender for running without it;
//     Deliver for `gatehouse mail test`;
//   - relay.go: which failures are the relay's or its configuration's
//     (RelayError, the same for every message) and which are one
//     message's (PermanentError) or temporary;
//   - Worker: delivers the outbox, with retries and backoff; a RelayError
//     holds the whole queue until a probe passes (Hold).
//
// Mail is never sent inside a request. The service renders and composes a
// message and writes it to the outbox table in the same transaction as the
// token it carries, then calls Worker.Notify after the commit; the Worker
// claims it, sends it, and records the outcome through the Queue interface,
// which the store implements. A crash between sending and recording sends
// the message again when its lease ends: mail is delivered at least once.
//
// Nothing here logs a message body, except FileSender, which the contract
// (../shared/API.md) asks to print each message to the log when there is no
// SMTP server.
package mail
