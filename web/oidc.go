package web

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/oidcop"
)

// The pages of the OpenID Connect provider: the consent to a third-party
// app and the apps a user connected (docs/OIDC.md). The protocol itself is package oidcop's.

type consentData struct {
	RequestID string
	App       *gatehouse.Application
	Scopes    []string // the scopes to name, openid aside
}

func (d deps) handleConsentPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	req, app, err := d.authRequest(r, r.URL.Query().Get("id"))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p := d.pageFor(w, r, "title.consent", id)
	var scopes []string
	for _, s := range req.Scopes {
		if s != gatehouse.ScopeOpenID && contains(gatehouse.OIDCScopes, s) {
			scopes = append(scopes, s)
		}
	}
	p.Data = consentData{RequestID: req.ID, App: app, Scopes: append([]string{gatehouse.ScopeOpenID}, scopes...)}
	// The answer, allow or deny, is a redirect to the app: a browser holds
	// it to form-action (TestConnectedAppPages found it blocked).
	allowReturn(w, req.RedirectURI)
	d.rd.render(w, r, "oidc_consent", p)
}

func (d deps) handleConsent(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	if err := form(w, r); err != nil {
		d.fail(w, r, err)
		return
	}
	requestID := r.PostFormValue("id")
	if _, _, err := d.authRequest(r, requestID); err != nil {
		d.fail(w, r, err)
		return
	}
	back := oidcop.ContinueURL(requestID)
	if r.PostFormValue("action") != "allow" {
		http.Redirect(w, r, back+"&"+url.Values{"deny": {"1"}}.Encode(), http.StatusSeeOther)
		return
	}
	if err := d.svc.GrantConsent(r.Context(), id, requestID, d.client(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// appReturn returns the redirect URI of the authorization request that
// next continues, or "". A login form whose next step is such a request
// ends, after the redirects that follow it, at the app (at once for a
// first-party app or a remembered consent), and a browser holds that whole
// chain to the page's form-action.
func (d deps) appReturn(r *http.Request, next string) string {
	if req, _ := d.nextRequest(r, next); req != nil {
		return req.RedirectURI
	}
	return ""
}

// nextRequest returns the live authorization request that next continues
// and its app, or nils when next continues none.
func (d deps) nextRequest(r *http.Request, next string) (*gatehouse.OIDCAuthRequest, *gatehouse.Application) {
	u, err := url.Parse(next)
	if err != nil || u.Path != oidcop.ContinuePath {
		return nil, nil
	}
	req, app, err := d.authRequest(r, u.Query().Get("id"))
	if err != nil {
		return nil, nil
	}
	return req, app
}

// authRequest returns a live authorization request and its app.
func (d deps) authRequest(r *http.Request, requestID string) (*gatehouse.OIDCAuthRequest, *gatehouse.Application, error) {
	req, err := d.svc.AuthRequest(r.Context(), requestID)
	if err != nil {
		return nil, nil, err
	}
	app, err := d.svc.OIDCClient(r.Context(), req.ClientID)
	return req, app, err
}

func (d deps) handleConnectedApps(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	p := d.pageFor(w, r, "title.connected_apps", id)
	p.Nav = "connected_apps"
	list, err := d.svc.ConnectedApps(r.Context(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	p.Data = list
	d.rd.render(w, r, "settings_connected_apps", p)
}

func (d deps) handleRevokeConnectedApp(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	if err := form(w, r); err != nil {
		d.fail(w, r, err)
		return
	}
	if err := d.svc.RevokeConnectedApp(r.Context(), id, r.PathValue("client_id"), d.client(r)); err != nil {
		d.fail(w, r, err)
		return
	}
	d.setFlash(w, "flash.app_revoked")
	http.Redirect(w, r, "/settings/connected-apps", http.StatusSeeOther)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
