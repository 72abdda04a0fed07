package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Applications of the admin's company (../shared/API.md, "Applications"):
// the list with a form to register one, whose client secret is shown on
// the answer that made it and never again, a page per app to change it,
// and delete after a confirmation. Each calls the same auth method as its
// JSON endpoint.

// appsData is the list page.
type appsData struct {
	Apps    []*gatehouse.Application
	Max     int
	Created *auth.CreatedApplication
	// Checked are the form's boxes after an error.
	Checked map[string]bool
}

func (d deps) appsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, data appsData, err error) {
	p := d.pageFor(w, r, "title.apps", id)
	p.Nav = "apps"
	if err != nil {
		p.setError(err)
		data.Checked = postedAppForm(p, r)
	}
	list, lerr := d.svc.Applications(r.Context(), id)
	if lerr != nil {
		d.fail(w, r, lerr)
		return
	}
	data.Apps, data.Max = list, auth.MaxApplicationsPerCompany
	p.Data = data
	d.rd.render(w, r, "settings_apps", p)
}

func (d deps) handleAppsPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.appsPage(w, r, id, appsData{}, nil)
}

// appTextFields and appBoxes are the fields of the forms that register and
// change an app (the partial template "app-fields"; public only when
// registering: it cannot change).
var (
	appTextFields = []string{"name", "forward_auth_hosts", "redirect_uris", "post_logout_redirect_uris"}
	appBoxes      = []string{"public", "require_admin", "require_mfa"}
)

// postedAppForm puts the posted fields back in the form after an error and
// returns its boxes as checked.
func postedAppForm(p *page, r *http.Request) map[string]bool {
	for _, k := range appTextFields {
		p.Form[k] = r.PostFormValue(k)
	}
	checked := map[string]bool{}
	for _, k := range appBoxes {
		checked[k] = r.PostFormValue(k) != ""
	}
	return checked
}

// readAppForm reads the posted fields as an application: a text area
// left empty is an empty list (not nil), which a change clears.
func readAppForm(r *http.Request) auth.NewApplication {
	na := auth.NewApplication{Name: r.PostFormValue("name"), ForwardAuthHosts: lines(r.PostFormValue("forward_auth_hosts")),
		RedirectURIs: lines(r.PostFormValue("redirect_uris")), PostLogoutRedirectURIs: lines(r.PostFormValue("post_logout_redirect_uris")),
		Public: r.PostFormValue("public") != "", RequireMFA: r.PostFormValue("require_mfa") != ""}
	if r.PostFormValue("require_admin") != "" {
		na.RequireRole = gatehouse.RoleAdmin
	}
	return na
}

// lines splits a text area into its non-empty lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// handleCreateApp registers an app and answers with the list page showing
// its secret: a redirect would lose it.
func (d deps) handleCreateApp(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	created, err := d.svc.CreateApplication(r.Context(), id, readAppForm(r), d.client(r))
	if err != nil {
		d.appsPage(w, r, id, appsData{}, err)
		return
	}
	d.appsPage(w, r, id, appsData{Created: created}, nil)
}

// appData is the page of one app: the form that changes it.
type appData struct {
	App     *gatehouse.Application
	Checked map[string]bool
}

// appPage shows the app's form: filled from the app, or after err with
// what was posted.
func (d deps) appPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, a *gatehouse.Application, err error) {
	p := d.pageFor(w, r, "title.app", id)
	p.Nav = "apps"
	data := appData{App: a}
	if err != nil {
		p.setError(err)
		data.Checked = postedAppForm(p, r)
	} else {
		p.Form["name"] = a.Name
		p.Form["forward_auth_hosts"] = strings.Join(a.ForwardAuthHosts, "\n")
		p.Form["redirect_uris"] = strings.Join(a.RedirectURIs, "\n")
		p.Form["post_logout_redirect_uris"] = strings.Join(a.PostLogoutRedirectURIs, "\n")
		data.Checked = map[string]bool{"require_admin": a.RequireRole == gatehouse.RoleAdmin, "require_mfa": a.RequireMFA}
	}
	p.Data = data
	d.rd.render(w, r, "settings_app", p)
}

func (d deps) handleAppPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	a, err := d.svc.Application(r.Context(), id, r.PathValue("client_id"))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.appPage(w, r, id, a, nil)
}

// handleUpdateApp changes an app as its form says (every field the form
// has; public is not among them) and returns to the list with a toast; a
// refusal shows the form again with the error and what was posted.
func (d deps) handleUpdateApp(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	na := readAppForm(r)
	ch := auth.ApplicationChange{Name: &na.Name, RedirectURIs: na.RedirectURIs, PostLogoutRedirectURIs: na.PostLogoutRedirectURIs,
		ForwardAuthHosts: na.ForwardAuthHosts, RequireRole: &na.RequireRole, RequireMFA: &na.RequireMFA}
	_, err := d.svc.UpdateApplication(r.Context(), id, r.PathValue("client_id"), ch, d.client(r))
	if err != nil {
		a, aerr := d.svc.Application(r.Context(), id, r.PathValue("client_id"))
		if aerr != nil {
			d.fail(w, r, aerr)
			return
		}
		d.appPage(w, r, id, a, err)
		return
	}
	d.setFlash(w, "flash.app_updated")
	http.Redirect(w, r, auth.ApplicationsPath, http.StatusSeeOther)
}

var confirmDeleteApp = &confirmation{"apps.delete_confirm", "apps.delete_confirm_text", "apps.delete"}

// handleDeleteApp deletes after a confirmation (deleteConfirmed).
func (d deps) handleDeleteApp(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	clientID := r.PathValue("client_id")
	d.deleteConfirmed(w, r, id, "apps", func() (question, error) {
		a, err := d.svc.Application(r.Context(), id, clientID)
		if err != nil {
			return question{}, err
		}
		return question{confirmation: confirmDeleteApp, args: []any{"name", a.Name}, back: auth.ApplicationsPath, backKey: "apps.heading"}, nil
	}, func() error {
		return d.svc.DeleteApplication(r.Context(), id, clientID, d.client(r))
	}, "flash.app_deleted", auth.ApplicationsPath)
}
