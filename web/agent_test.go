package web

import "testing"

func TestParseAgent(t *testing.T) {
	for _, tc := range []struct {
		ua   string
		want agent
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", agent{"Edge", "Windows", false}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", agent{"Safari", "macOS", false}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", agent{"Safari", "iOS", true}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", agent{"Chrome", "Android", true}},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", agent{"Firefox", "Linux", false}},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", agent{"Chrome", "Linux", false}},
		{"Go-http-client/1.1", agent{}},
		{"curl/8.5.0", agent{}},
		{"", agent{}},
	} {
		if got := parseAgent(tc.ua); got != tc.want {
			t.Errorf("parseAgent(%q): got %+v, want %+v", tc.ua, got, tc.want)
		}
	}
}
