package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

func (d deps) handleProfile(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.profile", id)
	if r.URL.Query().Get("passkey") == "added" && p.Flash == "" {
		// passkeys.js comes here after the API added one.
		p.Flash = p.T("flash.passkey_added")
	}
	d.renderProfile(w, r, id, p)
}

func (d deps) handlePasswordPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.password", id)
	p.Nav = "password"
	d.rd.render(w, r, "settings_password", p)
}

func (d deps) handlePassword(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.password", id)
	p.Nav = "password"
	err := form(w, r)
	token := ""
	if err == nil {
		token, err = d.svc.ChangePassword(r.Context(), id, r.PostFormValue("current_password"),
			r.PostFormValue("new_password"), r.PostFormValue("confirm_password"), d.cookies.SessionInCookie(r), d.client(r))
	}
	if err != nil {
		p.setError(err)
		d.rd.render(w, r, "settings_password", p)
		return
	}
	if token != "" {
		d.cookies.SetSession(w, token, id.Session.ExpiresAt)
	}
	d.setFlash(w, "flash.password_changed")
	http.Redirect(w, r, "/settings/password", http.StatusSeeOther)
}

// sessionsData is the sessions page: the list and which one is this.
type sessionsData struct {
	Sessions  any
	CurrentID string
}

func (d deps) handleSessions(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.sessions", id)
	p.Nav = "sessions"
	list, err := d.svc.Sessions(r.Context(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p.Data = sessionsData{Sessions: list, CurrentID: id.Session.ID}
	d.rd.render(w, r, "settings_sessions", p)
}

func (d deps) handleRevokeSession(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	if err := form(w, r); err != nil {
		d.fail(w, r, err)
		return
	}
	sid := r.PathValue("id")
	if err := d.svc.RevokeSession(r.Context(), id, sid, d.client(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	if sid == id.Session.ID {
		d.cookies.ClearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	d.setFlash(w, "flash.session_revoked")
	http.Redirect(w, r, "/settings/sessions", http.StatusSeeOther)
}

// handleLanguageSetting saves the language of the user's pages and mail.
// The browser remembers it too, so that the login page speaks it after
// logging out; "follow the browser" forgets it.
func (d deps) handleLanguageSetting(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	err := form(w, r)
	lang := r.PostFormValue("language")
	if err == nil {
		err = d.svc.SetLanguage(r.Context(), id, lang)
	}
	if err != nil {
		p := d.pageFor(w, r, "title.profile", id)
		p.setError(err)
		d.renderProfile(w, r, id, p)
		return
	}
	d.setLangCookie(w, lang)
	d.setFlash(w, "flash.language_saved")
	http.Redirect(w, r, "/settings/profile#language", http.StatusSeeOther)
}
