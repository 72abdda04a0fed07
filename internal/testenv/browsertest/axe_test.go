package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestAxeFindsViolations shows axe-core at work in the page: a page with
// the defects it found in Gatehouse (a name that does not hold the visible
// text, an image without alt) and a form field without a label has them
// reported by rule, and a clean page has none.
func TestAxeFindsViolations(t *testing.T) {
	const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body><main><h1>Test</h1>`
	pages := map[string]string{
		"/clean": head + `<p>Hello.</p><a href="/settings/users/1/reset-password">Reset password</a></main></body></html>`,
		"/broken": head + `<a href="/settings/users/1/reset-password" aria-label="Reset the password of Bob Builder">Reset password</a>` +
			`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">` +
			`<form method="post"><input type="text" name="email"><button>Send</button></form></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(pages[r.URL.Path]))
	}))
	defer srv.Close()
	p := NewPage(t, srv.URL)
	for _, tc := range []struct {
		path string
		want []string // rule ids
	}{
		{"/clean", nil},
		{"/broken", []string{"label-content-name-mismatch", "image-alt", "label"}},
	} {
		p.do("open "+tc.path, chromedp.Navigate(srv.URL+tc.path)) // not Open, whose own check would fail the test
		got := strings.Join(p.AxeViolations(), "\n")
		if len(tc.want) == 0 && got != "" {
			t.Errorf("%s: axe finds %q, want nothing", tc.path, got)
		}
		for _, rule := range tc.want {
			if !strings.Contains(got, rule+" (") {
				t.Errorf("%s: axe finds %q, want %s", tc.path, got, rule)
			}
		}
	}
}
