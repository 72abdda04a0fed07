package web

import (
	"html/template"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// profileData is what the profile page shows besides the user.
type profileData struct {
	TOTP     *auth.TOTPState
	Passkeys *passkeysData
	QR       template.URL // the pending secret's QR code, as a data: URL
	Product  string       // the name the authenticator app shows
}

// renderProfile shows the profile page with the user's 2FA state: off (the
// toggle), enrollment in progress (QR code, secret, code field) or on, and
// their passkeys, all from one read (TOTPState).
func (d deps) renderProfile(w http.ResponseWriter, r *http.Request, id *auth.Identity, p *page) {
	st, err := d.svc.TOTPState(r.Context(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := profileData{TOTP: st, Passkeys: &passkeysData{List: st.Passkeys, NeedsPassword: st.NeedsPassword},
		Product: d.svc.Config().Product}
	if st.Pending != nil {
		data.QR = qrURL(st.Pending.QRPNG)
	}
	p.Nav = "profile"
	p.Data = data
	d.rd.render(w, r, "settings_profile", p)
}

// profileForm handles a POST of the profile page's 2FA or Passkeys
// section: on success it goes where done says; on failure it shows the
// profile again with the error.
func (d deps) profileForm(w http.ResponseWriter, r *http.Request, id *auth.Identity, act func() error, done func()) {
	err := form(w, r)
	if err == nil {
		err = act()
	}
	if err != nil {
		p := d.pageFor(w, r, "title.profile", id)
		p.setError(err)
		d.renderProfile(w, r, id, p)
		return
	}
	done()
}

func (d deps) backToProfile(w http.ResponseWriter, r *http.Request, flash string) func() {
	return func() {
		if flash != "" {
			d.setFlash(w, flash)
		}
		http.Redirect(w, r, "/settings/profile#two-factor", http.StatusSeeOther)
	}
}

// handleBeginTOTP is the toggle: it offers a new secret, which the next
// GET of the profile page shows.
func (d deps) handleBeginTOTP(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.profileForm(w, r, id, func() error {
		_, err := d.svc.BeginTOTPEnrollment(r.Context(), id, r.PostFormValue("password"), d.client(r))
		return err
	}, d.backToProfile(w, r, ""))
}

func (d deps) handleCancelTOTP(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.profileForm(w, r, id, func() error {
		return d.svc.CancelTOTPEnrollment(r.Context(), id)
	}, d.backToProfile(w, r, "flash.totp_cancelled"))
}

// handleConfirmTOTP turns 2FA on and shows the recovery codes, once.
func (d deps) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	var codes []string
	d.profileForm(w, r, id, func() (err error) {
		codes, err = d.svc.ConfirmTOTP(r.Context(), id, r.PostFormValue("code"), d.client(r))
		return err
	}, func() { d.showRecoveryCodes(w, r, id, "recovery.heading", codes) })
}

func (d deps) handleDisableTOTP(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.profileForm(w, r, id, func() error {
		return d.svc.DisableTOTP(r.Context(), id, r.PostFormValue("password"), d.client(r))
	}, d.backToProfile(w, r, "flash.totp_disabled"))
}

func (d deps) handleRegenerateRecoveryCodes(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	var codes []string
	d.profileForm(w, r, id, func() (err error) {
		codes, err = d.svc.RegenerateRecoveryCodes(r.Context(), id, r.PostFormValue("password"), d.client(r))
		return err
	}, func() { d.showRecoveryCodes(w, r, id, "recovery.heading_new", codes) })
}

// showRecoveryCodes answers the POST that made the codes with the codes
// themselves: they are shown this once and never stored in the clear.
func (d deps) showRecoveryCodes(w http.ResponseWriter, r *http.Request, id *auth.Identity, heading string, codes []string) {
	p := d.pageFor(w, r, "title.recovery_codes", id)
	p.Nav = "profile"
	p.Data = recoveryData{Heading: heading, Codes: codes}
	d.rd.render(w, r, "settings_recovery_codes", p)
}

// recoveryData is what the settings recovery codes page shows.
type recoveryData struct {
	Heading string // a catalogue key
	Codes   []string
}
