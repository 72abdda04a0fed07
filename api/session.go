package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// deps are what every handler may need.
type deps struct {
	svc     *auth.Service
	cookies httpx.Cookies
	log     *slog.Logger
}

// client describes the caller to the service.
func client(r *http.Request) auth.Client {
	return auth.Client{IP: httpx.ClientIPFrom(r), UserAgent: r.UserAgent(), Lang: i18n.Match(r.Header.Get("Accept-Language"))}
}

// handle adapts a handler that decodes a JSON body of type T and returns an
// error; an error becomes a problem response.
func handle[T any](d deps, h func(w http.ResponseWriter, r *http.Request, req T) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req T
		err := decode(r, &req)
		if err == nil {
			err = h(w, r, req)
		}
		if err != nil {
			writeError(w, r, d.log, err)
		}
	})
}

// authed is handle for calls that need a session (bearer token or cookie)
// or an API key (bearer). The caller is checked before the body is read.
func authed[T any](d deps, h func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error) http.Handler {
	return guarded(d, nil, h)
}

// guarded is authed with a check of the caller (such as
// auth.RequireAdmin), made before the body is read: a member is refused an
// admin's endpoint whatever the body, not told what is wrong with it.
func guarded[T any](d deps, allow func(*auth.Identity) error, h func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := d.identify(r)
		if err == nil && allow != nil {
			err = allow(id)
		}
		if err == nil {
			var req T
			if err = decode(r, &req); err == nil {
				err = h(w, r, id, req)
			}
		}
		if err != nil {
			writeError(w, r, d.log, err)
		}
	})
}

// identify authenticates the caller of r: an API key sent as a bearer
// token (gh_...), else a session. A key is admitted only where its scope
// (keyMayCall) lets it in; everywhere else it is refused before any
// handler runs, whatever the route, including routes added later.
func (d deps) identify(r *http.Request) (*auth.Identity, error) {
	if token := httpx.BearerToken(r); gatehouse.IsAPIKey(token) {
		id, err := d.svc.AuthenticateAPIKey(r.Context(), token, client(r))
		if err != nil {
			return nil, err
		}
		if !keyMayCall(id.Key, r.URL.Path) {
			return nil, gatehouse.Errorf(gatehouse.EForbidden, "An API key cannot call this endpoint.")
		}
		return id, nil
	}
	return d.svc.Authenticate(r.Context(), d.cookies.SessionToken(r))
}

// Where API keys are admitted: a company key acts as an admin of its
// company on every path under companyScope, and nothing else; an
// operator key provisions on every path under operatorScope, and nothing
// else.
const (
	companyScope  = "/api/v1/company"
	operatorScope = "/api/v1/companies"
)

// keyMayCall reports whether key k may call path. The path is the one
// the mux routed: it is cleaned before routing (a path with "..", "//" or
// "." is redirected, never served), so a prefix names what it says.
func keyMayCall(k *gatehouse.APIKey, path string) bool {
	scope := companyScope
	if k.Operator() {
		scope = operatorScope
	}
	return path == scope || strings.HasPrefix(path, scope+"/")
}

// none is the body of calls that take none.
type none struct{}
