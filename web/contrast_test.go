package web

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestStylesheetContrast checks the contrast ratios that web/static/app.css
// claims for its colours (WCAG 2.1 1.4.3 and 1.4.11): each claimed ratio
// is the one the two colours make, to one decimal, and it is at least
// 4.5:1 for text, 3:1 for the borders of fields. The browser tests check
// the pages themselves (browsertest's contrast check and axe-core's
// color-contrast rule); this keeps the stylesheet's own words true.
func TestStylesheetContrast(t *testing.T) {
	css, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	root, _, ok := strings.Cut(string(css), "\n}")
	if !ok || !strings.Contains(root, ":root {") {
		t.Fatal("app.css: no :root block of colours")
	}
	colours := map[string]string{"white": "#ffffff"}
	decl := regexp.MustCompile(`(?m)^\s*(--[a-z-]+):\s*(#[0-9a-f]{6});(.*)$`)
	for _, m := range decl.FindAllStringSubmatch(root, -1) {
		colours[m[1]] = m[2]
	}
	ratioOn := regexp.MustCompile(`(\d+(?:\.\d)?):1 on (white|--[a-z-]+)`)
	onRatio := regexp.MustCompile(`on (--[a-z-]+): (\d+(?:\.\d)?):1`)
	claims := 0
	for _, m := range decl.FindAllStringSubmatch(root, -1) {
		name, fg, comment := m[1], m[2], m[3]
		var pairs [][2]string // ratio, background
		for _, c := range ratioOn.FindAllStringSubmatch(comment, -1) {
			pairs = append(pairs, [2]string{c[1], c[2]})
		}
		for _, c := range onRatio.FindAllStringSubmatch(comment, -1) {
			pairs = append(pairs, [2]string{c[2], c[1]})
		}
		for _, p := range pairs {
			claims++
			claimed, _ := strconv.ParseFloat(p[0], 64)
			bg, ok := colours[p[1]]
			if !ok {
				t.Errorf("%s: claims %s:1 on %s, which app.css does not define", name, p[0], p[1])
				continue
			}
			got := contrast(fg, bg)
			if math.Abs(got-claimed) >= 0.1 { // a claim to one decimal, rounded or cut
				t.Errorf("%s %s on %s %s: contrast %.2f:1, the comment claims %s:1", name, fg, p[1], bg, got, p[0])
			}
			want := 4.5
			if strings.Contains(name, "border") {
				want = 3
			}
			if got < want {
				t.Errorf("%s %s on %s %s: contrast %.2f:1, want at least %.1f:1", name, fg, p[1], bg, got, want)
			}
		}
	}
	if claims < 8 {
		t.Fatalf("found %d contrast claims in app.css: is the parsing broken?", claims)
	}
}

// contrast is WCAG's contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	l1, l2 := luminance(a), luminance(b)
	return (math.Max(l1, l2) + 0.05) / (math.Min(l1, l2) + 0.05)
}

func luminance(hex string) float64 {
	channel := func(s string) float64 {
		v, _ := strconv.ParseUint(s, 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(hex[1:3]) + 0.7152*channel(hex[3:5]) + 0.0722*channel(hex[5:7])
}
