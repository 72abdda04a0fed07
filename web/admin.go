package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Company administration pages. Each calls the same auth method as its
// JSON endpoint; members get a 403 page, another company's users a 404.

// adminPage wraps a page for admins only.
func (d deps) adminPage(h func(w http.ResponseWriter, r *http.Request, id *auth.Identity)) http.Handler {
	return d.signedIn(func(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
		if err := auth.RequireAdmin(id); err != nil {
			d.fail(w, r, err)
			return
		}
		h(w, r, id)
	})
}

// adminForm is adminPage for POSTs: the form is parsed strictly first.
func (d deps) adminForm(h func(w http.ResponseWriter, r *http.Request, id *auth.Identity)) http.Handler {
	return d.adminPage(func(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
		if err := form(w, r); err != nil {
			d.fail(w, r, err)
			return
		}
		h(w, r, id)
	})
}

// --- /settings/company ---

func (d deps) handleCompanyPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.company", id)
	p.Nav = "company"
	c, err := d.svc.Company(r.Context(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p.Data = c
	d.rd.render(w, r, "settings_company", p)
}

func (d deps) handleCompanyUpdate(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	name := r.PostFormValue("name")
	require := r.PostFormValue("require_totp") == "on" || r.PostFormValue("require_totp") == "true"
	_, err := d.svc.UpdateCompany(r.Context(), id, auth.CompanyUpdate{Name: &name, RequireTOTP: &require}, d.client(r))
	if err != nil {
		p := d.pageFor(w, r, "title.company", id)
		p.Nav = "company"
		p.setError(err)
		if c, cerr := d.svc.Company(r.Context(), id); cerr == nil {
			c.Name = name
			p.Data = c
		}
		d.rd.render(w, r, "settings_company", p)
		return
	}
	d.setFlash(w, "flash.company_updated")
	http.Redirect(w, r, "/settings/company", http.StatusSeeOther)
}

// --- /settings/users ---

// usersData is the user list page.
type usersData struct {
	Users    []*gatehouse.User
	Query    string
	Next     string // the URL of the next page, empty on the last
	Paged    bool   // this is not the first page
	MeID     string
	NotFound bool // the search found nobody
	// MailProblems says, by user ID, why the latest mail with a link to
	// a user was not delivered.
	MailProblems map[string]*gatehouse.MailProblem
}

func (d deps) handleUsersPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.users", id)
	p.Nav = "users"
	q := r.URL.Query()
	query, cursor := q.Get("query"), q.Get("cursor")
	page, err := d.svc.ListUsers(r.Context(), id, auth.UserQuery{Query: query, Cursor: cursor})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := usersData{Users: page.Users, Query: query, Paged: cursor != "", MeID: id.User.ID,
		NotFound: len(page.Users) == 0 && query != "", MailProblems: page.MailProblems}
	if page.Next != "" {
		v := url.Values{"cursor": {page.Next}}
		if query != "" {
			v.Set("query", query)
		}
		data.Next = "/settings/users?" + v.Encode()
	}
	p.Data = data
	d.rd.render(w, r, "settings_users", p)
}

func (d deps) handleInvitePage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.invite", id)
	p.Nav = "users"
	p.Form["role"] = string(gatehouse.RoleMember)
	d.rd.render(w, r, "settings_user_invite", p)
}

func (d deps) handleInvite(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	inv := auth.Invite{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: gatehouse.Role(r.PostFormValue("role"))}
	u, err := d.svc.InviteUser(r.Context(), id, inv, d.client(r))
	if err != nil {
		p := d.pageFor(w, r, "title.invite", id)
		p.Nav = "users"
		p.setError(err)
		p.Form["email"], p.Form["name"], p.Form["role"] = inv.Email, inv.Name, string(inv.Role)
		d.rd.render(w, r, "settings_user_invite", p)
		return
	}
	d.setFlash(w, "flash.user_invited")
	http.Redirect(w, r, "/settings/users/"+u.ID, http.StatusSeeOther)
}

// userData is the page of one user.
type userData struct {
	*auth.UserDetail
	Self bool
}

// userPageFor starts a page about the user of the path; when the admin may
// not see that user (another company's, or no one's), it shows the error
// page instead and returns nil.
func (d deps) userPageFor(w http.ResponseWriter, r *http.Request, title string, id *auth.Identity) (*page, *auth.UserDetail) {
	u, err := d.svc.CompanyUser(r.Context(), id, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, err)
		return nil, nil
	}
	p := d.pageFor(w, r, title, id)
	p.Nav = "users"
	return p, u
}

func (d deps) userPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, err error) {
	p, u := d.userPageFor(w, r, "title.user", id)
	if p == nil {
		return
	}
	if err != nil {
		p.setError(err)
		for _, f := range []string{"name", "email", "role"} {
			if v := r.PostFormValue(f); v != "" {
				p.Form[f] = v
			}
		}
	}
	p.Data = userData{UserDetail: u, Self: u.ID == id.User.ID}
	d.rd.render(w, r, "settings_user", p)
}

func (d deps) handleUserPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.userPage(w, r, id, nil)
}

// confirmation names the catalogue keys of the question asked before a
// destructive action; Heading takes the user's {name}.
type confirmation struct{ Heading, Text, Button string }

var (
	confirmDisable   = &confirmation{"user.disable_confirm", "user.disable_confirm_text", "user.disable"}
	confirmRemove2FA = &confirmation{"user.remove_2fa_confirm", "user.remove_2fa_confirm_text", "user.remove_2fa"}
	// confirmRemovePasskeys asks before an admin removes a user's passkeys.
	confirmRemovePasskeys = &confirmation{"user.remove_passkeys_confirm", "user.remove_passkeys_confirm_text", "user.remove_passkeys"}
)

// confirmData is the confirmation page of a destructive action
// (settings_confirm), asked without JavaScript: app.js asks in a dialog.
type confirmData struct {
	Back, BackLabel       string // the breadcrumb and Cancel: where to, in words
	Action                string // where the confirmed form posts
	Heading, Text, Button string
}

// question is what a confirmation page asks: the catalogue keys, the
// arguments of its heading and text (such as "name" and the thing's
// name), and where Cancel leads (back) under which words (backKey, a
// catalogue key, or backName as it is).
type question struct {
	*confirmation
	args              []any
	back              string
	backKey, backName string
}

// askConfirmation shows the page that asks q about the action posted to
// r's path; its form posts there again with confirmed=1.
func (d deps) askConfirmation(w http.ResponseWriter, r *http.Request, p *page, q question) {
	c := confirmData{Back: q.back, BackLabel: q.backName, Action: r.URL.Path,
		Heading: p.T(q.Heading, q.args...), Text: p.T(q.Text, q.args...), Button: p.T(q.Button)}
	if q.backKey != "" {
		c.BackLabel = p.T(q.backKey)
	}
	p.Data = c
	d.rd.render(w, r, "settings_confirm", p)
}

// deleteConfirmed deletes after a confirmation: app.js asks in a dialog
// and adds confirmed=1; without JavaScript the first POST answers with a
// page that asks, whose form adds it. ask finds what is to be deleted
// (an error, such as not found, fails the request) and says how to ask;
// del deletes; then the browser goes to done with the toast flash.
func (d deps) deleteConfirmed(w http.ResponseWriter, r *http.Request, id *auth.Identity, nav string,
	ask func() (question, error), del func() error, flash, done string) {
	if r.PostFormValue("confirmed") != "1" {
		q, err := ask()
		if err != nil {
			d.fail(w, r, err)
			return
		}
		p := d.pageFor(w, r, "title.confirm", id)
		p.Nav = nav
		d.askConfirmation(w, r, p, q)
		return
	}
	if err := del(); err != nil {
		d.fail(w, r, err)
		return
	}
	d.setFlash(w, flash)
	http.Redirect(w, r, done, http.StatusSeeOther)
}

// userAction runs an admin action from a form on the user's page and
// comes back to it with a toast. An action with a confirmation runs only
// when the form says confirmed=1: app.js adds it when the admin confirms
// in its dialog; without JavaScript the first POST shows the question on
// a page of its own, whose form adds it.
func (d deps) userAction(flash string, confirm *confirmation, act func(r *http.Request, id *auth.Identity, userID string) error) http.Handler {
	return d.adminForm(func(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
		userID := r.PathValue("id")
		if confirm != nil && r.PostFormValue("confirmed") != "1" {
			d.confirmPage(w, r, id, confirm)
			return
		}
		if err := act(r, id, userID); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
				d.fail(w, r, err)
				return
			}
			d.userPage(w, r, id, err)
			return
		}
		d.setFlash(w, flash)
		http.Redirect(w, r, "/settings/users/"+userID, http.StatusSeeOther)
	})
}

// confirmPage asks whether to go on with the action posted to r's path.
func (d deps) confirmPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, c *confirmation) {
	p, u := d.userPageFor(w, r, "title.confirm", id)
	if p == nil {
		return
	}
	d.askConfirmation(w, r, p, question{confirmation: c, args: []any{"name", u.Name}, back: "/settings/users/" + u.ID,
		backName: u.Name})
}

func (d deps) handleUserUpdate() http.Handler {
	return d.userAction("flash.user_updated", nil, func(r *http.Request, id *auth.Identity, userID string) error {
		name, email := r.PostFormValue("name"), r.PostFormValue("email")
		role := gatehouse.Role(r.PostFormValue("role"))
		_, err := d.svc.UpdateUser(r.Context(), id, userID, auth.UserUpdate{Name: &name, Email: &email, Role: &role}, d.client(r))
		return err
	})
}

// handleUserDisabled disables (after a confirmation) or enables a user.
func (d deps) handleUserDisabled(disable bool) http.Handler {
	flash, confirm := "flash.user_enabled", (*confirmation)(nil)
	if disable {
		flash, confirm = "flash.user_disabled", confirmDisable
	}
	return d.userAction(flash, confirm, func(r *http.Request, id *auth.Identity, userID string) error {
		_, err := d.svc.UpdateUser(r.Context(), id, userID, auth.UserUpdate{Disabled: &disable}, d.client(r))
		return err
	})
}

func (d deps) handleUserUnlock() http.Handler {
	return d.userAction("flash.user_unlocked", nil, func(r *http.Request, id *auth.Identity, userID string) error {
		return d.svc.UnlockUser(r.Context(), id, userID, d.client(r))
	})
}

func (d deps) handleUserRemoveTOTP() http.Handler {
	return d.userAction("flash.totp_removed", confirmRemove2FA, func(r *http.Request, id *auth.Identity, userID string) error {
		return d.svc.RemoveUserTOTP(r.Context(), id, userID, d.client(r))
	})
}

// --- Reset password: choose, confirm, done ---

// resetChoice is the reset page in one of its three steps.
type resetChoice struct {
	User   *gatehouse.User
	Step   string // "choose", "confirm" or "done"
	Method string // auth.ResetByEmail or auth.ResetByTemporary
	Typed  string // a temporary password the admin typed, carried to the confirmation
	// Temporary is the password set, shown once on the "done" step.
	Temporary string
	Hours     int
}

func (d deps) resetPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, rc resetChoice, err error) {
	p, u := d.userPageFor(w, r, "title.reset_user_password", id)
	if p == nil {
		return
	}
	if err != nil {
		p.setError(err)
	}
	rc.User = u.User
	rc.Hours = int(auth.TempPasswordLifetime.Hours())
	p.Data = rc
	d.rd.render(w, r, "settings_user_reset", p)
}

func (d deps) handleResetUserPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.resetPage(w, r, id, resetChoice{Step: "choose", Method: auth.ResetByEmail}, nil)
}

// handleResetUser moves the choice on: "review" shows the confirmation,
// "confirm" does it. Nothing happens without the second step.
func (d deps) handleResetUser(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	rc := resetChoice{Method: r.PostFormValue("method"), Typed: r.PostFormValue("temporary_password")}
	if r.PostFormValue("generate") == "on" || rc.Method != auth.ResetByTemporary {
		rc.Typed = ""
	}
	if rc.Method != auth.ResetByEmail && rc.Method != auth.ResetByTemporary {
		rc.Step, rc.Method = "choose", auth.ResetByEmail
		d.resetPage(w, r, id, rc, gatehouse.Errorf(gatehouse.EInvalidRequest, "Choose how to reset the password."))
		return
	}
	if r.PostFormValue("step") != "confirm" {
		rc.Step = "confirm"
		if rc.Method == auth.ResetByTemporary {
			// Check now, as the confirmation will, not after the admin confirmed.
			if err := d.svc.CheckTemporaryPassword(r.Context(), id, r.PathValue("id"), rc.Typed); err != nil {
				d.resetFailed(w, r, id, rc, err)
				return
			}
		}
		d.resetPage(w, r, id, rc, nil)
		return
	}
	userID := r.PathValue("id")
	if rc.Method == auth.ResetByEmail {
		if err := d.svc.ResetPasswordByEmail(r.Context(), id, userID, d.client(r)); err != nil {
			d.resetFailed(w, r, id, rc, err)
			return
		}
		d.setFlash(w, "flash.reset_link_sent")
		http.Redirect(w, r, "/settings/users/"+userID, http.StatusSeeOther)
		return
	}
	pw, err := d.svc.SetTemporaryPassword(r.Context(), id, userID, rc.Typed, d.client(r))
	if err != nil {
		d.resetFailed(w, r, id, rc, err)
		return
	}
	// Shown once, on this answer only: it is never stored in the clear.
	d.resetPage(w, r, id, resetChoice{Step: "done", Method: rc.Method, Temporary: pw}, nil)
}

func (d deps) resetFailed(w http.ResponseWriter, r *http.Request, id *auth.Identity, rc resetChoice, err error) {
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		d.fail(w, r, err)
		return
	}
	rc.Step = "choose"
	d.resetPage(w, r, id, rc, err)
}

// --- /settings/audit ---

// auditData is the audit log page.
type auditData struct {
	Events   []*gatehouse.AuditEvent
	Users    map[string]*gatehouse.User
	Keys     map[string]*gatehouse.APIKey // the API keys that acted
	Types    []string
	Type     string
	UserID   string
	User     *gatehouse.User // the user filtered on
	Next     string
	Paged    bool
	Download string
}

func (d deps) handleAuditPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.audit", id)
	p.Nav = "audit"
	q := r.URL.Query()
	aq := auth.AuditQuery{Type: q.Get("type"), UserID: q.Get("user_id"), Cursor: q.Get("cursor")}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		aq.Limit = n
	}
	page, err := d.svc.AuditEvents(r.Context(), id, aq)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	filter := url.Values{}
	if aq.Type != "" {
		filter.Set("type", aq.Type)
	}
	if aq.UserID != "" {
		filter.Set("user_id", aq.UserID)
	}
	data := auditData{Events: page.Events, Users: page.Users, Keys: page.Keys, Types: gatehouse.EventTypes, Type: aq.Type, UserID: aq.UserID,
		Paged: aq.Cursor != "", Download: "/api/v1/company/audit-events/export"}
	if len(filter) > 0 {
		data.Download += "?" + filter.Encode()
	}
	if aq.UserID != "" {
		if u, err := d.svc.CompanyUser(r.Context(), id, aq.UserID); err == nil {
			data.User = u.User
		}
	}
	if page.Next != "" {
		next := url.Values{"cursor": {page.Next}}
		for k, v := range filter {
			next[k] = v
		}
		data.Next = "/settings/audit?" + next.Encode()
	}
	p.Data = data
	d.rd.render(w, r, "settings_audit", p)
}
