package web

import "strings"

// agent is what a person recognises of a User-Agent header: "Chrome" on
// "Windows". Browser is empty when the header is not a browser's (an API
// client, a script), and the page shows the header as it is.
type agent struct {
	Browser string
	OS      string
	Mobile  bool
}

// parseAgent names the browser and system of the common User-Agent
// headers. The order matters: Edge and Opera also say "Chrome", Chrome
// also says "Safari", and every browser says "Mozilla".
func parseAgent(ua string) agent {
	var a agent
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Chromium/", "Chromium"},
		{"Version/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			a.Browser = b.name
			break
		}
	}
	if a.Browser == "" {
		return agent{}
	}
	for _, o := range []struct {
		token, name string
		mobile      bool
	}{
		{"iPhone", "iOS", true}, {"iPad", "iPadOS", true}, {"Android", "Android", true},
		{"Windows", "Windows", false}, {"CrOS", "ChromeOS", false}, {"Mac OS X", "macOS", false},
		{"Linux", "Linux", false},
	} {
		if strings.Contains(ua, o.token) {
			a.OS, a.Mobile = o.name, o.mobile
			break
		}
	}
	if a.OS == "" {
		return agent{}
	}
	return a
}
