package web

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// Passkeys on the pages. The ceremonies need navigator.credentials, so
// adding a passkey and signing in with one need the page's script
// (static/passkeys.js); renaming and removing work without it. The script
// asks the JSON API for a ceremony's options and posts the browser's
// answer to these pages as a form, so that a sign-in follows the same
// redirects, cookies and error pages as the password's.

// passkeysData is the profile's Passkeys section.
type passkeysData struct {
	List []*gatehouse.Passkey
	// NeedsPassword: adding or removing one asks for the password (or,
	// to remove, another passkey), because the session's login is older
	// than auth.ReauthWindow.
	NeedsPassword bool
}

// passkeyForm handles a POST of the profile's Passkeys section.
func (d deps) passkeyForm(w http.ResponseWriter, r *http.Request, id *auth.Identity, flash string, act func() error) {
	d.profileForm(w, r, id, act, func() {
		d.setFlash(w, flash)
		http.Redirect(w, r, "/settings/profile#passkeys", http.StatusSeeOther)
	})
}

func (d deps) handleRenamePasskey(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.passkeyForm(w, r, id, "flash.passkey_renamed", func() error {
		return d.svc.RenamePasskey(r.Context(), id, r.PathValue("id"), r.PostFormValue("name"), d.client(r))
	})
}

func (d deps) handleRemovePasskey(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.passkeyForm(w, r, id, "flash.passkey_removed", func() error {
		re := auth.Reauth{Password: r.PostFormValue("password")}
		if v := r.PostFormValue("passkey"); v != "" {
			re.Passkey = []byte(v)
		}
		return d.svc.RemovePasskey(r.Context(), id, r.PathValue("id"), re, d.client(r))
	})
}

// handlePasskeyLogin signs in with the answer to a passkey sign-in that
// the login page's script began (POST /api/v1/login/passkey/begin).
func (d deps) handlePasskeyLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.loginPost(w, r, func(*page, *gatehouse.Application) (*auth.LoginResult, error) {
			return d.svc.FinishPasskeyLogin(r.Context(), []byte(r.PostFormValue("credential")), d.client(r))
		})
	})
}

// handleSecondFactorOptions begins a passkey as the second factor of the
// login in progress (its challenge is in a cookie the script cannot read)
// and answers the options as JSON.
func (d deps) handleSecondFactorOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An empty form, as the script posts it: a body is refused like
		// any form's.
		err := form(w, r)
		var opts auth.PasskeyOptions
		if err == nil {
			opts, err = d.svc.BeginPasskeySecondFactor(r.Context(), d.cookies.Challenge(r), d.client(r))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			// The script shows the title; the page's own refusals are
			// in the contract's problem form.
			code := gatehouse.ErrorCode(err)
			if code == gatehouse.EInternal {
				d.log.Error("passkey options failed", "request_id", httpx.RequestID(r.Context()), "err", err)
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(httpx.Status(code))
			json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": gatehouse.ErrorMessage(err),
				"status": httpx.Status(code), "code": code})
			return
		}
		json.NewEncoder(w).Encode(struct {
			Options json.RawMessage `json:"options"`
		}{json.RawMessage(opts)})
	})
}

func (d deps) handleSecondFactorPasskey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.challengeStep(w, r, "login_2fa", "title.login_2fa", func(ch string) (*auth.LoginResult, error) {
			return d.svc.FinishPasskeySecondFactor(r.Context(), ch, []byte(r.PostFormValue("credential")), d.client(r))
		}, d.fillSecondFactor(r, false))
	})
}

// loginFactorsData is what /login/2fa offers: the app's code (or a
// recovery code) and the passkey, as the user has them.
type loginFactorsData struct {
	Recovery bool // the recovery code form, not the app's
	TOTP     bool
	Passkey  bool
}

func (d deps) fillSecondFactor(r *http.Request, recovery bool) func(p *page) error {
	return func(p *page) error {
		totp, passkey, err := d.svc.LoginSecondFactors(r.Context(), d.cookies.Challenge(r))
		if err != nil {
			return err
		}
		p.Data = loginFactorsData{Recovery: recovery && totp, TOTP: totp, Passkey: passkey}
		return nil
	}
}

func (d deps) handleUserRemovePasskeys() http.Handler {
	return d.userAction("flash.passkeys_removed", confirmRemovePasskeys, func(r *http.Request, id *auth.Identity, userID string) error {
		return d.svc.RemoveUserPasskeys(r.Context(), id, userID, d.client(r))
	})
}
