// Package security attacks Gatehouse the way a penetration tester would,
// and keeps every attack as a test so that what was fixed stays fixed.
//
// The tests are black-box: they talk HTTP to a real server
// (servertest.Start, built exactly as `gatehouse serve` is), with its
// real database — SQLite and PostgreSQL alike, through
// testenv.ForEachDatabase — and its real SMTP server. They arrange state
// through the store only where HTTP offers no way (a disabled user, a
// moved clock) and judge only by what the server answers, mails and keeps.
//
// Each file is one threat of docs/SECURITY.md:
//
//	brute_force_test.go  guessing passwords, codes, recovery codes and links
//	enumeration_test.go  learning who has an account
//	reset_test.go        stealing or forging a password reset
//	totp_test.go         getting around the second factor
//	session_test.go      fixing, keeping or stealing a session
//	csrf_test.go         acting through the victim's browser; redirects
//	input_test.go        malformed, oversized and hostile input
//	xss_test.go          script injected through names, emails and headers
//	tenancy_test.go      one company's admin reaching another company
//	storage_test.go      secrets left readable on disk or in the log
//
// Endpoints are not listed by hand: api.Endpoints() and web.Endpoints()
// give every route, so a route added later is attacked too. Only the few
// routes that must work without a session are named here (publicAPI,
// publicPages); any other route is expected to be protected.
package security
