// Package testenv starts the real things tests talk to: a Gatehouse server
// on a free port with its own data folder (StartServer), a real SMTP server
// that receives its mail (StartSMTP), a fresh PostgreSQL database
// (Postgres), and a headless Chromium (see browser.go).
//
// A test that needs something the machine lacks skips with a message that
// says what to install, except when CI=true: in CI a skip is a failure,
// since CI installs everything.
package testenv
