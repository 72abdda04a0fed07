// Package servertest starts Gatehouse as `gatehouse serve` builds it, in
// the test's process, on a free loopback port, with its own data folder,
// database and SMTP server (Start), and talks to it as a program or a
// browser without JavaScript would (Client). It also reads the server's
// database directly, so that a test can check what a request changed.
package servertest
