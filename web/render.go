package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/password"
)

//go:embed templates
var templateFS embed.FS

// renderer holds each page's template set, parsed on the page's first use.
type renderer struct {
	pages   map[string]func() (*template.Template, error)
	cat     *i18n.Catalog
	log     *slog.Logger
	cookies httpx.Cookies
	// appReturn gives the address at an app where a login page's next
	// step ends, if it ends at one (deps.appReturn).
	appReturn func(r *http.Request, next string) string
}

// newRenderer returns a renderer of every page.
func newRenderer(cat *i18n.Catalog, log *slog.Logger) (*renderer, error) {
	pages, err := parsedPages()
	if err != nil {
		return nil, err
	}
	return &renderer{pages: pages, cat: cat, log: log}, nil
}

// parsedPages checks the pages once per process: templates are safe for
// concurrent use once parsed, and Prepare starts the checking early.
var parsedPages = sync.OnceValues(parsePages)

// Prepare starts checking the pages in the background, so that the server
// can open its database meanwhile: a tenth of the time a start takes.
func Prepare() { go parsedPages() }

// parsePages checks that every page parses, so that a page that does not
// stops the start, and returns for each page what parses it on its first
// use: pages/settings_*.html inside the settings frame, the others inside
// the card frame; all inside base.html. Each page's set is a copy of its
// frame's (html/template escapes a set in place), about 110 KB of heap, so
// an idle server that kept all 28 held 3.2 MB (docs/BENCHMARKS.md, Idle
// memory); most nodes never show most pages.
func parsePages() (map[string]func() (*template.Template, error), error) {
	pages := map[string]func() (*template.Template, error){}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"isodate": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// textFile makes lines a download that needs no script and no
		// second request (recovery codes are never stored in the clear).
		"textFile": func(lines []string) template.URL {
			return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(strings.Join(lines, "\r\n")+"\r\n"))
		},
		// list makes a slice in a template: {{textFile (list .Password)}}.
		"list": func(s ...string) []string { return s },
		// args is the argument of a partial that takes several: the page
		// and names with values, {{template "secret-shown-once" (args $ "ID" "key" ...)}}.
		"args": func(p *page, kv ...any) (map[string]any, error) {
			m := map[string]any{"Page": p}
			for i := 0; i+1 < len(kv); i += 2 {
				name, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("args: name %v is not a string", kv[i])
				}
				m[name] = kv[i+1]
			}
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("args: %v has no value", kv[len(kv)-1])
			}
			return m, nil
		},
		"agent":       parseAgent,
		"reasonCodes": password.ReasonCodes,
		// The password limits and the link paths come from where they are
		// enforced and made, never from the templates.
		"minPasswordLength":  func() int { return password.MinLength },
		"maxCheckInputs":     func() int { return auth.MaxCheckInputs },
		"maxCheckInputBytes": func() int { return auth.MaxCheckInputBytes },
		"resetPasswordPath":  func() string { return auth.ResetPasswordPath },
		"setupPath":          func() string { return auth.SetupPath },
		"initial": func(s string) string {
			for _, r := range s {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
	}
	// The base, the partials and each frame are parsed once, on the first
	// use of a page in the frame; every page starts from a copy of its
	// frame's set (parsing them per page would cost a tenth of the
	// start-up time). The check parses each frame and drops it: the two
	// sets, kept from the start, held 0.2 MB of heap and, with the
	// catalogues, pinned 0.6 MB resident at idle (docs/BENCHMARKS.md, Idle
	// memory).
	frames := map[string]func() (*template.Template, error){}
	for _, frame := range []string{"templates/card.html", "templates/settings.html"} {
		parse := func() (*template.Template, error) {
			t, err := template.New("base.html").Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/partials.html", frame)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", frame, err)
			}
			return t, nil
		}
		if _, err := parse(); err != nil {
			return nil, err
		}
		frames[frame] = sync.OnceValues(parse)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		frame := "templates/card.html"
		if strings.HasPrefix(name, "settings_") {
			frame = "templates/settings.html"
		}
		parse := func() (*template.Template, error) {
			base, err := frames[frame]()
			if err != nil {
				return nil, err
			}
			t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
			if err != nil {
				return nil, fmt.Errorf("parse page %s: %w", name, err)
			}
			return t, nil
		}
		// The check parses the page alone (its syntax and functions):
		// parsing each into a copy of its frame left 1.5 MB more resident
		// at idle, start-up garbage pinning half-used heap spans.
		if _, err := template.New(path.Base(f)).Funcs(funcs).ParseFS(templateFS, f); err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		pages[name] = sync.OnceValues(parse)
	}
	return pages, nil
}

// page is what every template sees.
type page struct {
	Lang      string   // the language of the page
	Languages []string // every language offered
	// BrowserLang is the language the browser asks for (its cookie or
	// Accept-Language), which a user without a setting gets.
	BrowserLang string
	Title       string // a catalogue key
	Path        string // the page's URL, for the language links
	User        *gatehouse.User
	Nav         string // the sidebar item to highlight
	Flash       string // a success toast
	Error       string // an error toast
	ErrorCode   string // the code of Error, to mark the field it is about
	Reasons     []string
	Status      int
	// RetryAfter becomes the Retry-After header of a 429 or 503 page.
	RetryAfter time.Duration
	Form       map[string]string // values to show again after an error
	Next       string
	// RD is the forward-auth return address (/login?rd=) a login carries
	// through its steps: an absolute URL on a registered forward-auth
	// host, already checked, or empty.
	RD string
	// Passkeys is false when the public URL's host is an IP address, where
	// WebAuthn has no relying party: the pages say so instead.
	Passkeys bool
	Data     any

	cat *i18n.Catalog
}

// StepURL is a login step's page with the page's next and rd carried on.
func (p *page) StepURL(path string, extra ...string) template.URL {
	q := stepQuery(p.Next, p.RD)
	for i := 0; i+1 < len(extra); i += 2 {
		if q == "" {
			q = "?"
		} else {
			q += "&"
		}
		q += url.QueryEscape(extra[i]) + "=" + url.QueryEscape(extra[i+1])
	}
	return template.URL(path + q)
}

// T translates a catalogue key for this page's language.
func (p *page) T(key string, args ...any) string { return p.cat.T(p.Lang, key, args...) }

// passwordLimits fill the {min} and {max} of the catalogue's password
// messages from package password, which enforces them.
var passwordLimits = []any{"min", password.MinLength, "max", password.MaxBytes}

// Reason says a password rule's reason code in the page's language.
func (p *page) Reason(code string) string { return p.T("reason."+code, passwordLimits...) }

// IsAdmin tells the templates whether to show the admin pages.
func (p *page) IsAdmin() bool { return p.User != nil && p.User.Role == gatehouse.RoleAdmin }

// V returns a form value to show again.
func (p *page) V(name string) string { return p.Form[name] }

// browserLang is the language a browser asks for: the one chosen with the
// login page's switcher (the language cookie), else the best match of its
// Accept-Language.
func (rd *renderer) browserLang(r *http.Request) string {
	if c := rd.cookies.Get(r, httpx.LangCookieName); i18n.IsSupported(c) {
		return c
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// newPage starts a page for r, in the browser's language (pageFor uses
// the user's setting instead, when there is one).
func (rd *renderer) newPage(r *http.Request, title string) *page {
	lang := rd.browserLang(r)
	// The language links come back to the page as requested, query
	// included, so that the token of a reset or setup link survives.
	path := r.URL.Path
	if r.Method == http.MethodGet {
		path = r.URL.RequestURI()
	}
	return &page{Lang: lang, BrowserLang: lang, Languages: i18n.Supported, Title: title, Path: path, Form: map[string]string{},
		Status: http.StatusOK, cat: rd.cat}
}

// setError shows err on the page: the message of its code in the page's
// language, the password rules it broke, and its status.
func (p *page) setError(err error) {
	code := gatehouse.ErrorCode(err)
	p.ErrorCode = code
	p.Status = httpx.Status(code)
	if p.cat.Has(i18n.Default, "error."+code) {
		p.Error = p.T("error."+code, passwordLimits...)
	} else {
		p.Error = gatehouse.ErrorMessage(err)
	}
	p.Reasons = nil
	p.RetryAfter = 0
	if e := gatehouse.AsError(err); e != nil {
		p.RetryAfter = e.RetryAfter
		for _, r := range e.Reasons {
			if p.cat.Has(i18n.Default, "reason."+r.Code) {
				p.Reasons = append(p.Reasons, p.Reason(r.Code))
			} else {
				p.Reasons = append(p.Reasons, r.Message)
			}
		}
	}
}

// render writes the page. Pages show personal state, so none is cached.
func (rd *renderer) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	parse, ok := rd.pages[name]
	if !ok {
		rd.log.Error("no such page template", "page", name)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	t, err := parse()
	if err != nil {
		rd.log.Error("parse page", "page", name, "request_id", httpx.RequestID(r.Context()), "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base.html", p); err != nil {
		rd.log.Error("render page", "page", name, "request_id", httpx.RequestID(r.Context()), "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if p.RD != "" {
		allowReturn(w, p.RD)
	}
	if p.Next != "" && rd.appReturn != nil {
		if to := rd.appReturn(r, p.Next); to != "" {
			allowReturn(w, to)
		}
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(p.RetryAfter.Seconds()))))
	}
	w.WriteHeader(p.Status)
	buf.WriteTo(w)
}

// allowReturn lets the page's forms end at the forward-auth return address
// rd (already checked): browsers hold the redirect after a form's POST to
// the Content-Security-Policy's form-action, which is 'self' alone.
func allowReturn(w http.ResponseWriter, rd string) {
	u, err := url.Parse(rd)
	if err != nil || u.Host == "" {
		return
	}
	origin := strings.ToLower(u.Scheme) + "://" + u.Host
	if csp := w.Header().Get("Content-Security-Policy"); strings.Contains(csp, "form-action 'self'") {
		w.Header().Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+origin, 1))
	}
}

// Flash messages survive one redirect in a cookie (httpx.FlashCookieName)
// that holds only a known key, never text from the request.
var flashKeys = map[string]bool{
	"flash.password_reset":   true,
	"flash.password_changed": true,
	"flash.logged_out":       true,
	"flash.session_revoked":  true,
	"flash.app_revoked":      true,
	"flash.setup_done":       true,
	"flash.company_updated":  true,
	"flash.user_invited":     true,
	"flash.user_updated":     true,
	"flash.user_disabled":    true,
	"flash.user_enabled":     true,
	"flash.user_unlocked":    true,
	"flash.reset_link_sent":  true,
	"flash.totp_removed":     true,
	"flash.totp_disabled":    true,
	"flash.totp_cancelled":   true,
	"flash.language_saved":   true,
	"flash.webhook_enabled":  true,
	"flash.webhook_resent":   true,
	"flash.webhook_deleted":  true,
	"flash.app_deleted":      true,
	"flash.app_updated":      true,
	"flash.api_key_deleted":  true,
	"flash.passkey_added":    true,
	"flash.passkey_renamed":  true,
	"flash.passkey_removed":  true,
	"flash.passkeys_removed": true,
}

// setFlash shows the message key on the next page (a minute at most).
func (d deps) setFlash(w http.ResponseWriter, key string) {
	d.cookies.Set(w, httpx.FlashCookieName, key, time.Now().Add(time.Minute))
}

// takeFlash reads and clears the flash.
func (d deps) takeFlash(w http.ResponseWriter, r *http.Request) string {
	key := d.cookies.Get(r, httpx.FlashCookieName)
	if key == "" {
		return ""
	}
	d.cookies.Clear(w, httpx.FlashCookieName)
	if !flashKeys[key] {
		return ""
	}
	return key
}
