package api

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Routes registers every endpoint of the JSON API on mux.
func Routes(mux *http.ServeMux, svc *auth.Service, cookies httpx.Cookies, log *slog.Logger) {
	d := deps{svc: svc, cookies: cookies, log: log}

	mux.Handle("POST /api/v1/login", d.handleLogin())
	mux.Handle("POST /api/v1/login/totp", d.handleLoginTOTP())
	mux.Handle("POST /api/v1/login/password", d.handleLoginPassword())
	mux.Handle("POST /api/v1/login/totp-setup", d.handleLoginTOTPSetup())
	mux.Handle("POST /api/v1/login/totp-setup/confirm", d.handleLoginTOTPSetupConfirm())
	mux.Handle("POST /api/v1/logout", d.handleLogout())

	mux.Handle("GET /api/v1/me", d.handleMe())
	mux.Handle("POST /api/v1/me/password", d.handleChangePassword())
	mux.Handle("GET /api/v1/me/sessions", d.handleSessions())
	mux.Handle("DELETE /api/v1/me/sessions/{id}", d.handleRevokeSession())
	mux.Handle("POST /api/v1/me/totp", d.handleBeginTOTP())
	mux.Handle("POST /api/v1/me/totp/confirm", d.handleConfirmTOTP())
	mux.Handle("DELETE /api/v1/me/totp", d.handleDisableTOTP())
	mux.Handle("POST /api/v1/me/recovery-codes", d.handleRegenerateRecoveryCodes())
	mux.Handle("DELETE /api/v1/company/users/{id}/totp", d.handleRemoveUserTOTP())

	mux.Handle("POST /api/v1/password-reset", d.handlePasswordReset())
	mux.Handle("POST /api/v1/password-reset/confirm", d.handlePasswordResetConfirm())

	mux.Handle("GET /api/v1/openapi.json", handleOpenAPI())
	mux.Handle("/api/", d.handleNotFound())
}

// handleNotFound answers unknown API paths with a problem, not a page.
func (d deps) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, d.log, gatehouse.Errorf(gatehouse.ENotFound, "No such endpoint."))
	})
}

//go:embed openapi.json
var openAPI []byte

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
}
