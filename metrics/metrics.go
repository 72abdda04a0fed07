package metrics

import (
	"errors"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds an installation's metrics.
type Registry struct {
	reg *prometheus.Registry
}

// NewRegistry returns a registry with the Go runtime's collector (go_*:
// goroutines, heap, collections) and the process's (process_*: CPU,
// resident memory, open files).
func NewRegistry() *Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: r}
}

// Handler serves every metric in Prometheus's text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// register registers c, or returns the collector already registered
// under its name when it is of the same kind: a handler built twice on
// one registry (as the benchmarks do) counts into the same series. It
// panics on any other conflict, which is a programming error.
func register[C prometheus.Collector](r *Registry, c C) C {
	err := r.reg.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}

// CounterVec is a family of counters told apart by one label.
type CounterVec struct {
	vec      *prometheus.CounterVec
	children sync.Map // label value → prometheus.Counter
}

// NewCounterVec registers a counter family with one label.
func (r *Registry) NewCounterVec(name, help, label string) *CounterVec {
	vec := register(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label}))
	return &CounterVec{vec: vec}
}

// Inc adds one to the counter with the given label value.
func (c *CounterVec) Inc(value string) { c.child(value).Inc() }

// Add adds n (not negative) to the counter with the given label value.
func (c *CounterVec) Add(value string, n float64) { c.child(value).Add(n) }

func (c *CounterVec) child(value string) prometheus.Counter {
	// The children are looked up without a lock: every request counts.
	if child, ok := c.children.Load(value); ok {
		return child.(prometheus.Counter)
	}
	child, _ := c.children.LoadOrStore(value, c.vec.WithLabelValues(value))
	return child.(prometheus.Counter)
}

// NewGaugeFunc registers a gauge whose value fn computes at scrape time.
func (r *Registry) NewGaugeFunc(name, help string, fn func() float64) {
	register(r, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// NewCounterFunc registers a counter kept elsewhere (fn must never
// decrease), read at scrape time.
func (r *Registry) NewCounterFunc(name, help string, fn func() float64) {
	register(r, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Histogram counts observations into fixed buckets, per label value.
type Histogram struct {
	vec      *prometheus.HistogramVec
	children sync.Map // label value → prometheus.Observer
}

// NewHistogram registers a histogram family with one label and the given
// upper bounds (seconds, for durations).
func (r *Registry) NewHistogram(name, help, label string, buckets []float64) *Histogram {
	vec := register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, []string{label}))
	return &Histogram{vec: vec}
}

// Observe records v for the label value.
func (h *Histogram) Observe(value string, v float64) {
	if child, ok := h.children.Load(value); ok {
		child.(prometheus.Observer).Observe(v)
		return
	}
	child, _ := h.children.LoadOrStore(value, h.vec.WithLabelValues(value))
	child.(prometheus.Observer).Observe(v)
}
