package api

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Applications of the caller's company (../shared/API.md, "Applications"):
// thin handlers over auth's application methods.

// appJSON is an application as its admins see it; the client secret is
// shown only once, in the answer that makes it.
type appJSON struct {
	ClientID               string   `json:"client_id"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	ForwardAuthHosts       []string `json:"forward_auth_hosts"`
	RequireRole            *string  `json:"require_role"` // null: every role
	RequireMFA             bool     `json:"require_mfa"`
	CreatedAt              string   `json:"created_at"`
	UpdatedAt              string   `json:"updated_at"`
}

func toApp(a *gatehouse.Application) appJSON {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return appJSON{ClientID: a.ClientID, Name: a.Name, RedirectURIs: list(a.RedirectURIs),
		PostLogoutRedirectURIs: list(a.PostLogoutRedirectURIs), Public: a.Public, ForwardAuthHosts: list(a.ForwardAuthHosts),
		RequireRole: stringPtr(string(a.RequireRole)), RequireMFA: a.RequireMFA, CreatedAt: timeString(a.CreatedAt),
		UpdatedAt: timeString(a.UpdatedAt)}
}

func (d deps) handleListApps() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r); err != nil {
			return err
		}
		list, err := d.svc.Applications(r.Context(), id)
		if err != nil {
			return err
		}
		out := struct {
			Apps []appJSON `json:"apps"`
		}{Apps: []appJSON{}}
		for _, a := range list {
			out.Apps = append(out.Apps, toApp(a))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// appRequest is the body of POST /api/v1/company/apps: the flags of
// `gatehouse app create`, but for first-party (the operator's apps only).
type appRequest struct {
	Name                   string   `json:"name" api:"required"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`
	ForwardAuthHosts       []string `json:"forward_auth_hosts"`
	RequireRole            *string  `json:"require_role"`
	RequireMFA             bool     `json:"require_mfa"`
}

func (d deps) handleCreateApp() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req appRequest) error {
		na := auth.NewApplication{Name: req.Name, RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs,
			Public: req.Public, ForwardAuthHosts: req.ForwardAuthHosts, RequireMFA: req.RequireMFA}
		if req.RequireRole != nil {
			na.RequireRole = gatehouse.Role(*req.RequireRole)
		}
		created, err := d.svc.CreateApplication(r.Context(), id, na, client(r))
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/company/apps/"+created.Application.ClientID)
		out := struct {
			appJSON
			ClientSecret *string `json:"client_secret"`
		}{appJSON: toApp(created.Application)}
		if !created.Application.Public {
			out.ClientSecret = &created.ClientSecret
		}
		writeJSON(w, http.StatusCreated, out)
		return nil
	})
}

// appPatch is the body of PATCH /api/v1/company/apps/{client_id}: any
// of appRequest's members; those left out stay. An empty list clears
// one; require_role null (or "") admits every role again. public may be
// sent, but only as the app is: it cannot change.
type appPatch struct {
	Name                   *string      `json:"name"`
	RedirectURIs           []string     `json:"redirect_uris"`
	PostLogoutRedirectURIs []string     `json:"post_logout_redirect_uris"`
	Public                 *bool        `json:"public"`
	ForwardAuthHosts       []string     `json:"forward_auth_hosts"`
	RequireRole            nullableRole `json:"require_role"`
	RequireMFA             *bool        `json:"require_mfa"`
}

// nullableRole is a role member whose null means something (every
// role), unlike its absence (unchanged).
type nullableRole struct {
	Set  bool
	Role gatehouse.Role
}

func (n *nullableRole) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, (*string)(&n.Role)); err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The member \"require_role\" must be a string or null.")
	}
	return nil
}

func (d deps) handleUpdateApp() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req appPatch) error {
		ch := auth.ApplicationChange{Name: req.Name, RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs,
			Public: req.Public, ForwardAuthHosts: req.ForwardAuthHosts, RequireMFA: req.RequireMFA}
		if req.RequireRole.Set {
			ch.RequireRole = &req.RequireRole.Role
		}
		a, err := d.svc.UpdateApplication(r.Context(), id, r.PathValue("client_id"), ch, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toApp(a))
		return nil
	})
}

func (d deps) handleDeleteApp() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.DeleteApplication(r.Context(), id, r.PathValue("client_id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
