package browsertest

// The outside witness of the pages' accessibility: axe-core, an engine
// nobody here wrote (npm axe-core, pinned in testdata/node and installed
// there by .ci/run with npm ci), run in the page with the WCAG 2.1 A and
// AA rules. It runs on every explicit CheckAccessibility, and (with the
// checks of a11y.go) on its own on
// every page a test reaches by navigating (Open, Submit, ClickLink,
// PressAndWait), once per page state: a state is the path, the language,
// the title and the number of elements, so a page with an error message
// is another state than the page without one. So every page the browser
// tests visit, in each language they visit it in, is checked.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/accessibility"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// AxeTags are the rule sets axe runs: WCAG 2.0 and 2.1, levels A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeDir is testdata/node beside this file.
func axeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "node")
}

var axe struct {
	once   sync.Once
	source string
	err    error
	// checked holds the page states already checked in this test binary.
	checked sync.Map
}

// axeSource is axe.min.js, read once.
func axeSource() (string, error) {
	axe.once.Do(func() {
		b, err := os.ReadFile(filepath.Join(axeDir(), "node_modules", "axe-core", "axe.min.js"))
		axe.source, axe.err = string(b), err
	})
	return axe.source, axe.err
}

// axeRun loads axe into the page unless it is there, and lists the
// violations of the page as it is now, one line per rule with its impact,
// help, the selectors of the elements that break it and why.
const axeRun = `(async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]});
  return r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " [" + v.helpUrl.replace(/\?.*$/, "") + "]\n" +
    v.nodes.map(n => "      at " + n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s*\n\s*/g, " ")).join("\n"));
})()`

// AxeViolations runs axe-core on the page once it has settled and returns
// its violations of the WCAG 2.1 A and AA rules. Settled: app.js puts a
// page's toasts back 100 ms after it runs (so that screen readers announce
// them) and they fade in; axe run before that met a toast halfway in and
// measured its text's blend (4.2:1, TestSignInWithGatehouse, now and then).
// So the check waits 200 ms past the load and for animations to end.
// Without axe-core installed the test skips (and fails with CI=true).
func (p *Page) AxeViolations() []string {
	p.T.Helper()
	p.WaitFor("the page to settle", `(() => { const n = performance.getEntriesByType("navigation")[0];
		return (!n || (n.loadEventEnd > 0 && performance.now() - n.loadEventEnd > 200)) &&
			document.getAnimations().every(a => a.playState !== "running"); })()`)
	src, err := axeSource()
	if err != nil {
		testenv.Need(p.T, fmt.Sprintf("axe-core is not installed (cd %s && npm ci): %v", axeDir(), err))
	}
	if !Eval[bool](p, `typeof window.axe === "object"`) {
		p.Do(src)
	}
	tags := `["` + strings.Join(AxeTags, `","`) + `"]`
	return Eval[[]string](p, fmt.Sprintf(axeRun, tags))
}

// checkAxe fails the test on any violation axe finds.
func (p *Page) checkAxe(what string) {
	p.T.Helper()
	if v := p.AxeViolations(); len(v) > 0 {
		p.T.Errorf("%s (%s, lang %s): axe-core finds %d WCAG 2.1 A/AA violations:\n  %s", what, p.Path(),
			Eval[string](p, `document.documentElement.lang`), len(v), strings.Join(v, "\n  "))
	}
}

// checkAccessibilityOnce runs CheckAccessibility (the checks of a11y.go, and axe)
// unless this page state was checked before in this test binary.
func (p *Page) checkAccessibilityOnce(what string) {
	p.T.Helper()
	state := Eval[string](p, `document.contentType !== "text/html" || !document.documentElement ? "" :
		[location.pathname, document.documentElement.lang, document.title, document.getElementsByTagName("*").length].join("|")`)
	if state == "" {
		// Not a page: a JSON answer, a file, or a document being replaced
		// by the next (the login page that a passkey's autofill signs in
		// from at once: TestPasskeyAutofill failed on it now and then).
		return
	}
	if _, seen := axe.checked.LoadOrStore(state, true); seen {
		return
	}
	p.CheckAccessibility(what)
}

// AccessibleName is the name Chromium's accessibility tree gives the
// element matched by the CSS selector: what a screen reader says for it.
func (p *Page) AccessibleName(selector string) string {
	p.T.Helper()
	var name string
	p.do("the accessible name of "+selector, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		el, err := chromedp.Call(ctx, cdpruntime.Evaluate, cdpruntime.EvaluateParams{
			Expression: fmt.Sprintf("document.querySelector(%q)", selector)})
		if err != nil {
			return err
		}
		if el.Result == nil || el.Result.ObjectID == "" {
			return fmt.Errorf("no element matches %s", selector)
		}
		relatives := false
		tree, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{
			ObjectID: el.Result.ObjectID, FetchRelatives: &relatives})
		if err != nil {
			return err
		}
		if len(tree.Nodes) == 0 || tree.Nodes[0].Name == nil {
			return nil
		}
		return json.Unmarshal([]byte(tree.Nodes[0].Name.Value), &name)
	}))
	return name
}
