package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// scrape returns what the registry's handler serves.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("got %d %s, want 200 Prometheus text", w.Code, w.Header().Get("Content-Type"))
	}
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func TestExposition(t *testing.T) {
	r := NewRegistry()
	logins := r.NewCounterVec("gatehouse_logins_total", "Logins by result.", "result")
	logins.Inc("authenticated")
	logins.Inc("authenticated")
	logins.Inc(`in"valid`)
	logins.Add("throttled", 5)
	r.NewGaugeFunc("gatehouse_up", "Always 1.", func() float64 { return 1 })
	r.NewCounterFunc("gatehouse_things_total", "Things.", func() float64 { return 7 })
	h := r.NewHistogram("gatehouse_request_seconds", "Request durations.", "route", []float64{0.01, 0.1})
	h.Observe("GET /x", 0.005)
	h.Observe("GET /x", 0.05)
	h.Observe("GET /x", 5)
	// Registered again, as a handler built twice on one registry does:
	// the same series.
	r.NewCounterVec("gatehouse_logins_total", "Logins by result.", "result").Inc("authenticated")
	r.NewHistogram("gatehouse_request_seconds", "Request durations.", "route", []float64{0.01, 0.1}).Observe("GET /x", 0.001)

	got := scrape(t, r)
	for _, want := range []string{
		"# TYPE gatehouse_logins_total counter\n",
		`gatehouse_logins_total{result="authenticated"} 3` + "\n",
		`gatehouse_logins_total{result="in\"valid"} 1` + "\n",
		`gatehouse_logins_total{result="throttled"} 5` + "\n",
		"# TYPE gatehouse_up gauge\n",
		"gatehouse_up 1\n",
		"# TYPE gatehouse_things_total counter\n",
		"gatehouse_things_total 7\n",
		`gatehouse_request_seconds_bucket{route="GET /x",le="0.01"} 2` + "\n",
		`gatehouse_request_seconds_bucket{route="GET /x",le="0.1"} 3` + "\n",
		`gatehouse_request_seconds_bucket{route="GET /x",le="+Inf"} 4` + "\n",
		`gatehouse_request_seconds_count{route="GET /x"} 4` + "\n",
		// The runtime's and the process's collectors.
		"# TYPE go_goroutines gauge\n",
		"# TYPE go_memstats_heap_alloc_bytes gauge\n",
		"# TYPE process_resident_memory_bytes gauge\n",
		"# TYPE process_cpu_seconds_total counter\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("exposition lacks %q; got:\n%s", want, got)
		}
	}
}

// A name registered twice as different kinds is a programming error.
func TestConflictPanics(t *testing.T) {
	r := NewRegistry()
	r.NewCounterVec("gatehouse_x", "X.", "a")
	defer func() {
		if recover() == nil {
			t.Errorf("registering gatehouse_x as a gauge too: no panic")
		}
	}()
	r.NewGaugeFunc("gatehouse_x", "X.", func() float64 { return 0 })
}
