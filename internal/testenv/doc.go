// Package testenv holds what every test may need without a server: the
// checks of the environment (Need, InCI), a clock tests move (Clock), cheap
// password hashing (TestHashParams), a fresh database on SQLite or
// PostgreSQL (Databases, Postgres, OpenStore), and the words tests share
// (GoodPassword, Link).
//
// The rest lives in packages below it, so that a test links only what it
// uses: smtptest is a real SMTP server in-process, postfixtest a private
// Postfix (the witness of what Gatehouse sends that nobody here wrote),
// servertest a running Gatehouse and its clients, browsertest a headless
// Chromium.
//
// A test that needs something the machine lacks skips with a message that
// says what to install, except when CI=true: in CI a skip is a failure,
// since CI installs everything.
package testenv
