package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Router is what Routes registers endpoints on: an *http.ServeMux, or the
// recorder behind Endpoints.
type Router interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Routes registers every endpoint of the JSON API on mux. Endpoints calls
// it with a nil svc to list the routes, so building a handler must not
// call svc (only running it may). Document each new endpoint in
// openapi.json: TestOpenAPIMatchesRoutes checks.
func Routes(mux Router, svc *auth.Service, cookies httpx.Cookies, log *slog.Logger) {
	d := deps{svc: svc, cookies: cookies, log: log}

	mux.Handle("POST /api/v1/login", d.handleLogin())
	mux.Handle("POST /api/v1/login/totp", d.handleLoginTOTP())
	mux.Handle("POST /api/v1/login/password", d.handleLoginPassword())
	mux.Handle("POST /api/v1/login/totp-setup", d.handleLoginTOTPSetup())
	mux.Handle("POST /api/v1/login/totp-setup/confirm", d.handleLoginTOTPSetupConfirm())
	mux.Handle("POST /api/v1/login/passkey/begin", d.handleBeginPasskeyLogin())
	mux.Handle("POST /api/v1/login/passkey", d.handlePasskeyLogin())
	mux.Handle("POST /api/v1/login/passkey-2fa/begin", d.handleBeginPasskeySecondFactor())
	mux.Handle("POST /api/v1/login/passkey-2fa", d.handlePasskeySecondFactor())
	mux.Handle("POST /api/v1/logout", d.handleLogout())

	mux.Handle("GET /api/v1/me", d.handleMe())
	mux.Handle("POST /api/v1/me/password", d.handleChangePassword())
	mux.Handle("GET /api/v1/me/sessions", d.handleSessions())
	mux.Handle("DELETE /api/v1/me/sessions/{id}", d.handleRevokeSession())
	mux.Handle("POST /api/v1/me/totp", d.handleBeginTOTP())
	mux.Handle("POST /api/v1/me/totp/confirm", d.handleConfirmTOTP())
	mux.Handle("DELETE /api/v1/me/totp", d.handleDisableTOTP())
	mux.Handle("POST /api/v1/me/recovery-codes", d.handleRegenerateRecoveryCodes())
	mux.Handle("GET /api/v1/me/passkeys", d.handleListPasskeys())
	mux.Handle("POST /api/v1/me/passkeys/begin", d.handleBeginPasskeyRegistration())
	mux.Handle("POST /api/v1/me/passkeys", d.handleAddPasskey())
	mux.Handle("POST /api/v1/me/passkeys/reauth", d.handleBeginPasskeyReauth())
	mux.Handle("PATCH /api/v1/me/passkeys/{id}", d.handleRenamePasskey())
	mux.Handle("DELETE /api/v1/me/passkeys/{id}", d.handleRemovePasskey())

	mux.Handle("POST /api/v1/password-reset", d.handlePasswordReset())
	mux.Handle("POST /api/v1/password-reset/confirm", d.handlePasswordResetConfirm())
	mux.Handle("POST /api/v1/password-check", d.handlePasswordCheck())

	mux.Handle("GET /api/v1/company", d.handleCompany())
	mux.Handle("PATCH /api/v1/company", d.handleUpdateCompany())
	mux.Handle("GET /api/v1/company/users", d.handleListUsers())
	mux.Handle("POST /api/v1/company/users", d.handleInviteUser())
	mux.Handle("GET /api/v1/company/users/{id}", d.handleGetUser())
	mux.Handle("PATCH /api/v1/company/users/{id}", d.handleUpdateUser())
	mux.Handle("POST /api/v1/company/users/{id}/password-reset", d.handleAdminPasswordReset())
	mux.Handle("POST /api/v1/company/users/{id}/unlock", d.handleUnlockUser())
	mux.Handle("DELETE /api/v1/company/users/{id}/totp", d.handleRemoveUserTOTP())
	mux.Handle("DELETE /api/v1/company/users/{id}/passkeys", d.handleRemoveUserPasskeys())
	mux.Handle("GET /api/v1/company/audit-events", d.handleAuditEvents())
	mux.Handle("GET /api/v1/company/audit-events/export", d.handleExportAudit())
	mux.Handle("GET /api/v1/company/webhooks", d.handleListWebhooks())
	mux.Handle("POST /api/v1/company/webhooks", d.handleCreateWebhook())
	mux.Handle("GET /api/v1/company/webhooks/{id}", d.handleGetWebhook())
	mux.Handle("DELETE /api/v1/company/webhooks/{id}", d.handleDeleteWebhook())
	mux.Handle("POST /api/v1/company/webhooks/{id}/rotate-secret", d.handleRotateWebhookSecret())
	mux.Handle("POST /api/v1/company/webhooks/{id}/enable", d.handleEnableWebhook())
	mux.Handle("POST /api/v1/company/webhooks/{id}/deliveries/{delivery_id}/resend", d.handleResendDelivery())

	mux.Handle("GET /api/v1/company/apps", d.handleListApps())
	mux.Handle("POST /api/v1/company/apps", d.handleCreateApp())
	mux.Handle("PATCH /api/v1/company/apps/{client_id}", d.handleUpdateApp())
	mux.Handle("DELETE /api/v1/company/apps/{client_id}", d.handleDeleteApp())

	mux.Handle("GET /api/v1/company/api-keys", d.handleListAPIKeys())
	mux.Handle("POST /api/v1/company/api-keys", d.handleCreateAPIKey())
	mux.Handle("DELETE /api/v1/company/api-keys/{id}", d.handleDeleteAPIKey())

	mux.Handle("GET /api/v1/companies", d.handleListCompanies())
	mux.Handle("POST /api/v1/companies", d.handleProvisionCompany())
	mux.Handle("POST /api/v1/companies/{id}/api-keys", d.handleMintCompanyKey())

	// Forward auth: asked by reverse proxies, outside /api/v1.
	mux.Handle("GET /authz/forward-auth", d.handleForwardAuth())
	mux.Handle("GET /authz/auth-request", d.handleAuthRequest())

	mux.Handle("GET /api/v1/openapi.json", handleOpenAPI())
	mux.Handle("/api/", d.handleNotFound(mux))
}

// catchAll is the pattern of handleNotFound.
const catchAll = "/api/"

// Endpoints returns the pattern of every endpoint Routes registers, such as
// "POST /api/v1/login", in the order registered: the list the OpenAPI
// document must match.
func Endpoints() []string {
	var rec recorder
	Routes(&rec, nil, httpx.Cookies{}, slog.New(slog.DiscardHandler))
	return rec.patterns
}

type recorder struct{ patterns []string }

func (rec *recorder) Handle(pattern string, _ http.Handler) {
	if pattern != catchAll {
		rec.patterns = append(rec.patterns, pattern)
	}
}

func (rec *recorder) HandleFunc(pattern string, _ func(http.ResponseWriter, *http.Request)) {
	rec.Handle(pattern, nil)
}

// handleNotFound answers unknown API paths with a problem, not a page: 405
// with Allow when the path exists for other methods, else 404.
func (d deps) handleNotFound(mux Router) http.Handler {
	lookup, _ := mux.(interface {
		Handler(r *http.Request) (http.Handler, string)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allowed := allowedMethods(lookup, r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, r, d.log, gatehouse.Errorf(gatehouse.EMethodNotAllowed, "This endpoint does not take %s.", r.Method))
			return
		}
		writeError(w, r, d.log, gatehouse.Errorf(gatehouse.ENotFound, "No such endpoint."))
	})
}

// allowedMethods lists the methods for which mux routes r's path to an
// endpoint.
func allowedMethods(mux interface {
	Handler(r *http.Request) (http.Handler, string)
}, r *http.Request) []string {
	if mux == nil {
		return nil
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != catchAll && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

//go:embed openapi.json
var openAPI []byte

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
}

// Document returns the OpenAPI document served at /api/v1/openapi.json: the
// one the test clients check every request and answer against.
func Document() []byte { return append([]byte(nil), openAPI...) }
