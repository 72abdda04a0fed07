package testenv

// This file drives a real headless Chromium (Debian's chromium package)
// through chromedp. A package's browser tests share one Chromium, started by
// the first test that asks for a page; every Page is a fresh browser context
// (like an incognito window: no cookies, storage or cache in common), so
// tests cannot see each other's sessions. Call BrowserMain from the
// package's TestMain so that the browser stops with the tests.
//
// When a test fails, its pages save a screenshot under
// docs/screenshots/failures/ (ignored by git) and the test log says where.
// Screenshot also writes a page's picture to docs/screenshots/ when
// GATEHOUSE_SCREENSHOTS=1, which is how the README's pictures are made.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// BrowserTimeout bounds each step a Page takes: a click, a wait, a
// navigation. Generous, since the machine may be busy with other tests.
const BrowserTimeout = 15 * time.Second

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

// BrowserMain runs a package's tests and then stops the shared Chromium:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.BrowserMain(m)) }
func BrowserMain(m *testing.M) int {
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
		Need(t, "chromium is not installed (apt-get install chromium)")
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

// Page is one browser tab, in a browser context of its own, on the server
// at Base. Its methods fail the test on any error.
type Page struct {
	T    testing.TB
	Base string
	ctx  context.Context

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
	p := &Page{T: t, Base: base, ctx: ctx, Downloads: t.TempDir()}
	console := chromedp.Console(ctx)
	go p.collectProblems(console)
	t.Cleanup(func() {
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
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.T.Fatalf("%s: %v (at %s)", what, err, p.URL())
	}
}

// run runs one action that returns a value.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
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

// Fill replaces the value of the field matched by the CSS selector by
// typing it, so that the page sees each keystroke as a person's.
func (p *Page) Fill(selector, value string) {
	p.T.Helper()
	p.do("fill "+selector,
		chromedp.WaitVisible(chromedp.CSS(selector)),
		chromedp.Clear(chromedp.CSS(selector)),
		chromedp.SendKeys(chromedp.CSS(selector), value),
	)
}

// Paste puts text in the field as a paste from the clipboard does: one
// paste event, which the page may handle, and no keystrokes.
func (p *Page) Paste(selector, text string) {
	p.T.Helper()
	p.do("paste into "+selector,
		chromedp.WaitVisible(chromedp.CSS(selector)),
		chromedp.Clear(chromedp.CSS(selector)),
		chromedp.Focus(chromedp.CSS(selector)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`navigator.clipboard.writeText(%q)`, text), chromedp.EvalAwaitPromise),
		chromedp.KeyEvent("v", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
	)
}

// Click clicks the element matched by the CSS selector.
func (p *Page) Click(selector string) {
	p.T.Helper()
	p.do("click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// Submit clicks a submit button and waits for the page it leads to.
func (p *Page) Submit(selector string) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible)); err != nil {
		p.T.Fatalf("submit with %s: %v (at %s)", selector, err, p.URL())
	}
}

// ClickLink follows the link whose text is text.
func (p *Page) ClickLink(text string) {
	p.T.Helper()
	sel := fmt.Sprintf(`//a[normalize-space(.)=%q]`, text)
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible)); err != nil {
		p.T.Fatalf("follow the link %q: %v (at %s)", text, err, p.URL())
	}
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
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(keys)); err != nil {
		p.T.Fatalf("press keys and wait: %v (at %s)", err, p.URL())
	}
}

// Focused describes the focused element: its id, else its name, else its
// text, so that keyboard tests can follow the focus.
func (p *Page) Focused() string {
	p.T.Helper()
	return Eval[string](p, `(() => { const e = document.activeElement; if (!e) return "";
		return e.id || e.getAttribute("name") || e.textContent.trim().replace(/\s+/g, " "); })()`)
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

// WaitText waits until the page's visible text contains text.
func (p *Page) WaitText(text string) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.body && document.body.innerText.includes(%q)`, text),
		chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		body := p.Text("body")
		p.T.Fatalf("wait for the text %q: %v (at %s); the page says:\n%s", text, err, p.URL(), body)
	}
}

// WaitPath waits until the page's address has this path (query ignored).
func (p *Page) WaitPath(path string) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path),
		chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.T.Fatalf("wait for %s: %v (at %s)", path, err, p.URL())
	}
}

// Toasts returns the text of the messages shown at the top right.
func (p *Page) Toasts() []string {
	p.T.Helper()
	return Eval[[]string](p, `Array.from(document.querySelectorAll(".toast")).map(t => t.querySelector(".toast-body").innerText.trim())`)
}

// WaitToast waits for a toast that contains text and returns its text.
func (p *Page) WaitToast(text string) string {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, BrowserTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`(() => {
		for (const t of document.querySelectorAll(".toast")) if (t.innerText.includes(%q)) return t.innerText.trim();
		return false; })()`, text), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.T.Fatalf("wait for a toast saying %q: %v (at %s); toasts: %q", text, err, p.URL(), p.Toasts())
	}
	return got
}

// ElementPNG returns a picture of the element matched by the CSS selector,
// such as a QR code to decode.
func (p *Page) ElementPNG(selector string) []byte {
	p.T.Helper()
	return run(p, "screenshot "+selector, chromedp.Screenshot(chromedp.CSS(selector), chromedp.NodeVisible))
}

// PNG returns a picture of the whole page.
func (p *Page) PNG() []byte {
	p.T.Helper()
	return run(p, "screenshot", chromedp.FullScreenshot(100))
}

// ScreenshotsEnv names the variable that makes Screenshot write files.
const ScreenshotsEnv = "GATEHOUSE_SCREENSHOTS"

// Screenshot takes a picture of the whole page. With GATEHOUSE_SCREENSHOTS=1
// it is written to docs/screenshots/<name>.png, for the README; otherwise it
// is only checked to be a picture, so that normal runs leave the committed
// files alone.
func (p *Page) Screenshot(name string) {
	p.T.Helper()
	png := p.PNG()
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		p.T.Fatalf("screenshot %s: got %d bytes, want a PNG", name, len(png))
	}
	if os.Getenv(ScreenshotsEnv) != "1" {
		return
	}
	path := filepath.Join(RepoRoot(p.T), "docs", "screenshots", name+".png")
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
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.T.Logf("no failure screenshot: %v", err)
		return
	}
	dir := filepath.Join(RepoRoot(p.T), "docs", "screenshots", "failures")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.T.Logf("no failure screenshot: %v", err)
		return
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(p.T.Name(), "_")+".png")
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
	deadline := time.Now().Add(BrowserTimeout)
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
	p.T.Fatalf("download %s: not there after %v; the folder holds %q", name, BrowserTimeout, names)
	return nil
}

// Clipboard returns the text on the clipboard of the page's browser.
func (p *Page) Clipboard() string {
	p.T.Helper()
	return Eval[string](p, `navigator.clipboard.readText()`)
}

// RepoRoot returns the folder of the module's go.mod, found from the
// current directory up.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal(errors.New("no go.mod above the current directory"))
		}
		dir = parent
	}
}
