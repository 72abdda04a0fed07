// Package browser holds the end-to-end tests of the web pages: each journey
// of the help centres (change password, forgot password, two-factor
// enrollment and login, admin resets, company-wide enforcement) run in a
// real headless Chromium against a real server with a real SMTP server,
// in English, Indonesian and Turkish, on a desktop and a phone-width
// screen. GATEHOUSE_SCREENSHOTS=1 makes them write docs/screenshots/.
package browser
