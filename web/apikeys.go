package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The company's API keys (../shared/API.md, "API keys and provisioning"):
// the list with each key's last use and expiry, a form to make one, and a
// delete that asks first. Each calls the same auth method as its JSON
// endpoint. A key is shown on the answer that made it, and never again.

// apiKeysData is the page.
type apiKeysData struct {
	Keys []*gatehouse.APIKey
	Max  int
	Now  time.Time
	// Created is the key just made, with the key itself to show once.
	Created *auth.CreatedAPIKey
	// Today is the earliest expiry the form offers (tomorrow, UTC).
	Today string
	// Problem is the catalogue key of what is wrong with the form, more
	// exact than its error code says.
	Problem string
}

func (d deps) apiKeysPage(w http.ResponseWriter, r *http.Request, id *auth.Identity, data apiKeysData, err error) {
	p := d.pageFor(w, r, "title.api_keys", id)
	p.Nav = "api_keys"
	if err != nil {
		p.setError(err)
		if data.Problem != "" {
			p.Error = p.T(data.Problem)
		}
		p.Form["name"] = r.PostFormValue("name")
		p.Form["expires_at"] = r.PostFormValue("expires_at")
	}
	list, lerr := d.svc.APIKeys(r.Context(), id)
	if lerr != nil {
		d.fail(w, r, lerr)
		return
	}
	now := time.Now().UTC()
	data.Keys, data.Max, data.Now = list, auth.MaxAPIKeysPerCompany, now
	data.Today = now.AddDate(0, 0, 1).Format(time.DateOnly)
	p.Data = data
	d.rd.render(w, r, "settings_api_keys", p)
}

func (d deps) handleAPIKeysPage(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	d.apiKeysPage(w, r, id, apiKeysData{}, nil)
}

// handleCreateAPIKey makes a key and answers with the page showing it: a
// redirect would lose it. The expiry is a date: the key stops working as
// that day begins (UTC).
func (d deps) handleCreateAPIKey(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	nk := auth.NewAPIKey{Name: r.PostFormValue("name")}
	refuse := func(problem string) {
		d.apiKeysPage(w, r, id, apiKeysData{Problem: problem}, gatehouse.Errorf(gatehouse.EInvalidRequest, "The form is not filled in right."))
	}
	if strings.TrimSpace(nk.Name) == "" {
		refuse("api_keys.error_name")
		return
	}
	if s := r.PostFormValue("expires_at"); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil || !t.After(time.Now()) {
			refuse("api_keys.error_expiry")
			return
		}
		nk.ExpiresAt = t
	}
	created, err := d.svc.CreateAPIKey(r.Context(), id, nk, d.client(r))
	if err != nil {
		d.apiKeysPage(w, r, id, apiKeysData{}, err)
		return
	}
	d.apiKeysPage(w, r, id, apiKeysData{Created: created}, nil)
}

var confirmDeleteAPIKey = &confirmation{"api_key.delete_confirm", "api_key.delete_confirm_text", "api_key.delete"}

// handleDeleteAPIKey deletes after a confirmation (deleteConfirmed).
func (d deps) handleDeleteAPIKey(w http.ResponseWriter, r *http.Request, id *auth.Identity) {
	keyID := r.PathValue("id")
	d.deleteConfirmed(w, r, id, "api_keys", func() (question, error) {
		list, err := d.svc.APIKeys(r.Context(), id)
		if err != nil {
			return question{}, err
		}
		for _, k := range list {
			if k.ID == keyID {
				return question{confirmation: confirmDeleteAPIKey, args: []any{"name", k.Name}, back: auth.APIKeysPath,
					backKey: "api_keys.heading"}, nil
			}
		}
		return question{}, gatehouse.Errorf(gatehouse.ENotFound, "API key not found.")
	}, func() error {
		return d.svc.DeleteAPIKey(r.Context(), id, keyID, d.client(r))
	}, "flash.api_key_deleted", auth.APIKeysPath)
}
