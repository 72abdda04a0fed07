package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

func (d deps) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := d.svc.Authenticate(r.Context(), d.cookies.SessionToken(r)); err == nil {
			http.Redirect(w, r, "/settings/profile", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

// handleLanguage remembers a language chosen on the login page.
func (d deps) handleLanguage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := r.PathValue("lang")
		if i18n.IsSupported(lang) {
			d.setLangCookie(w, lang)
		}
		back := safeNext(r.URL.Query().Get("next"))
		if back == "" {
			back = "/login"
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	})
}

// setLangCookie remembers lang for the pages before login; "" forgets it.
func (d deps) setLangCookie(w http.ResponseWriter, lang string) {
	if lang == "" {
		d.cookies.Clear(w, httpx.LangCookieName)
		return
	}
	d.cookies.Set(w, httpx.LangCookieName, lang, time.Now().Add(365*24*time.Hour))
}

func (d deps) handleLoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := d.pageFor(w, r, "title.login", nil)
		p.Next = safeNext(r.URL.Query().Get("next"))
		var app *gatehouse.Application
		p.RD, app = d.loginApplication(r, r.URL.Query().Get("rd"), p.Next)
		p.Data = newLoginData(app)
		if p.RD != "" {
			// Signed in already and admitted (a proxy sent someone whose
			// cookie its app did receive, yet found no session first): go
			// back. A session the app does not admit, say one signed in
			// without the second factor the app requires, gets the form:
			// this login asks for the factor (ForMFAApp), where going back
			// would only meet the same 403.
			if id, err := d.svc.Authenticate(r.Context(), d.cookies.SessionToken(r)); err == nil && auth.Admission(app, id) == "" {
				http.Redirect(w, r, p.RD, http.StatusSeeOther)
				return
			}
		}
		d.rd.render(w, r, "login", p)
	})
}

func (d deps) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.loginPost(w, r, func(p *page, app *gatehouse.Application) (*auth.LoginResult, error) {
			p.Form["email"] = r.PostFormValue("email")
			c := d.client(r)
			// A login for an app that requires a second factor (behind
			// forward auth, or an OIDC client) asks for it, and sets one
			// up first where the user has none.
			c.ForMFAApp = app != nil && app.RequireMFA
			return d.svc.Login(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), c)
		})
	})
}

// loginData is what the login page shows besides its form.
type loginData struct {
	MFAApp string // the app the login is for, when it requires a second factor
}

func newLoginData(app *gatehouse.Application) loginData {
	if app != nil && app.RequireMFA {
		return loginData{MFAApp: app.Name}
	}
	return loginData{}
}

// loginPost answers a POST of the login page, the password's form or the
// passkey's: login makes the first step (app is the one rd returns to, or
// the OIDC client whose request next continues, if any), and the browser
// goes on to the next, or sees the login page again with the refusal.
func (d deps) loginPost(w http.ResponseWriter, r *http.Request, login func(p *page, app *gatehouse.Application) (*auth.LoginResult, error)) {
	p := d.pageFor(w, r, "title.login", nil)
	err := form(w, r)
	var res *auth.LoginResult
	if err == nil {
		p.Next = safeNext(r.PostFormValue("next"))
		var app *gatehouse.Application
		p.RD, app = d.loginApplication(r, r.PostFormValue("rd"), p.Next)
		p.Data = newLoginData(app)
		res, err = login(p, app)
	}
	if err != nil {
		p.setError(err)
		d.rd.render(w, r, "login", p)
		return
	}
	d.continueLogin(w, r, res, p.Next, p.RD)
}

// continueLogin sends the browser to the page of the next login step, or
// when the login is complete to the forward-auth return address rd (already
// checked), the local page next, or home. A login always starts a new
// session token, so a planted cookie is never promoted.
func (d deps) continueLogin(w http.ResponseWriter, r *http.Request, res *auth.LoginResult, next, rd string) {
	var to string
	switch res.Status {
	case auth.StatusAuthenticated:
		d.cookies.ClearChallenge(w)
		d.cookies.SetSession(w, res.SessionToken, res.Session.ExpiresAt)
		to = rd
		if to == "" {
			to = safeNext(next)
		}
		if to == "" {
			to = "/settings/profile"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	case auth.StatusTOTPRequired, auth.StatusPasskeyRequired:
		to = "/login/2fa"
	case auth.StatusPasswordChangeRequired:
		to = "/login/change-password"
	case auth.StatusTOTPSetupRequired:
		// Offer the secret right away, so the page shows the QR code
		// without a GET that changes state.
		if _, err := d.svc.LoginTOTPSetup(r.Context(), res.Challenge, d.client(r)); err != nil {
			d.fail(w, r, err)
			return
		}
		to = "/login/setup-2fa"
	}
	d.cookies.SetChallenge(w, res.Challenge, time.Now().Add(auth.ChallengeLifetime))
	http.Redirect(w, r, to+stepQuery(next, rd), http.StatusSeeOther)
}

// stepQuery is the query string that carries next and rd to a login step's
// page: "" or "?next=...&rd=...".
func stepQuery(next, rd string) string {
	q := url.Values{}
	if next = safeNext(next); next != "" {
		q.Set("next", next)
	}
	if rd != "" {
		q.Set("rd", rd)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// returnAddress checks a forward-auth return address (rd): it is returned
// with its application when its host is a registered forward-auth host
// (auth.ReturnApplication), and "" and nil otherwise, when it is ignored.
func (d deps) returnAddress(r *http.Request, rd string) (string, *gatehouse.Application) {
	if rd == "" {
		return "", nil
	}
	app, err := d.svc.ReturnApplication(r.Context(), rd)
	if err != nil {
		d.log.Warn("return address not checked", "request_id", httpx.RequestID(r.Context()), "err", err)
		return "", nil
	}
	if app == nil {
		return "", nil
	}
	return rd, app
}

// loginApplication checks a login's return address rd (returned, or "")
// and returns the app the login is for: rd's forward-auth app, else the
// OIDC client whose authorization request next continues; nil for neither.
func (d deps) loginApplication(r *http.Request, rd, next string) (string, *gatehouse.Application) {
	rd, app := d.returnAddress(r, rd)
	if app == nil {
		_, app = d.nextRequest(r, next)
	}
	return rd, app
}

// challengePage renders a login-step page, or sends the browser back to
// /login when there is no login in progress.
func (d deps) challengePage(w http.ResponseWriter, r *http.Request, name, title string, fill func(p *page) error) {
	if d.cookies.Challenge(r) == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	p := d.pageFor(w, r, title, nil)
	p.Next = safeNext(r.URL.Query().Get("next"))
	p.RD, _ = d.returnAddress(r, r.URL.Query().Get("rd"))
	if fill != nil {
		if err := fill(p); err != nil {
			d.loginExpired(w, r, err)
			return
		}
	}
	d.rd.render(w, r, name, p)
}

// loginExpired ends a login whose challenge is gone and says so; the
// login page it shows keeps the return address.
func (d deps) loginExpired(w http.ResponseWriter, r *http.Request, err error) {
	d.cookies.ClearChallenge(w)
	p := d.pageFor(w, r, "title.login", nil)
	p.RD, _ = d.returnAddress(r, r.FormValue("rd"))
	p.setError(err)
	d.rd.render(w, r, "login", p)
}

// challengeStep handles the POST of a login-step page.
func (d deps) challengeStep(w http.ResponseWriter, r *http.Request, name, title string,
	step func(challenge string) (*auth.LoginResult, error), fill func(p *page) error) {
	p := d.pageFor(w, r, title, nil)
	if err := form(w, r); err != nil {
		p.setError(err)
		d.rd.render(w, r, name, p)
		return
	}
	p.Next = safeNext(r.PostFormValue("next"))
	p.RD, _ = d.returnAddress(r, r.PostFormValue("rd"))
	res, err := step(d.cookies.Challenge(r))
	switch gatehouse.ErrorCode(err) {
	case "":
		d.continueLogin(w, r, res, p.Next, p.RD)
		return
	case gatehouse.EInvalidChallenge, gatehouse.EAccountDisabled:
		d.loginExpired(w, r, err)
		return
	}
	p.setError(err)
	if fill != nil {
		if ferr := fill(p); ferr != nil {
			d.loginExpired(w, r, ferr)
			return
		}
	}
	d.rd.render(w, r, name, p)
}

func (d deps) handleTOTPPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.challengePage(w, r, "login_2fa", "title.login_2fa", d.fillSecondFactor(r, r.URL.Query().Get("recovery") == "1"))
	})
}

func (d deps) handleTOTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.challengeStep(w, r, "login_2fa", "title.login_2fa", func(ch string) (*auth.LoginResult, error) {
			return d.svc.LoginTOTP(r.Context(), ch, r.PostFormValue("code"), r.PostFormValue("recovery_code"), d.client(r))
		}, func(p *page) error {
			// Read only after challengeStep has checked the form.
			return d.fillSecondFactor(r, r.PostFormValue("recovery_code") != "")(p)
		})
	})
}

func (d deps) handleForcedChangePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.challengePage(w, r, "login_change_password", "title.login_change_password", nil)
	})
}

func (d deps) handleForcedChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.challengeStep(w, r, "login_change_password", "title.login_change_password", func(ch string) (*auth.LoginResult, error) {
			return d.svc.LoginChangePassword(r.Context(), ch, r.PostFormValue("new_password"), r.PostFormValue("confirm_password"), d.client(r))
		}, nil)
	})
}

// setupData is what the forced 2FA setup page shows.
type setupData struct {
	// App names the app that requires the factor when the login is for
	// one (its rd or next); "" says the company requires it.
	App    string
	Secret string       // "" until a secret is offered
	QR     template.URL // a data: URL of the PNG
}

// fillSetup fills the setup page of a page whose Next and RD are set.
func (d deps) fillSetup(r *http.Request) func(p *page) error {
	return func(p *page) error {
		en, err := d.svc.LoginTOTPSetupPending(r.Context(), d.cookies.Challenge(r))
		if err != nil {
			return err
		}
		var data setupData
		if en != nil {
			data.Secret, data.QR = en.Secret, qrURL(en.QRPNG)
		}
		if _, app := d.loginApplication(r, p.RD, p.Next); app != nil && app.RequireMFA {
			data.App = app.Name
		}
		p.Data = data
		return nil
	}
}

func qrURL(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

func (d deps) handleForcedSetupPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.challengePage(w, r, "login_setup_2fa", "title.login_setup_2fa", d.fillSetup(r))
	})
}

// handleForcedSetupStart makes a new secret (the page's "new QR code").
func (d deps) handleForcedSetupStart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := form(w, r); err != nil {
			d.fail(w, r, err)
			return
		}
		if _, err := d.svc.LoginTOTPSetup(r.Context(), d.cookies.Challenge(r), d.client(r)); err != nil {
			d.loginExpired(w, r, err)
			return
		}
		rd, _ := d.returnAddress(r, r.PostFormValue("rd"))
		http.Redirect(w, r, "/login/setup-2fa"+stepQuery(r.PostFormValue("next"), rd), http.StatusSeeOther)
	})
}

func (d deps) handleForcedSetup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := d.pageFor(w, r, "title.login_setup_2fa", nil)
		if err := form(w, r); err != nil {
			p.setError(err)
			p.Data = setupData{}
			d.rd.render(w, r, "login_setup_2fa", p)
			return
		}
		res, err := d.svc.LoginTOTPSetupConfirm(r.Context(), d.cookies.Challenge(r), r.PostFormValue("code"), d.client(r))
		p.Next = safeNext(r.PostFormValue("next"))
		p.RD, _ = d.returnAddress(r, r.PostFormValue("rd"))
		switch gatehouse.ErrorCode(err) {
		case "":
			// Sign in now, and show the recovery codes once before moving on.
			d.cookies.ClearChallenge(w)
			d.cookies.SetSession(w, res.SessionToken, res.Session.ExpiresAt)
			p.User = res.User
			p.Data = recoveryData{Heading: "recovery.heading", Codes: res.RecoveryCodes}
			d.rd.render(w, r, "recovery_codes", p)
			return
		case gatehouse.EInvalidChallenge, gatehouse.EAccountDisabled:
			d.loginExpired(w, r, err)
			return
		}
		p.setError(err)
		if ferr := d.fillSetup(r)(p); ferr != nil {
			d.loginExpired(w, r, ferr)
			return
		}
		d.rd.render(w, r, "login_setup_2fa", p)
	})
}

func (d deps) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, err := d.svc.Authenticate(r.Context(), d.cookies.SessionToken(r)); err == nil {
			if err := d.svc.Logout(r.Context(), id, d.client(r)); err != nil {
				d.fail(w, r, err)
				return
			}
		}
		d.cookies.ClearSession(w)
		d.cookies.ClearChallenge(w)
		d.setFlash(w, "flash.logged_out")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}
