package api

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// API keys and provisioning (../shared/API.md): thin handlers over auth's
// key and provisioning methods. A company's keys are managed by its admins
// and its keys under /api/v1/company/api-keys; an operator key provisions
// under /api/v1/companies.

// apiKeyJSON is a key as lists show it; the key itself is shown only in
// the answer that made it.
type apiKeyJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CompanyID  string  `json:"company_id"`
	Prefix     string  `json:"prefix"` // how the key begins: gh_<id>_
	CreatedAt  string  `json:"created_at"`
	CreatedBy  *string `json:"created_by"` // a user's or key's ID; null for the operator
	ExpiresAt  *string `json:"expires_at"`
	LastUsedAt *string `json:"last_used_at"`
}

func toAPIKey(k *gatehouse.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, CompanyID: k.CompanyID, Prefix: gatehouse.APIKeyPrefix + k.ID + "_",
		CreatedAt: timeString(k.CreatedAt), CreatedBy: stringPtr(k.CreatedBy), ExpiresAt: timePtr(k.ExpiresAt),
		LastUsedAt: timePtr(k.LastUsedAt)}
}

// createdAPIKeyJSON is a new key with the key itself, shown once.
type createdAPIKeyJSON struct {
	apiKeyJSON
	Key string `json:"key"`
}

type apiKeyRequest struct {
	Name      string  `json:"name" api:"required"`
	ExpiresAt *string `json:"expires_at"` // RFC 3339; null or absent: never
}

func (req apiKeyRequest) newKey() (auth.NewAPIKey, error) {
	nk := auth.NewAPIKey{Name: req.Name}
	if req.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil {
			return nk, gatehouse.Errorf(gatehouse.EInvalidRequest, "expires_at must be an RFC 3339 time, such as 2027-01-31T00:00:00Z.")
		}
		nk.ExpiresAt = t
	}
	return nk, nil
}

func (d deps) handleListAPIKeys() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r); err != nil {
			return err
		}
		list, err := d.svc.APIKeys(r.Context(), id)
		if err != nil {
			return err
		}
		out := struct {
			APIKeys []apiKeyJSON `json:"api_keys"`
		}{APIKeys: []apiKeyJSON{}}
		for _, k := range list {
			out.APIKeys = append(out.APIKeys, toAPIKey(k))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func (d deps) handleCreateAPIKey() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req apiKeyRequest) error {
		nk, err := req.newKey()
		if err != nil {
			return err
		}
		created, err := d.svc.CreateAPIKey(r.Context(), id, nk, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, createdAPIKeyJSON{toAPIKey(created.APIKey), created.Key})
		return nil
	})
}

func (d deps) handleDeleteAPIKey() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.DeleteAPIKey(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// operatorAuthed is authed for the operator key's calls: anyone else is
// refused with 403 before the query or the body is read.
func operatorAuthed[T any](d deps, h func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error) http.Handler {
	return authed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error {
		if err := auth.RequireOperatorKey(id); err != nil {
			return err
		}
		return h(w, r, id, req)
	})
}

type provisionRequest struct {
	Name       string `json:"name" api:"required"`
	AdminEmail string `json:"admin_email" api:"required"`
	AdminName  string `json:"admin_name"` // default: the email's local part
}

type listedCompanyJSON struct {
	companyJSON
	CreatedAt string `json:"created_at"`
}

func (d deps) handleProvisionCompany() http.Handler {
	return operatorAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req provisionRequest) error {
		c, admin, err := d.svc.ProvisionCompany(r.Context(), id,
			auth.NewCompany{Name: req.Name, AdminEmail: req.AdminEmail, AdminName: req.AdminName}, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, struct {
			ID    string        `json:"id"`
			Name  string        `json:"name"`
			Admin adminUserJSON `json:"admin"`
		}{c.ID, c.Name, toAdminUser(admin)})
		return nil
	})
}

func (d deps) handleListCompanies() http.Handler {
	return operatorAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r, "limit", "cursor"); err != nil {
			return err
		}
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		page, err := d.svc.Companies(r.Context(), id, cursor, limit)
		if err != nil {
			return err
		}
		out := struct {
			Companies  []listedCompanyJSON `json:"companies"`
			NextCursor *string             `json:"next_cursor"`
		}{Companies: []listedCompanyJSON{}, NextCursor: nextCursor(page.Next)}
		for _, c := range page.Companies {
			out.Companies = append(out.Companies, listedCompanyJSON{toCompany(c), timeString(c.CreatedAt)})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func (d deps) handleMintCompanyKey() http.Handler {
	return operatorAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req apiKeyRequest) error {
		nk, err := req.newKey()
		if err != nil {
			return err
		}
		created, err := d.svc.MintCompanyKey(r.Context(), id, r.PathValue("id"), nk, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, createdAPIKeyJSON{toAPIKey(created.APIKey), created.Key})
		return nil
	})
}
