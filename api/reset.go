package api

import (
	"net/http"
)

type resetRequest struct {
	Email string `json:"email"`
}

// handlePasswordReset answers 202 whether or not the email is known.
func (d deps) handlePasswordReset() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req resetRequest) error {
		if err := d.svc.RequestPasswordReset(r.Context(), req.Email, client(r)); err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, struct {
			Message string `json:"message"`
		}{"If an account exists for that address, we sent a link to reset the password."})
		return nil
	})
}

type resetConfirmRequest struct {
	Token           string `json:"token"`
	NewPassword     string `json:"new_password"`
	ConfirmPassword string `json:"confirm_password"`
}

func (d deps) handlePasswordResetConfirm() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req resetConfirmRequest) error {
		if err := d.svc.ResetPassword(r.Context(), req.Token, req.NewPassword, req.ConfirmPassword, client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
