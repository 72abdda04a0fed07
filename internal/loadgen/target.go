package loadgen

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// A Target is one figure the performance issue asks for, measured and
// compared with its bound.
type Target struct {
	Scenario string  // "session-check"
	What     string  // "req/s ÷ bare handler, 64 conns"
	Value    float64 // the measured figure, often a ratio; NaN when it could not be measured
	Op       string  // ">=", "<=" or "<": how Value must compare with Bound
	Bound    float64
	Unit     string // appended to Value and Bound: "", "×", " ms", " MB", "/s"
	Detail   string // the figures behind a ratio: "1234/s vs 2400/s"
	Skipped  string // why it was not measured; empty when it was
	Failed   string // why the measurement failed (a crash, a refused request)
}

// Met reports whether the measured value satisfies the bound. A value
// that could not be measured never does.
func (t Target) Met() bool {
	if t.Skipped != "" || t.Failed != "" || math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
		return false
	}
	switch t.Op {
	case ">=":
		return t.Value >= t.Bound
	case "<=":
		return t.Value <= t.Bound
	case "<":
		return t.Value < t.Bound
	}
	return false
}

// Verdict is "MET", "NOT MET", "FAILED" or "skipped".
func (t Target) Verdict() string {
	switch {
	case t.Failed != "":
		return "FAILED"
	case t.Skipped != "":
		return "skipped"
	case t.Met():
		return "MET"
	}
	return "NOT MET"
}

// Ratio returns a ÷ b, or NaN when b is zero (nothing to compare with).
func Ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// Millis returns d in milliseconds, for Target values.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (t Target) value() string {
	if t.Skipped != "" || t.Failed != "" {
		return "-"
	}
	if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
		return "n/a"
	}
	return num(t.Value) + t.Unit
}

func (t Target) bound() string {
	if t.Op == "" {
		return "-"
	}
	op := map[string]string{">=": "≥ ", "<=": "≤ ", "<": "< "}[t.Op]
	return op + num(t.Bound) + t.Unit
}

// num renders a figure with as many decimals as its size calls for.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteTargets prints targets as a table: scenario, what, measured,
// target, verdict and the figures behind each.
func WriteTargets(w io.Writer, targets []Target) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\ttarget\tmeasured\tbound\tverdict\tdetail")
	for _, t := range targets {
		detail := t.Detail
		if t.Skipped != "" {
			detail = t.Skipped
		}
		if t.Failed != "" {
			detail = t.Failed
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Scenario, t.What, t.value(), t.bound(), t.Verdict(), detail)
	}
	tw.Flush()
	met, all := 0, 0
	for _, t := range targets {
		if t.Skipped == "" {
			all++
			if t.Met() {
				met++
			}
		}
	}
	fmt.Fprintf(w, "%d of %d measured targets met", met, all)
	if s := len(targets) - all; s > 0 {
		fmt.Fprintf(w, " (%d skipped)", s)
	}
	fmt.Fprintln(w)
}

// Row is one line of a side-by-side table: one request name of one run,
// with the server's peak resident set during that run.
type Row struct {
	Label   string // what ran: "bare handler", "gatehouse"
	Clients int    // closed loop: concurrent clients; 0 for an open loop
	Stats   Stats
	PeakRSS uint64 // bytes; 0 when not measured
	Note    string // anything the figures need, such as a count of 503s
}

// WriteRows prints rows as one table, so that runs can be read side by
// side.
func WriteRows(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tclients\tok\treq/s\tp50\tp90\tp99\tmax\terrors\tpeak RSS\t")
	for _, r := range rows {
		clients, rss := "open", "-"
		if r.Clients > 0 {
			clients = fmt.Sprint(r.Clients)
		}
		if r.PeakRSS > 0 {
			rss = MB(r.PeakRSS)
		}
		s := r.Stats
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Label, clients, s.OK, s.PerSecond,
			ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), s.Errors, rss, r.Note)
	}
	tw.Flush()
	for _, r := range rows {
		for _, k := range slices.Sorted(maps.Keys(r.Stats.ErrorKinds)) {
			fmt.Fprintf(w, "  %s: error ×%d: %s\n", r.Label, r.Stats.ErrorKinds[k], strings.TrimSpace(k))
		}
	}
}
