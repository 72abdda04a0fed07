package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Timeout bounds each step a Page takes: a click, a wait, a
// navigation. Generous, since the machine may be busy with other tests.
const Timeout = 15 * time.Second

// chromiumPath is where Debian's chromium package puts the browser.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// shared is the package's one Chromium.
var shared struct {
	mu      sync.Mutex
	ctx     context.Context // a chromedp context whose browser is running
	stop    func()
	dataDir string
}

// Main runs a package's tests and then stops the shared Chromium:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stop != nil {
		shared.stop()
		os.RemoveAll(shared.dataDir)
		shared.stop = nil
	}
	return code
}

// browserContext returns the running shared browser, starting it first.
func browserContext(t testing.TB) context.Context {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx != nil {
		return shared.ctx
	}
	path := chromiumPath()
	if path == "" {
		testenv.Need(t, "chromium is not installed (apt-get install chromium)")
	}
	dir, err := os.MkdirTemp("", "gatehouse-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // containers and root run without the setuid sandbox
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "en-US"),
		// Fonts render the same in every screenshot.
		chromedp.Flag("font-render-hinting", "none"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		cancel()
		cancelAlloc()
		os.RemoveAll(dir)
		t.Fatalf("start chromium: %v", err)
	}
	shared.ctx, shared.dataDir = ctx, dir
	shared.stop = func() { cancel(); cancelAlloc() }
	return ctx
}

// PageOption configures NewPage.
type PageOption func(*pageConfig)

type pageConfig struct {
	width, height int64
	scale         float64
	mobile        bool
	lang          string
}

// Phone makes the page a phone-width screen (390 × 844 CSS pixels, the
// size of a current iPhone, at twice the density).
func Phone() PageOption {
	return func(c *pageConfig) { c.width, c.height, c.scale, c.mobile = 390, 844, 2, true }
}

// AcceptLanguage sets the browser's Accept-Language header, such as "tr".
func AcceptLanguage(lang string) PageOption {
	return func(c *pageConfig) { c.lang = lang }
}

// pages numbers the pages of a run, to tell their failure pictures apart.
var pages atomic.Int64

// Page is one browser tab, in a browser context of its own, on the server
// at Base. Its methods fail the test on any error.
type Page struct {
	T    testing.TB
	Base string
	ctx  context.Context
	n    int64

	mu       sync.Mutex
	problems []string // script errors and Content-Security-Policy violations
	// Downloads is the folder where the page's downloads land.
	Downloads string
}

// NewPage opens a tab on the server at base (such as Server.URL) in a fresh
// browser context, 1280 × 800 unless Phone says otherwise. The test fails
// if the page logs a script error or a Content-Security-Policy violation;
// when the test fails, the page's last state is saved as a screenshot.
func NewPage(t testing.TB, base string, opts ...PageOption) *Page {
	t.Helper()
	cfg := pageConfig{width: 1280, height: 800, scale: 1, lang: "en-US,en;q=0.9"}
	for _, o := range opts {
		o(&cfg)
	}
	root := browserContext(t)
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	p := &Page{T: t, Base: base, ctx: ctx, Downloads: t.TempDir(), n: pages.Add(1)}
	console := chromedp.Console(ctx)
	go p.collectProblems(console)
	t.Cleanup(func() {
		p.CheckNoProblems()
		if t.Failed() {
			p.saveFailure()
		}
		cancel()
	})
	vp := []chromedp.EmulateViewportOption{chromedp.EmulateScale(cfg.scale)}
	if cfg.mobile {
		vp = append(vp, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	id := chromedp.FromContext(ctx).BrowserContextID
	p.do("set up the tab",
		chromedp.EmulateViewport(cfg.width, cfg.height, vp...),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": cfg.lang}})
			return err
		}),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: id, DownloadPath: p.Downloads})
			if err != nil {
				return err
			}
			for _, name := range []string{"clipboard-read", "clipboard-write"} {
				_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
					Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted,
					Origin: base, BrowserContextID: id})
				if err != nil {
					return err
				}
			}
			return nil
		}),
	)
	return p
}

// collectProblems records what the page's console says went wrong: an
// uncaught exception, a console.error, or a browser error such as a
// resource blocked by the Content-Security-Policy.
func (p *Page) collectProblems(messages func(func(chromedp.ConsoleMessage, error) bool)) {
	for m, err := range messages {
		if err != nil {
			return
		}
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		// A failed request is the page showing an error status, which
		// tests check themselves (a 401 on a wrong password is right).
		if m.Source == "network" {
			continue
		}
		p.mu.Lock()
		p.problems = append(p.problems, fmt.Sprintf("%s (%s)", m.Text, m.URL))
		p.mu.Unlock()
	}
}

// Problems returns the script errors and policy violations seen so far.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// CheckNoProblems fails the test if the page logged an error.
func (p *Page) CheckNoProblems() {
	p.T.Helper()
	if probs := p.Problems(); len(probs) > 0 {
		p.T.Errorf("the page logged errors, want none:\n  %s", strings.Join(probs, "\n  "))
	}
}

// do runs steps with the step timeout and fails the test on an error.
func (p *Page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.T.Fatalf("%s: %v (at %s)", what, err, p.URL())
	}
}

// run runs one action that returns a value.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.T.Fatalf("%s: %v (at %s)", what, err, p.URL())
	}
	return v
}

// Context is the page's chromedp context, for what the helpers lack.
func (p *Page) Context() context.Context { return p.ctx }

// Open navigates to path on the server and waits for the page to load.
func (p *Page) Open(path string) {
	p.T.Helper()
	p.do("open "+path, chromedp.Navigate(p.Base+path))
	p.checkAccessibilityOnce("open " + path)
}

// URL returns the address of the page, "" when it cannot be read.
func (p *Page) URL() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	return u
}

// Path returns the path and query of the page's address.
func (p *Page) Path() string { return strings.TrimPrefix(p.URL(), p.Base) }

// Fill replaces the value of the field matched by the CSS selector. The
// last character is typed as a key press, so that the page sees an input
// event as from a person; the rest is set at once, which is much faster
// than typing each key and makes no difference to the page.
func (p *Page) Fill(selector, value string) {
	p.T.Helper()
	r := []rune(value)
	head, last := "", ""
	if len(r) > 0 {
		head, last = string(r[:len(r)-1]), string(r[len(r)-1:])
	}
	p.do("fill "+selector,
		chromedp.WaitVisible(chromedp.CSS(selector)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q);
			e.focus(); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, selector, head)),
		chromedp.SendKeys(chromedp.CSS(selector), last),
	)
}

// Type types text into the field key by key, as a person does.
func (p *Page) Type(selector, text string) {
	p.T.Helper()
	p.do("type into "+selector, chromedp.SendKeys(chromedp.CSS(selector), text))
}

// Paste puts text in the field as a paste from the clipboard does: one
// paste event, which the page may handle, and no keystrokes.
func (p *Page) Paste(selector, text string) {
	p.T.Helper()
	p.do("paste into "+selector,
		chromedp.WaitVisible(chromedp.CSS(selector)),
		clear(selector),
		chromedp.Focus(chromedp.CSS(selector)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`navigator.clipboard.writeText(%q)`, text), chromedp.EvalAwaitPromise),
		chromedp.KeyEvent("v", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
	)
}

// clear empties a field as a person deleting its text would: the page
// hears an input event.
func clear(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, selector))
}

// Click clicks the element matched by the CSS selector.
func (p *Page) Click(selector string) {
	p.T.Helper()
	p.do("click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// Submit clicks a submit button (or a link) and waits for the page it
// leads to.
func (p *Page) Submit(selector string) {
	p.T.Helper()
	p.navigate("submit with "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// ClickLink follows the link whose text is text.
func (p *Page) ClickLink(text string) {
	p.T.Helper()
	p.navigate(fmt.Sprintf("follow the link %q", text), chromedp.Click(fmt.Sprintf(`//a[normalize-space(.)=%q]`, text), chromedp.NodeVisible))
}

// navigate runs an action that leads to another page and waits until that
// page has loaded. It marks the current document first and waits for a
// document without the mark, which holds however the navigation starts
// (a click, a key, a script submitting a form).
func (p *Page) navigate(what string, action chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	p.do(what, chromedp.Evaluate[chromedp.Void](`window.__gatehouseOldPage = true`), action)
	p.WaitFor("the page after: "+what, `!window.__gatehouseOldPage && document.readyState === "complete"`)
	p.checkAccessibilityOnce(what)
}

// Press sends keys to the focused element: text, or keys of package kb
// such as kb.Tab, kb.Enter, kb.Escape.
func (p *Page) Press(keys string) {
	p.T.Helper()
	p.do("press "+strings.ReplaceAll(keys, kb.Tab, "<Tab>"), chromedp.KeyEvent(keys))
}

// PressShift sends keys with Shift held (Shift+Tab moves focus back).
func (p *Page) PressShift(keys string) {
	p.T.Helper()
	p.do("press shift+keys", chromedp.KeyEvent(keys, chromedp.KeyModifiers(chromedp.ModifierShift)))
}

// PressAndWait sends keys that submit a form and waits for the next page.
func (p *Page) PressAndWait(keys string) {
	p.T.Helper()
	p.navigate("press keys", chromedp.KeyEvent(keys))
}

// Focused describes the focused element: its id, else its name, else its
// text, so that keyboard tests can follow the focus.
func (p *Page) Focused() string {
	p.T.Helper()
	return Eval[string](p, `(() => { const e = document.activeElement; if (!e) return "";
		return e.id || e.getAttribute("name") || e.textContent.trim().replace(/\s+/g, " "); })()`)
}

// Do runs JavaScript in the page, for what a person does that the helpers
// lack (choosing an option of a select, say).
func (p *Page) Do(js string) {
	p.T.Helper()
	p.do("run "+js, chromedp.Evaluate[chromedp.Void](js))
}

// Eval evaluates a JavaScript expression in the page and returns its value.
func Eval[T any](p *Page, expr string) T {
	p.T.Helper()
	return run(p, "evaluate "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// WaitVisible waits until the element matched by the CSS selector shows.
func (p *Page) WaitVisible(selector string) {
	p.T.Helper()
	p.do("wait for "+selector+" to show", chromedp.WaitVisible(chromedp.CSS(selector)))
}

// WaitHidden waits until the element matched by the CSS selector is hidden.
func (p *Page) WaitHidden(selector string) {
	p.T.Helper()
	p.do("wait for "+selector+" to hide", chromedp.WaitNotVisible(chromedp.CSS(selector)))
}

// Visible reports whether the element matched by the CSS selector exists
// and is shown.
func (p *Page) Visible(selector string) bool {
	p.T.Helper()
	return Eval[bool](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		return !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) &&
			getComputedStyle(e).visibility !== "hidden"; })()`, selector))
}

// Exists reports whether an element matches the CSS selector.
func (p *Page) Exists(selector string) bool {
	p.T.Helper()
	return Eval[bool](p, fmt.Sprintf(`!!document.querySelector(%q)`, selector))
}

// Disabled reports whether the element matched by the CSS selector is disabled.
func (p *Page) Disabled(selector string) bool {
	p.T.Helper()
	return Eval[bool](p, fmt.Sprintf(`document.querySelector(%q).disabled`, selector))
}

// Text returns the visible text of the element matched by the CSS selector.
func (p *Page) Text(selector string) string {
	p.T.Helper()
	return Eval[string](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : ""; })()`, selector))
}

// Value returns the value of the field matched by the CSS selector.
func (p *Page) Value(selector string) string {
	p.T.Helper()
	return Eval[string](p, fmt.Sprintf(`document.querySelector(%q).value`, selector))
}

// Attr returns an attribute of the element matched by the CSS selector.
func (p *Page) Attr(selector, name string) string {
	p.T.Helper()
	return Eval[string](p, fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) || ""`, selector, name))
}

// WaitFor waits until the JavaScript expression is true. It keeps asking
// through navigations (a page being replaced cannot answer for a moment).
func (p *Page) WaitFor(what, expr string) {
	p.T.Helper()
	deadline := time.Now().Add(Timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	p.T.Fatalf("wait for %s: not after %v (last error: %v) at %s; the page says:\n%s", what, Timeout, last, p.URL(), p.Text("body"))
}

// WaitText waits until the page's visible text contains text.
func (p *Page) WaitText(text string) {
	p.T.Helper()
	p.WaitFor(fmt.Sprintf("the text %q", text), fmt.Sprintf(`!!document.body && document.body.innerText.includes(%q)`, text))
}

// WaitPath waits until the page's address has this path (query ignored)
// and the page has loaded.
func (p *Page) WaitPath(path string) {
	p.T.Helper()
	p.WaitFor("the page "+path, fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path))
}

// Toasts returns the text of the messages shown at the top right.
func (p *Page) Toasts() []string {
	p.T.Helper()
	return Eval[[]string](p, `Array.from(document.querySelectorAll(".toast")).map(t => t.querySelector(".toast-body").innerText.trim())`)
}

// WaitToast waits for a toast that contains text.
func (p *Page) WaitToast(text string) {
	p.T.Helper()
	p.WaitFor(fmt.Sprintf("a toast saying %q", text), fmt.Sprintf(`Array.from(document.querySelectorAll(".toast")).some(t => t.innerText.includes(%q))`, text))
}

// ElementPNG returns a picture of the element matched by the CSS selector,
// such as a QR code to decode.
func (p *Page) ElementPNG(selector string) []byte {
	p.T.Helper()
	return run(p, "screenshot "+selector, chromedp.Screenshot(chromedp.CSS(selector), chromedp.NodeVisible))
}

// PNG returns a picture of the whole page: the screen's width, the page's
// height (only the screen while a modal dialog covers it), from the top.
func (p *Page) PNG() []byte {
	p.T.Helper()
	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	p.WaitFor("animations to end", `document.getAnimations().every(a => a.playState !== "running")`)
	size := Eval[map[string]float64](p, `({w: window.innerWidth, h: document.querySelector("dialog[open]") ? window.innerHeight :
		Math.max(window.innerHeight, document.documentElement.scrollHeight)})`)
	return run(p, "screenshot", capture(size["w"], size["h"]))
}

// capture takes a picture of the top w × h CSS pixels of the page.
func capture(w, h float64) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		yes := true
		r, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng, CaptureBeyondViewport: &yes, FromSurface: &yes,
			Clip: &page.Viewport{Width: w, Height: h, Scale: 1}})
		return r.Data, err
	}
}

// ScreenshotsEnv names the variable that makes Screenshot write files.
const ScreenshotsEnv = "GATEHOUSE_SCREENSHOTS"

// Screenshot takes a picture of the whole page when GATEHOUSE_SCREENSHOTS=1
// and writes it to docs/screenshots/<name>.png, for the README. Other runs
// skip it (a picture takes about half a second), so they leave the
// committed files alone; a failing test saves its own picture anyway.
func (p *Page) Screenshot(name string) {
	p.T.Helper()
	if os.Getenv(ScreenshotsEnv) != "1" {
		return
	}
	png := p.PNG()
	path := filepath.Join(testenv.RepoRoot(p.T), "docs", "screenshots", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.T.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.T.Fatal(err)
	}
	p.T.Logf("screenshot: %s", path)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveFailure keeps a picture of the page as it was when the test failed.
func (p *Page) saveFailure() {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	size, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`({w: window.innerWidth, h: Math.max(window.innerHeight, document.documentElement.scrollHeight)})`))
	if err != nil {
		p.T.Logf("no failure screenshot: %v", err)
		return
	}
	png, err := chromedp.Run(ctx, capture(size["w"], size["h"]))
	if err != nil {
		p.T.Logf("no failure screenshot: %v", err)
		return
	}
	dir := filepath.Join(testenv.RepoRoot(p.T), "docs", "screenshots", "failures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.T.Logf("no failure screenshot: %v", err)
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-tab%d.png", unsafeName.ReplaceAllString(p.T.Name(), "_"), p.n))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.T.Logf("no failure screenshot: %v", err)
		return
	}
	p.T.Logf("the page at failure (%s) is in %s", p.URL(), path)
}

// WaitDownload waits for a file named name in the page's downloads and
// returns its content.
func (p *Page) WaitDownload(name string) []byte {
	p.T.Helper()
	path := filepath.Join(p.Downloads, name)
	deadline := time.Now().Add(Timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(p.Downloads)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	p.T.Fatalf("download %s: not there after %v; the folder holds %q", name, Timeout, names)
	return nil
}

// Clipboard returns the text on the clipboard of the page's browser.
func (p *Page) Clipboard() string {
	p.T.Helper()
	return Eval[string](p, `navigator.clipboard.readText()`)
}
