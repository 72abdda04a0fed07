package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	logins := r.NewCounterVec("gatehouse_logins_total", "Logins by result.", "result")
	logins.Inc("authenticated")
	logins.Inc("authenticated")
	logins.Inc(`in"valid`)
	r.NewGaugeFunc("gatehouse_up", "Always 1.", func() float64 { return 1 })
	h := r.NewHistogram("gatehouse_request_seconds", "Request durations.", "route", []float64{0.01, 0.1})
	h.Observe("GET /x", 0.005)
	h.Observe("GET /x", 0.05)
	h.Observe("GET /x", 5)

	var b strings.Builder
	r.Write(&b)
	got := b.String()
	for _, want := range []string{
		"# TYPE gatehouse_logins_total counter\n",
		`gatehouse_logins_total{result="authenticated"} 2` + "\n",
		`gatehouse_logins_total{result="in\"valid"} 1` + "\n",
		"gatehouse_up 1\n",
		`gatehouse_request_seconds_bucket{route="GET /x",le="0.01"} 1` + "\n",
		`gatehouse_request_seconds_bucket{route="GET /x",le="0.1"} 2` + "\n",
		`gatehouse_request_seconds_bucket{route="GET /x",le="+Inf"} 3` + "\n",
		`gatehouse_request_seconds_count{route="GET /x"} 3` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("exposition lacks %q; got:\n%s", want, got)
		}
	}
	if v := logins.Value("authenticated"); v != 2 {
		t.Errorf("got %d, want 2", v)
	}
}
