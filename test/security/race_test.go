//go:build race

package security_test

// raceBuild: the race detector slows Go code many times over, argon2 above
// all, and unevenly; times measured under it say nothing about the real
// server. The timed comparisons run without it (.ci/run runs them again).
const raceBuild = true
