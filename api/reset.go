package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

type resetRequest struct {
	Email string `json:"email" api:"required"`
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
	Token           string `json:"token" api:"required"`
	NewPassword     string `json:"new_password" api:"required"`
	ConfirmPassword string `json:"confirm_password" api:"required"`
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

type passwordCheckRequest struct {
	Password   string   `json:"password" api:"required"`
	UserInputs []string `json:"user_inputs"`
}

// passwordCheckJSON is the policy's verdict on a password: reasons in
// English, reason_codes for translation, in the same order.
type passwordCheckJSON struct {
	Acceptable  bool     `json:"acceptable"`
	Reasons     []string `json:"reasons"`
	ReasonCodes []string `json:"reason_codes"`
}

// handlePasswordCheck is the live strength meter of the pages. A session,
// when there is one, adds the caller's own name, email and company; an
// invalid one is ignored, since the answer needs none.
func (d deps) handlePasswordCheck() http.Handler {
	return handle(d, func(w http.ResponseWriter, r *http.Request, req passwordCheckRequest) error {
		var id *auth.Identity
		if token := d.cookies.SessionToken(r); token != "" {
			id, _ = d.svc.Authenticate(r.Context(), token)
		}
		reasons, err := d.svc.CheckPasswordStrength(r.Context(), id, req.Password, req.UserInputs, client(r))
		if err != nil {
			return err
		}
		out := passwordCheckJSON{Acceptable: len(reasons) == 0, Reasons: []string{}, ReasonCodes: []string{}}
		for _, rs := range reasons {
			out.Reasons = append(out.Reasons, rs.Message)
			out.ReasonCodes = append(out.ReasonCodes, rs.Code)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
