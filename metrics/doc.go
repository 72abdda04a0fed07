// Package metrics is what Gatehouse counts, through the Prometheus client
// library (github.com/prometheus/client_golang): a Registry that comes with
// the Go runtime's and the process's collectors (go_*, process_*), the
// few kinds of series Gatehouse keeps, each with at most one label, and
// the /metrics handler. The series themselves are registered where they
// are counted (auth, server); docs/DEPLOYMENT.md lists them.
package metrics
