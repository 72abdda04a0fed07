// Package server puts the JSON API and the pages behind one handler with
// what every request gets: a request ID and client address, security
// headers, cross-origin protection for unsafe methods, recovery from
// panics, access logs and metrics; and the operator's endpoints /healthz,
// /readyz and /metrics.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/api"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/oidcop"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/web"
)

// Config is what the handler needs besides the service.
type Config struct {
	PublicURL string
	// CookieDomain is --cookie-domain: the domain the session cookie is
	// set for, so that apps on its subdomains receive it (forward auth);
	// empty keeps it on the public URL's host.
	CookieDomain string
	Proxies      httpx.Proxies
	// MailState is the mail line of /readyz; nil leaves it out.
	MailState func() string
	// Sealer seals the OpenID Connect provider's access tokens; nil leaves
	// the provider out.
	Sealer *seal.Sealer
}

// New returns the handler of the whole site.
func New(svc *auth.Service, store gatehouse.Store, cat *i18n.Catalog, reg *metrics.Registry, cfg Config, log *slog.Logger) (http.Handler, error) {
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Scheme == "" || pub.Host == "" {
		return nil, fmt.Errorf("--public-url %q: want a URL such as https://login.example.com", cfg.PublicURL)
	}
	cookies := httpx.Cookies{Secure: pub.Scheme == "https"}
	if cfg.CookieDomain != "" {
		if err := CheckCookieDomain(cfg.CookieDomain, pub.Hostname()); err != nil {
			return nil, err
		}
		cookies.Domain = cfg.CookieDomain
	}

	mux := http.NewServeMux()
	api.Routes(mux, svc, cookies, log)
	if err := web.Routes(mux, svc, cookies, cat, log); err != nil {
		return nil, err
	}
	var provider *oidcop.Provider
	if cfg.Sealer != nil {
		if provider, err = oidcop.New(svc, cfg.Sealer, cfg.PublicURL, cookies, log); err != nil {
			return nil, err
		}
		oidcop.Routes(mux, provider)
	}
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(store, cfg.MailState))
	mux.Handle("GET /metrics", reg.Handler())

	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(pub.Scheme + "://" + pub.Host); err != nil {
		return nil, err
	}
	for _, pattern := range oidcop.CrossOriginPaths {
		cop.AddInsecureBypassPattern(pattern)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusForbidden, gatehouse.EForbidden, "Cross-origin request refused.")
	}))

	var h http.Handler = mux
	h = cop.Handler(h)
	h = withSecurityHeaders(cookies.Secure, h)
	h = recoverPanics(log, h)
	h = observe(reg, log, h)
	h = httpx.WithRequestInfo(cfg.Proxies, h)
	return h, nil
}

// CheckCookieDomain refuses a --cookie-domain that is not a lower-case
// host name, or that does not cover the public URL's host (a browser
// would refuse the cookie).
func CheckCookieDomain(domain, publicHost string) error {
	if _, err := auth.CheckForwardAuthHost(domain); err != nil || domain != strings.ToLower(strings.TrimSpace(domain)) ||
		!strings.Contains(domain, ".") {
		return fmt.Errorf("--cookie-domain %q: want a lower-case domain such as example.com, without a leading dot, scheme or port", domain)
	}
	if publicHost != domain && !strings.HasSuffix(publicHost, "."+domain) {
		return fmt.Errorf("--cookie-domain %q does not cover the --public-url host %q: the session cookie must reach Gatehouse too", domain, publicHost)
	}
	return nil
}

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

// handleReady answers 503 while the database does not answer, so that a
// load balancer sends requests elsewhere. A second line says how mail
// goes (see App.MailState); it never changes the status.
func handleReady(store gatehouse.Store, mailState func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		mail := ""
		if mailState != nil {
			mail = mailState() + "\n"
		}
		if err := store.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("database unavailable\n" + mail))
			return
		}
		w.Write([]byte("ready\n" + mail))
	})
}

func withSecurityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.SetSecurityHeaders(w.Header(), secure)
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a 500 and a log line with the request
// ID, instead of a dropped connection.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "method", r.Method, "path", r.URL.Path, "request_id", httpx.RequestID(r.Context()), "panic", v)
				writeProblem(w, http.StatusInternalServerError, gatehouse.EInternal, "Internal error.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func writeProblem(w http.ResponseWriter, status int, code, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "code": code})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts and times requests by route pattern and status, and logs
// the ones an operator should see: server errors at error level, the rest
// at debug.
func observe(reg *metrics.Registry, log *slog.Logger, next http.Handler) http.Handler {
	requests := reg.NewCounterVec("gatehouse_http_requests_total", "HTTP requests by status code.", "code")
	durations := reg.NewHistogram("gatehouse_http_request_duration_seconds", "HTTP request durations by route.", "route",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		// The mux records the pattern it matched in the request it was
		// given, which is r: no middleware below copies the request.
		route := r.Pattern
		if route == "" || strings.HasSuffix(route, "/") && route != "GET /{$}" {
			route = "other"
		}
		requests.Inc(statusCode(sw.status))
		durations.Observe(route, elapsed.Seconds())
		// A 500 is a fault to look into. A 503 is not: the handler that
		// answered it logged why (or, for a full hashing queue, the
		// summary of App.Serve does), and a flood must not become one
		// error line per refused request.
		level := slog.LevelDebug
		if sw.status >= 500 && sw.status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
		if log.Enabled(r.Context(), level) {
			log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration_ms", elapsed.Milliseconds(), "ip", httpx.ClientIPFrom(r), "request_id", httpx.RequestID(r.Context()))
		}
	})
}

// statusCode is strconv.Itoa for the statuses most answers have, without
// allocating.
func statusCode(status int) string {
	switch status {
	case http.StatusOK:
		return "200"
	case http.StatusNoContent:
		return "204"
	case http.StatusUnauthorized:
		return "401"
	}
	return strconv.Itoa(status)
}
