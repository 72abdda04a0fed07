package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

type passwordRequest struct {
	Password string `json:"password"`
}

type codeRequest struct {
	Code string `json:"code" api:"required"`
}

type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// handleBeginTOTP starts enrollment: a new secret every time. The answer
// holds the secret, so writeJSON's no-store matters here.
func (d deps) handleBeginTOTP() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req passwordRequest) error {
		en, err := d.svc.BeginTOTPEnrollment(r.Context(), id, req.Password, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toEnrollment(en))
		return nil
	})
}

func (d deps) handleConfirmTOTP() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req codeRequest) error {
		codes, err := d.svc.ConfirmTOTP(r.Context(), id, req.Code, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
		return nil
	})
}

func (d deps) handleDisableTOTP() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req passwordRequest) error {
		if err := d.svc.DisableTOTP(r.Context(), id, req.Password, client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (d deps) handleRegenerateRecoveryCodes() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req passwordRequest) error {
		codes, err := d.svc.RegenerateRecoveryCodes(r.Context(), id, req.Password, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
		return nil
	})
}
