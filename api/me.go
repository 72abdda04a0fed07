package api

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

func (d deps) handleMe() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		writeJSON(w, http.StatusOK, toUser(id.User))
		return nil
	})
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password" api:"required"`
	NewPassword     string `json:"new_password" api:"required"`
	ConfirmPassword string `json:"confirm_password" api:"required"`
}

func (d deps) handleChangePassword() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req changePasswordRequest) error {
		token, err := d.svc.ChangePassword(r.Context(), id, req.CurrentPassword, req.NewPassword, req.ConfirmPassword,
			d.cookies.SessionInCookie(r), client(r))
		if err != nil {
			return err
		}
		if token != "" {
			d.cookies.SetSession(w, token, id.Session.ExpiresAt)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type sessionJSON struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	ExpiresAt  string `json:"expires_at"`
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
	Current    bool   `json:"current"`
}

func (d deps) handleSessions() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		list, err := d.svc.Sessions(r.Context(), id)
		if err != nil {
			return err
		}
		out := struct {
			Sessions []sessionJSON `json:"sessions"`
		}{Sessions: []sessionJSON{}}
		for _, s := range list {
			out.Sessions = append(out.Sessions, sessionJSON{ID: s.ID, CreatedAt: timeString(s.CreatedAt),
				LastSeenAt: timeString(s.LastSeenAt), ExpiresAt: timeString(s.ExpiresAt), IP: s.IP, UserAgent: s.UserAgent,
				Current: s.ID == id.Session.ID})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func (d deps) handleRevokeSession() http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		sid := r.PathValue("id")
		if err := d.svc.RevokeSession(r.Context(), id, sid, client(r)); err != nil {
			return err
		}
		if sid == id.Session.ID {
			d.cookies.ClearSession(w)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
