// Package totp owns the arithmetic of two-factor codes: RFC 6238 time-based
// one-time passwords (SHA-1, 6 digits, 30-second steps, as every authenticator
// app expects), the otpauth:// URI and the QR code that carries it to the
// phone, and the normalisation of what a person types.
//
// It keeps no state. The rules that need state belong to the caller, which
// stores them in the database so that every node agrees:
//
//   - Skew: a code is accepted one step (30 s) either side of the server's
//     clock. Phones drift and people type slowly; one step covers both and
//     still leaves an attacker only 3 chances in a million per guess. Two
//     steps would help almost no one and make each guess 5/3 as likely to hit.
//   - Replay: Verify returns the step a code matched and accepts only steps
//     after the last one used. The caller records that step for the user in
//     the same transaction that accepts the login, so a code that was seen
//     (over a shoulder, by a phishing proxy, in a log) is dead the moment it
//     is used, and so is every older code still inside the skew window.
//
// Secrets are sealed at rest by package seal, not here: this package sees
// them only in the clear, for as long as a computation takes.
package totp
