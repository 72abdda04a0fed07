package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/oidcop"
)

//go:embed static
var staticFS embed.FS

// deps are what every page handler may need.
type deps struct {
	svc     *auth.Service
	cookies httpx.Cookies
	rd      *renderer
	log     *slog.Logger
}

// Router is what Routes registers pages on: an *http.ServeMux, or the
// recorder behind Endpoints.
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Routes registers every page on mux. It fails when a template does not
// parse. Endpoints calls it with a nil svc to list the routes, so building
// a handler must not call svc (only running it may).
func Routes(mux Router, svc *auth.Service, cookies httpx.Cookies, cat *i18n.Catalog, log *slog.Logger) error {
	rd, err := newRenderer(cat, log)
	if err != nil {
		return err
	}
	rd.cookies = cookies
	d := deps{svc: svc, cookies: cookies, rd: rd, log: log}
	rd.appReturn = d.appReturn

	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	mux.Handle("GET /{$}", d.handleHome())
	mux.Handle("GET /lang/{lang}", d.handleLanguage())

	mux.Handle("GET /login", d.handleLoginPage())
	mux.Handle("POST /login", d.handleLogin())
	mux.Handle("GET /login/2fa", d.handleTOTPPage())
	mux.Handle("POST /login/2fa", d.handleTOTP())
	mux.Handle("POST /login/2fa/passkey/options", d.handleSecondFactorOptions())
	mux.Handle("POST /login/2fa/passkey", d.handleSecondFactorPasskey())
	mux.Handle("POST /login/passkey", d.handlePasskeyLogin())
	mux.Handle("GET /login/change-password", d.handleForcedChangePage())
	mux.Handle("POST /login/change-password", d.handleForcedChange())
	mux.Handle("GET /login/setup-2fa", d.handleForcedSetupPage())
	mux.Handle("POST /login/setup-2fa/start", d.handleForcedSetupStart())
	mux.Handle("POST /login/setup-2fa", d.handleForcedSetup())
	mux.Handle("POST /logout", d.handleLogout())

	mux.Handle("GET /forgot-password", d.handleForgotPage())
	mux.Handle("POST /forgot-password", d.handleForgot())
	// The pages of the links auth mails and prints.
	mux.Handle("GET "+auth.ResetPasswordPath, d.handleResetPage())
	mux.Handle("POST "+auth.ResetPasswordPath, d.handleReset())

	mux.Handle("GET "+auth.SetupPath, d.handleSetupPage())
	mux.Handle("POST "+auth.SetupPath, d.handleSetup())

	mux.Handle("GET /settings", http.RedirectHandler("/settings/profile", http.StatusSeeOther))
	mux.Handle("GET /settings/profile", d.signedIn(d.handleProfile))
	mux.Handle("POST /settings/language", d.signedIn(d.handleLanguageSetting))
	mux.Handle("POST /settings/totp", d.signedIn(d.handleBeginTOTP))
	mux.Handle("POST /settings/totp/confirm", d.signedIn(d.handleConfirmTOTP))
	mux.Handle("POST /settings/totp/cancel", d.signedIn(d.handleCancelTOTP))
	mux.Handle("POST /settings/totp/disable", d.signedIn(d.handleDisableTOTP))
	mux.Handle("POST /settings/recovery-codes", d.signedIn(d.handleRegenerateRecoveryCodes))
	mux.Handle("POST /settings/passkeys/{id}/rename", d.signedIn(d.handleRenamePasskey))
	mux.Handle("POST /settings/passkeys/{id}/remove", d.signedIn(d.handleRemovePasskey))
	mux.Handle("GET /settings/password", d.signedIn(d.handlePasswordPage))
	mux.Handle("POST /settings/password", d.signedIn(d.handlePassword))
	mux.Handle("GET /settings/sessions", d.signedIn(d.handleSessions))
	mux.Handle("POST /settings/sessions/{id}/revoke", d.signedIn(d.handleRevokeSession))
	mux.Handle("GET /settings/connected-apps", d.signedIn(d.handleConnectedApps))
	mux.Handle("POST /settings/connected-apps/{client_id}/revoke", d.signedIn(d.handleRevokeConnectedApp))
	mux.Handle("GET "+oidcop.ConsentPath, d.signedIn(d.handleConsentPage))
	mux.Handle("POST "+oidcop.ConsentPath, d.signedIn(d.handleConsent))

	mux.Handle("GET /settings/company", d.adminPage(d.handleCompanyPage))
	mux.Handle("POST /settings/company", d.adminForm(d.handleCompanyUpdate))
	mux.Handle("GET /settings/users", d.adminPage(d.handleUsersPage))
	mux.Handle("GET /settings/users/new", d.adminPage(d.handleInvitePage))
	mux.Handle("POST /settings/users", d.adminForm(d.handleInvite))
	mux.Handle("GET /settings/users/{id}", d.adminPage(d.handleUserPage))
	mux.Handle("POST /settings/users/{id}", d.handleUserUpdate())
	mux.Handle("POST /settings/users/{id}/disable", d.handleUserDisabled(true))
	mux.Handle("POST /settings/users/{id}/enable", d.handleUserDisabled(false))
	mux.Handle("POST /settings/users/{id}/unlock", d.handleUserUnlock())
	mux.Handle("POST /settings/users/{id}/remove-2fa", d.handleUserRemoveTOTP())
	mux.Handle("POST /settings/users/{id}/remove-passkeys", d.handleUserRemovePasskeys())
	mux.Handle("GET /settings/users/{id}/reset-password", d.adminPage(d.handleResetUserPage))
	mux.Handle("POST /settings/users/{id}/reset-password", d.adminForm(d.handleResetUser))
	mux.Handle("GET /settings/audit", d.adminPage(d.handleAuditPage))
	mux.Handle("GET "+auth.WebhooksPath, d.adminPage(d.handleWebhooksPage))
	mux.Handle("POST "+auth.WebhooksPath, d.adminForm(d.handleCreateWebhook))
	mux.Handle("GET "+auth.WebhooksPath+"/{id}", d.adminPage(d.handleWebhookPage))
	mux.Handle("POST "+auth.WebhooksPath+"/{id}/rotate", d.adminForm(d.handleRotateWebhook))
	mux.Handle("POST "+auth.WebhooksPath+"/{id}/enable", d.handleEnableWebhook())
	mux.Handle("POST "+auth.WebhooksPath+"/{id}/delete", d.adminForm(d.handleDeleteWebhook))
	mux.Handle("POST "+auth.WebhooksPath+"/{id}/deliveries/{delivery_id}/resend", d.handleResendDelivery())
	mux.Handle("GET "+auth.ApplicationsPath, d.adminPage(d.handleAppsPage))
	mux.Handle("POST "+auth.ApplicationsPath, d.adminForm(d.handleCreateApp))
	mux.Handle("GET "+auth.ApplicationsPath+"/{client_id}", d.adminPage(d.handleAppPage))
	mux.Handle("POST "+auth.ApplicationsPath+"/{client_id}", d.adminForm(d.handleUpdateApp))
	mux.Handle("POST "+auth.ApplicationsPath+"/{client_id}/delete", d.adminForm(d.handleDeleteApp))
	mux.Handle("GET "+auth.APIKeysPath, d.adminPage(d.handleAPIKeysPage))
	mux.Handle("POST "+auth.APIKeysPath, d.adminForm(d.handleCreateAPIKey))
	mux.Handle("POST "+auth.APIKeysPath+"/{id}/delete", d.adminForm(d.handleDeleteAPIKey))
	return nil
}

// Endpoints returns the pattern of every page Routes registers, such as
// "POST /login", in the order registered: the list that security tests walk,
// so that a page added later is attacked too without anyone remembering to.
func Endpoints() []string {
	var rec recorder
	if err := Routes(&rec, nil, httpx.Cookies{}, nil, slog.New(slog.DiscardHandler)); err != nil {
		panic(err) // the templates are embedded: a test of Routes fails first
	}
	return rec.patterns
}

type recorder struct{ patterns []string }

func (rec *recorder) Handle(pattern string, _ http.Handler) {
	rec.patterns = append(rec.patterns, pattern)
}

// staticHandler serves the embedded assets; they change only with the
// binary, so a short cache is safe.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
