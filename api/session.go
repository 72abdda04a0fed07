package api

import (
	"log/slog"
	"net/http"

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

// authed is handle for calls that need a session (bearer token or cookie).
// The session is checked before the body is read.
func authed[T any](d deps, h func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error) http.Handler {
	return guarded(d, nil, h)
}

// guarded is authed with a check of the caller (such as
// auth.RequireAdmin), made before the body is read: a member is refused an
// admin's endpoint whatever the body, not told what is wrong with it.
func guarded[T any](d deps, allow func(*auth.Identity) error, h func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := d.svc.Authenticate(r.Context(), d.cookies.SessionToken(r))
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

// none is the body of calls that take none.
type none struct{}
