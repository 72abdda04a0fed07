// Package browsertest drives a real headless Chromium (Debian's chromium
// package) through chromedp. A package's browser tests share one Chromium,
// started by the first test that asks for a page; every Page is a fresh
// browser context (like an incognito window: no cookies, storage or cache
// in common), so tests cannot see each other's sessions. Call Main from the
// package's TestMain so that the browser stops with the tests.
//
// When a test fails, its pages save a screenshot under
// docs/screenshots/failures/ (ignored by git) and the test log says where.
// Screenshot also writes a page's picture to docs/screenshots/ when
// GATEHOUSE_SCREENSHOTS=1, which is how the README's pictures are made.
//
// Checks of accessibility that a machine can make are in a11y.go.
package browsertest
