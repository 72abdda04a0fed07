package api

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// The forward-auth endpoints (../shared/API.md, "Forward auth (reverse
// proxies)"): a reverse proxy asks before each request to an app it
// protects. The request that reaches them is the proxy's copy of the
// original one: its cookies, Accept and Authorization are the browser's,
// and headers say which URL it was for. The rules are auth.ForwardAuth's.

// The identity headers of a 200, every one on every 200 (empty when the
// value is).
const (
	HeaderRemoteUser      = "Remote-User" // the email
	HeaderRemoteEmail     = "Remote-Email"
	HeaderRemoteName      = "Remote-Name"
	HeaderRemoteGroups    = "Remote-Groups" // the role
	HeaderRemoteUserID    = "Remote-User-Id"
	HeaderRemoteCompanyID = "Remote-Company-Id"
)

// originalRequest is what a proxy says about the request it asks for.
type originalRequest struct {
	method string
	host   string // as sent: any case, maybe with a port
	url    string // the whole URL, for the return after login
}

// handleForwardAuth is for Traefik's ForwardAuth and Caddy's forward_auth:
// X-Forwarded-Method, -Proto, -Host and -Uri describe the original
// request. Without a session, a browser's navigation (GET or HEAD that
// accepts text/html) is sent to the login page with 302, anything else
// answers 401.
func (d deps) handleForwardAuth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orig, err := forwardedRequest(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		d.forwardAuth(w, r, orig, func(login string) {
			if (orig.method == http.MethodGet || orig.method == http.MethodHead) && acceptsHTML(r) {
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, login, http.StatusFound)
				return
			}
			w.Header().Set("Location", login)
			writeError(w, r, d.log, gatehouse.Errorf(gatehouse.EUnauthenticated, "Please log in."))
		})
	})
}

// handleAuthRequest is for nginx's auth_request: X-Original-URL and
// X-Original-Method describe the original request. nginx passes on only
// 2xx, 401 and 403, so without a session it always answers 401 with the
// login page in Location, which the configuration's error_page turns into
// a redirect (docs/DEPLOYMENT.md).
func (d deps) handleAuthRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orig, err := originalURLRequest(r)
		if err != nil {
			writeError(w, r, d.log, err)
			return
		}
		d.forwardAuth(w, r, orig, func(login string) {
			w.Header().Set("Location", login)
			writeError(w, r, d.log, gatehouse.Errorf(gatehouse.EUnauthenticated, "Please log in."))
		})
	})
}

// forwardAuth answers the check of orig; unauthenticated answers a request
// without a live session, with the login page that returns to orig.
func (d deps) forwardAuth(w http.ResponseWriter, r *http.Request, orig originalRequest, unauthenticated func(login string)) {
	token := ""
	if ck, err := r.Cookie(d.cookies.SessionName()); err == nil {
		token = ck.Value
	}
	res, err := d.svc.ForwardAuth(r.Context(), orig.host, token)
	if err != nil {
		writeError(w, r, d.log, err)
		return
	}
	switch res.Outcome {
	case auth.ForwardAuthUnknownHost:
		writeError(w, r, d.log, gatehouse.Errorf(gatehouse.EForbidden, "No application is registered for this host."))
	case auth.ForwardAuthUnauthenticated:
		unauthenticated(d.svc.LoginURL(orig.url))
	case auth.ForwardAuthNotAdmitted:
		msg := "This application does not admit you."
		if res.Reason == auth.NotAdmittedMFA {
			// The session signed in without a second factor: a new login
			// through this page asks for it (or sets one up first).
			msg = "This application requires a sign-in with a second factor: sign in again at " + d.svc.LoginURL(orig.url) + "."
		}
		writeError(w, r, d.log, gatehouse.Errorf(gatehouse.EForbidden, "%s", msg))
	case auth.ForwardAuthAllowed:
		writeIdentity(w, res.User)
	}
}

// writeIdentity answers 200 with the identity headers of u, each once
// (whatever the request held: these are the answer's headers, never the
// request's), and none that only a browser reads, since only the proxy
// reads this answer (httpx.DropSecurityHeaders). It runs on every proxied
// request, so the values share one allocation.
func writeIdentity(w http.ResponseWriter, u *gatehouse.User) {
	h := w.Header()
	httpx.DropSecurityHeaders(h)
	h["Cache-Control"] = noStore
	email := headerValue(u.Email)
	vals := []string{email, email, headerValue(u.Name), string(u.Role), u.ID, u.CompanyID}
	for i, name := range [...]string{HeaderRemoteUser, HeaderRemoteEmail, HeaderRemoteName, HeaderRemoteGroups,
		HeaderRemoteUserID, HeaderRemoteCompanyID} {
		h[name] = vals[i : i+1 : i+1]
	}
	w.WriteHeader(http.StatusOK)
}

// headerValue keeps a value on one header line: control characters (which
// names and emails cannot hold anyway) become spaces.
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func errBadForward(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.EInvalidRequest, format, args...)
}

// forwardedRequest reads Traefik's and Caddy's X-Forwarded-* headers. The
// host is required; a missing proto means https, a missing URI "/".
func forwardedRequest(r *http.Request) (originalRequest, error) {
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		return originalRequest{}, errBadForward("X-Forwarded-Host is missing: the proxy must say which host the request was for.")
	}
	proto := strings.ToLower(r.Header.Get("X-Forwarded-Proto"))
	switch proto {
	case "":
		proto = "https"
	case "http", "https":
	default:
		return originalRequest{}, errBadForward("X-Forwarded-Proto must be http or https.")
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = "/"
	}
	if !strings.HasPrefix(uri, "/") {
		return originalRequest{}, errBadForward("X-Forwarded-Uri must be a path starting with /.")
	}
	return originalRequest{method: strings.ToUpper(r.Header.Get("X-Forwarded-Method")), host: host,
		url: proto + "://" + host + uri}, nil
}

// originalURLRequest reads nginx's X-Original-URL and X-Original-Method.
func originalURLRequest(r *http.Request) (originalRequest, error) {
	raw := r.Header.Get("X-Original-URL")
	if raw == "" {
		return originalRequest{}, errBadForward("X-Original-URL is missing: the proxy must send the original request's URL.")
	}
	host, ok := auth.URLAuthority(raw)
	if !ok {
		return originalRequest{}, errBadForward("X-Original-URL must be an absolute http or https URL.")
	}
	if host == "" {
		return originalRequest{}, errBadForward("X-Original-URL must name a host.")
	}
	return originalRequest{method: strings.ToUpper(r.Header.Get("X-Original-Method")), host: host, url: raw}, nil
}

// acceptsHTML reports whether the original request takes an HTML page: a
// browser's navigation.
func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}
