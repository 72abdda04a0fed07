package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Applications of the admin's company (../shared/API.md, "Applications"):
// the list with a form to register one, whose client secret is shown on
// the answer that made it and never again, and delete after a
// confirmation. Each calls the same auth method as its JSON endpoint.

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
		for _, k := range []string{"name", "forward_auth_hosts", "redirect_uris", "post_logout_redirect_uris"} {
			p.Form[k] = r.PostFormValue(k)
		}
		data.Checked = map[string]bool{}
		for _, k := range []string{"public", "require_admin", "require_mfa"} {
			data.Checked[k] = r.PostFormValue(k) != ""
		}
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

// lines splits a text area into its non-empty lines.
func lines(s string) []string {
	var out []string
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
	na := auth.NewApplication{Name: r.PostFormValue("name"), ForwardAuthHosts: lines(r.PostFormValue("forward_auth_hosts")),
		RedirectURIs: lines(r.PostFormValue("redirect_uris")), PostLogoutRedirectURIs: lines(r.PostFormValue("post_logout_redirect_uris")),
		Public: r.PostFormValue("public") != "", RequireMFA: r.PostFormValue("require_mfa") != ""}
	if r.PostFormValue("require_admin") != "" {
		na.RequireRole = gatehouse.RoleAdmin
	}
	created, err := d.svc.CreateApplication(r.Context(), id, na, d.client(r))
	if err != nil {
		d.appsPage(w, r, id, appsData{}, err)
		return
	}
	d.appsPage(w, r, id, appsData{Created: created}, nil)
}

// handleDeleteApp deletes after a confirmation: app.js asks in a dialog and
// adds confirmed=1; without JavaScript the first POST answers with a page
// that asks.
func (d deps) handleDeleteApp(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	if r.PostFormValue("confirmed") != "1" {
		a, err := d.svc.Application(r.Context(), id, r.PathValue("client_id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		p := d.pageFor(w, r, "title.confirm", id)
		p.Nav = "apps"
		p.Data = a
		d.rd.render(w, r, "settings_app_confirm", p)
		return
	}
	if err := d.svc.DeleteApplication(r.Context(), id, r.PathValue("client_id"), d.client(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	d.setFlash(w, "flash.app_deleted")
	http.Redirect(w, r, auth.ApplicationsPath, http.StatusSeeOther)
}
