package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/password"
)

// What every page handler does with a request: describe the client to the
// service, require a session, read a form, show an error page, start a page.

// client describes the caller to the service.
// Its language is the browser's; mail to a user who chose a language
// uses theirs (auth decides).
func (d deps) client(r *http.Request) auth.Client {
	return auth.Client{IP: httpx.ClientIPFrom(r), UserAgent: r.UserAgent(), Lang: d.rd.browserLang(r)}
}

// signedIn wraps a page that needs a session; without one it sends the
// browser to the login page, which brings it back afterwards.
func (d deps) signedIn(h func(w http.ResponseWriter, r *http.Request, id *auth.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := d.svc.Authenticate(r.Context(), d.cookies.SessionToken(r))
		if gatehouse.ErrorCode(err) == gatehouse.EUnauthenticated {
			next := ""
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, loginURL(next), http.StatusSeeOther)
			return
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		h(w, r, id)
	})
}

func loginURL(next string) string {
	if next = safeNext(next); next == "" {
		return "/login"
	}
	return "/login?" + url.Values{"next": {next}}.Encode()
}

// safeNext keeps a redirect target only if it stays on this site: a path
// starting with one slash, no scheme, no host, no backslash (browsers read
// /\evil as //evil), no control characters.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return ""
	}
	// Never back into the login flow itself.
	if u.Path == "/login" || strings.HasPrefix(u.Path, "/login/") || u.Path == "/logout" {
		return ""
	}
	return next
}

// fail shows an error page for errors no form can show.
func (d deps) fail(w http.ResponseWriter, r *http.Request, err error) {
	gone := httpx.ClientGone(r, err)
	if gone {
		// Nobody will see the page; 503 keeps it out of the 500s.
		d.log.Debug("request ended by the client", "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "err", err)
		err = gatehouse.Errorf(gatehouse.EUnavailable, "The request ended before it was answered.")
	}
	p := d.rd.newPage(r, "title.error")
	p.setError(err)
	switch {
	case gone, errors.Is(err, password.ErrBusy): // a full queue is logged as a summary (server.App)
	case p.Status == http.StatusInternalServerError:
		d.log.Error("page failed", "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "err", err)
	case p.Status == http.StatusServiceUnavailable:
		d.log.Warn("page unavailable", "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "err", err)
	}
	d.rd.render(w, r, "error", p)
}

// maxFormBytes bounds every form a page takes, files included.
const maxFormBytes = 64 << 10

// form parses a POSTed form strictly: urlencoded or multipart, bounded, no
// NUL bytes. Multipart forms are parsed here too, so that their values
// pass the same checks before any handler reads them.
func form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return gatehouse.Errorf(gatehouse.EUnsupportedMediaType, "Send the form as a browser does.")
	}
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(maxFormBytes)
	} else {
		err = r.ParseForm()
	}
	if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
		return gatehouse.Errorf(gatehouse.ERequestTooLarge, "The form is larger than %d KiB.", maxFormBytes>>10)
	}
	if err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The form could not be read.")
	}
	for _, vs := range r.PostForm {
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				return gatehouse.Errorf(gatehouse.EInvalidRequest, "Text fields cannot contain NUL characters.")
			}
		}
	}
	return nil
}

// pageFor starts a page for r with the flash, if any, and the user, in
// the user's language when they chose one.
func (d deps) pageFor(w http.ResponseWriter, r *http.Request, title string, id *auth.Identity) *page {
	p := d.rd.newPage(r, title)
	p.Passkeys = d.svc.PasskeysAvailable() == nil
	if id != nil {
		p.User = id.User
		if i18n.IsSupported(id.User.Language) {
			p.Lang = id.User.Language
		}
	}
	if f := d.takeFlash(w, r); f != "" {
		p.Flash = p.T(f)
	}
	return p
}
