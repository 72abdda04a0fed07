package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// handleRemoveUserTOTP takes away a user's second factor (they lost it).
func (d deps) handleRemoveUserTOTP() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.RemoveUserTOTP(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
