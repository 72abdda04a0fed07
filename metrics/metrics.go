// Package metrics keeps counters, gauges and histograms and writes them in
// the Prometheus text exposition format. It is small on purpose: Gatehouse
// needs a handful of series, not a client library.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metrics in the order they were registered.
type Registry struct {
	mu      sync.Mutex
	metrics []metric
}

type metric interface {
	write(w io.Writer)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) add(m metric) {
	r.mu.Lock()
	r.metrics = append(r.metrics, m)
	r.mu.Unlock()
}

// Write writes every metric in the text format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	ms := append([]metric(nil), r.metrics...)
	r.mu.Unlock()
	for _, m := range ms {
		m.write(w)
	}
}

// CounterVec is a family of counters told apart by one label.
type CounterVec struct {
	name, help, label string
	mu                sync.RWMutex
	values            map[string]*atomic.Uint64
}

// NewCounterVec registers a counter family with one label.
func (r *Registry) NewCounterVec(name, help, label string) *CounterVec {
	c := &CounterVec{name: name, help: help, label: label, values: map[string]*atomic.Uint64{}}
	r.add(c)
	return c
}

// Inc adds one to the counter with the given label value.
func (c *CounterVec) Inc(value string) { c.Add(value, 1) }

// Add adds n to the counter with the given label value.
func (c *CounterVec) Add(value string, n uint64) {
	c.mu.RLock()
	v, ok := c.values[value]
	c.mu.RUnlock()
	if !ok {
		c.mu.Lock()
		if v, ok = c.values[value]; !ok {
			v = new(atomic.Uint64)
			c.values[value] = v
		}
		c.mu.Unlock()
	}
	v.Add(n)
}

// Value returns the current count for a label value.
func (c *CounterVec) Value(value string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.values[value]; ok {
		return v.Load()
	}
	return 0
}

func (c *CounterVec) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
	c.mu.RLock()
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=\"%s\"} %d\n", c.name, c.label, escape(k), c.values[k].Load())
	}
	c.mu.RUnlock()
}

// GaugeFunc reports a value computed when scraped.
type GaugeFunc struct {
	name, help, kind string
	fn               func() float64
}

// NewGaugeFunc registers a gauge whose value fn computes at scrape time.
func (r *Registry) NewGaugeFunc(name, help string, fn func() float64) {
	r.add(&GaugeFunc{name: name, help: help, kind: "gauge", fn: fn})
}

// NewCounterFunc registers a counter kept elsewhere (fn must never
// decrease), read at scrape time.
func (r *Registry) NewCounterFunc(name, help string, fn func() float64) {
	r.add(&GaugeFunc{name: name, help: help, kind: "counter", fn: fn})
}

func (g *GaugeFunc) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", g.name, g.help, g.name, g.kind, g.name, formatFloat(g.fn()))
}

// Histogram counts observations into fixed buckets, per label value.
type Histogram struct {
	name, help, label string
	buckets           []float64
	mu                sync.Mutex
	series            map[string]*histSeries
}

type histSeries struct {
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

// NewHistogram registers a histogram family with one label and the given
// upper bounds (seconds, for durations).
func (r *Registry) NewHistogram(name, help, label string, buckets []float64) *Histogram {
	h := &Histogram{name: name, help: help, label: label, buckets: buckets, series: map[string]*histSeries{}}
	r.add(h)
	return h
}

// Observe records v for the label value.
func (h *Histogram) Observe(value string, v float64) {
	h.mu.Lock()
	s, ok := h.series[value]
	if !ok {
		s = &histSeries{counts: make([]uint64, len(h.buckets))}
		h.series[value] = s
	}
	for i, b := range h.buckets {
		if v <= b {
			s.counts[i]++
			break
		}
	}
	s.count++
	s.sum += v
	h.mu.Unlock()
}

func (h *Histogram) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := h.series[k]
		var cum uint64
		for i, b := range h.buckets {
			cum += s.counts[i]
			fmt.Fprintf(w, "%s_bucket{%s=\"%s\",le=\"%s\"} %d\n", h.name, h.label, escape(k), formatFloat(b), cum)
		}
		fmt.Fprintf(w, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %d\n", h.name, h.label, escape(k), s.count)
		fmt.Fprintf(w, "%s_sum{%s=\"%s\"} %s\n", h.name, h.label, escape(k), formatFloat(s.sum))
		fmt.Fprintf(w, "%s_count{%s=\"%s\"} %d\n", h.name, h.label, escape(k), s.count)
	}
}

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return fmt.Sprintf("%g", v)
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return escaper.Replace(s) }
