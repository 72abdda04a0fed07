package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// handleRemoveUserTOTP is an admin removing a user's 2FA (a lost phone).
func (d deps) handleRemoveUserTOTP() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.RemoveUserTOTP(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
