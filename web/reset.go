package web

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

func (d deps) handleForgotPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.rd.render(w, r, "forgot_password", d.pageFor(w, r, "title.forgot_password", nil))
	})
}

// handleForgot answers the same whether or not the address has an account.
func (d deps) handleForgot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := d.pageFor(w, r, "title.forgot_password", nil)
		err := form(w, r)
		if err == nil {
			p.Form["email"] = r.PostFormValue("email")
			err = d.svc.RequestPasswordReset(r.Context(), r.PostFormValue("email"), d.client(r))
		}
		if err != nil {
			p.setError(err)
		} else {
			p.Data = true // sent
			p.Flash = p.T("forgot.sent")
		}
		d.rd.render(w, r, "forgot_password", p)
	})
}

// resetData is what the reset page needs to show its form.
type resetData struct {
	Token      string
	Invitation bool
	Email      string
}

func newResetData(token string, link *auth.ResetLink) resetData {
	return resetData{Token: token, Invitation: link.Purpose == gatehouse.TokenInvitation, Email: link.User.Email}
}

// tokenPage marks a page whose URL holds a secret: no referrer may carry
// it away.
func tokenPage(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// handleResetPage shows the form of a valid link. Opening the link uses
// nothing: mail scanners open links before people do; only Save does.
func (d deps) handleResetPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		token := r.URL.Query().Get("token")
		p := d.pageFor(w, r, "title.reset_password", nil)
		link, err := d.svc.CheckResetToken(r.Context(), token)
		if err != nil {
			p.setError(err)
			d.rd.render(w, r, "reset_invalid", p)
			return
		}
		p.Data = newResetData(token, link)
		d.rd.render(w, r, "reset_password", p)
	})
}

func (d deps) handleReset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		p := d.pageFor(w, r, "title.reset_password", nil)
		if err := form(w, r); err != nil {
			p.setError(err)
			d.rd.render(w, r, "reset_invalid", p)
			return
		}
		token := r.PostFormValue("token")
		err := d.svc.ResetPassword(r.Context(), token, r.PostFormValue("new_password"), r.PostFormValue("confirm_password"), d.client(r))
		if err == nil {
			d.cookies.ClearSession(w)
			d.setFlash(w, "flash.password_reset")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		p.setError(err)
		link, lerr := d.svc.CheckResetToken(r.Context(), token)
		if lerr != nil {
			d.rd.render(w, r, "reset_invalid", p)
			return
		}
		p.Data = newResetData(token, link)
		p.Path = auth.ResetPasswordPath + "?" + url.Values{"token": {token}}.Encode()
		d.rd.render(w, r, "reset_password", p)
	})
}

func (d deps) handleSetupPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		token := r.URL.Query().Get("token")
		p := d.pageFor(w, r, "title.setup", nil)
		if err := d.svc.CheckSetupToken(r.Context(), token); err != nil {
			p.setError(err)
			d.rd.render(w, r, "reset_invalid", p)
			return
		}
		p.Data = token
		d.rd.render(w, r, "setup", p)
	})
}

func (d deps) handleSetup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenPage(w)
		p := d.pageFor(w, r, "title.setup", nil)
		if err := form(w, r); err != nil {
			p.setError(err)
			d.rd.render(w, r, "reset_invalid", p)
			return
		}
		token := r.PostFormValue("token")
		for _, f := range []string{"company_name", "name", "email"} {
			p.Form[f] = r.PostFormValue(f)
		}
		res, err := d.svc.Setup(r.Context(), token, auth.NewCompany{
			Name: r.PostFormValue("company_name"), AdminName: r.PostFormValue("name"), AdminEmail: r.PostFormValue("email"),
			Password: r.PostFormValue("new_password"), Confirm: r.PostFormValue("confirm_password"),
		}, d.client(r))
		if err != nil {
			p.setError(err)
			p.Data = token
			if d.svc.CheckSetupToken(r.Context(), token) != nil {
				d.rd.render(w, r, "reset_invalid", p)
				return
			}
			p.Path = auth.SetupPath + "?" + url.Values{"token": {token}}.Encode()
			d.rd.render(w, r, "setup", p)
			return
		}
		d.setFlash(w, "flash.setup_done")
		d.continueLogin(w, r, res, "/settings/users", "")
	})
}
