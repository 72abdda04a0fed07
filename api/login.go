package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

type loginJSON struct {
	Status        string    `json:"status"`
	Challenge     string    `json:"challenge,omitempty"`
	Passkey       bool      `json:"passkey,omitempty"` // the second factor may be a passkey
	SessionToken  string    `json:"session_token,omitempty"`
	ExpiresAt     string    `json:"expires_at,omitempty"`
	User          *userJSON `json:"user,omitempty"`
	RecoveryCodes []string  `json:"recovery_codes,omitempty"`
}

// writeLogin answers a login step; an authenticated answer also sets the
// session cookie, so a browser's script can log in through the API.
func (d deps) writeLogin(w http.ResponseWriter, res *auth.LoginResult, err error) error {
	if err != nil {
		return err
	}
	out := loginJSON{Status: res.Status, Challenge: res.Challenge, Passkey: res.Passkey, RecoveryCodes: res.RecoveryCodes}
	if res.Status == auth.StatusAuthenticated {
		u := toUser(res.User)
		out.User = &u
		out.SessionToken = res.SessionToken
		out.ExpiresAt = timeString(res.Session.ExpiresAt)
		d.cookies.SetSession(w, res.SessionToken, res.Session.ExpiresAt)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type loginRequest struct {
	Email    string `json:"email" api:"required"`
	Password string `json:"password" api:"required"`
}

func (d deps) handleLogin() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req loginRequest) error {
		res, err := d.svc.Login(r.Context(), req.Email, req.Password, client(r))
		return d.writeLogin(w, res, err)
	})
}

type loginTOTPRequest struct {
	Challenge    string `json:"challenge" api:"required"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

func (d deps) handleLoginTOTP() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req loginTOTPRequest) error {
		res, err := d.svc.LoginTOTP(r.Context(), req.Challenge, req.Code, req.RecoveryCode, client(r))
		return d.writeLogin(w, res, err)
	})
}

type loginPasswordRequest struct {
	Challenge       string `json:"challenge" api:"required"`
	NewPassword     string `json:"new_password" api:"required"`
	ConfirmPassword string `json:"confirm_password" api:"required"`
}

func (d deps) handleLoginPassword() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req loginPasswordRequest) error {
		res, err := d.svc.LoginChangePassword(r.Context(), req.Challenge, req.NewPassword, req.ConfirmPassword, client(r))
		return d.writeLogin(w, res, err)
	})
}

type enrollmentJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      []byte `json:"qr_png"` // encoding/json writes bytes as standard base64
}

func toEnrollment(e *auth.Enrollment) enrollmentJSON {
	return enrollmentJSON{Secret: e.Secret, OTPAuthURI: e.URI, QRPNG: e.QRPNG}
}

type challengeRequest struct {
	Challenge string `json:"challenge" api:"required"`
}

func (d deps) handleLoginTOTPSetup() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req challengeRequest) error {
		en, err := d.svc.LoginTOTPSetup(r.Context(), req.Challenge, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toEnrollment(en))
		return nil
	})
}

type challengeCodeRequest struct {
	Challenge string `json:"challenge" api:"required"`
	Code      string `json:"code" api:"required"`
}

func (d deps) handleLoginTOTPSetupConfirm() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req challengeCodeRequest) error {
		res, err := d.svc.LoginTOTPSetupConfirm(r.Context(), req.Challenge, req.Code, client(r))
		return d.writeLogin(w, res, err)
	})
}

func (d deps) handleLogout() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.Logout(r.Context(), id, client(r)); err != nil {
			return err
		}
		d.cookies.ClearSession(w)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
