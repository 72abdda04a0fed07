package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Company administration: thin handlers over the admin methods of package
// auth, which decide who may do what to whom.

// adminAuthed is authed for admin calls: a member is refused with 403
// before the query or the body is read, so that validation errors tell
// members nothing.
func adminAuthed[T any](d deps, h func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req T) error) http.Handler {
	return guarded(d, auth.RequireAdmin, h)
}

type companyJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	RequireTOTP bool   `json:"require_totp"`
}

func toCompany(c *gatehouse.Company) companyJSON {
	return companyJSON{ID: c.ID, Name: c.Name, RequireTOTP: c.RequireTOTP}
}

func (d deps) handleCompany() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r); err != nil {
			return err
		}
		c, err := d.svc.Company(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toCompany(c))
		return nil
	})
}

type companyPatch struct {
	Name        *string `json:"name"`
	RequireTOTP *bool   `json:"require_totp"`
}

func (d deps) handleUpdateCompany() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req companyPatch) error {
		if req.Name == nil && req.RequireTOTP == nil {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "Send at least one of name and require_totp.")
		}
		c, err := d.svc.UpdateCompany(r.Context(), id, auth.CompanyUpdate{Name: req.Name, RequireTOTP: req.RequireTOTP}, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toCompany(c))
		return nil
	})
}

// onlyParams refuses query parameters other than allowed, and any given
// twice: a typo in a filter should fail loudly, not list everything.
func onlyParams(r *http.Request, allowed ...string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The query string could not be read.")
	}
	for k, vs := range q {
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The query parameter %q is not known.", k)
		}
		if len(vs) > 1 {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The query parameter %q appears more than once.", k)
		}
		if !utf8.ValidString(vs[0]) {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "The query parameter %q is not valid UTF-8.", k)
		}
	}
	return nil
}

// pageParams reads limit and cursor, which auth checks: the cursor is
// passed on as it came, the limit as a number. A limit given as 0 is
// refused here, since auth reads 0 as "the default".
func pageParams(r *http.Request) (limit int, cursor string, err error) {
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		limit, err = strconv.Atoi(s)
		if err != nil || limit == 0 {
			return 0, "", gatehouse.Errorf(gatehouse.EInvalidRequest, "The limit must be a number from 1 to %d.", auth.MaxPageSize)
		}
	}
	return limit, q.Get("cursor"), nil
}

// nextCursor is a page's next_cursor: null on the last page.
func nextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

func (d deps) handleListUsers() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r, "query", "limit", "cursor"); err != nil {
			return err
		}
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		page, err := d.svc.ListUsers(r.Context(), id, auth.UserQuery{Query: r.URL.Query().Get("query"), Cursor: cursor, Limit: limit})
		if err != nil {
			return err
		}
		out := struct {
			Users      []listedUserJSON `json:"users"`
			NextCursor *string          `json:"next_cursor"`
		}{Users: []listedUserJSON{}, NextCursor: nextCursor(page.Next)}
		for _, u := range page.Users {
			out.Users = append(out.Users, listedUserJSON{toAdminUser(u), toMailProblem(page.MailProblems[u.ID])})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

type inviteRequest struct {
	Email string `json:"email" api:"required"`
	Name  string `json:"name" api:"required"`
	Role  string `json:"role"`
}

func (d deps) handleInviteUser() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req inviteRequest) error {
		u, err := d.svc.InviteUser(r.Context(), id, auth.Invite{Email: req.Email, Name: req.Name, Role: gatehouse.Role(req.Role)}, client(r))
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/company/users/"+u.ID)
		writeJSON(w, http.StatusCreated, toAdminUser(u))
		return nil
	})
}

// listedUserJSON is a user in the admins' list.
type listedUserJSON struct {
	adminUserJSON
	MailProblem *mailProblemJSON `json:"mail_problem"`
}

// userDetailJSON is one user as an admin sees them on their own.
type userDetailJSON struct {
	adminUserJSON
	LockedUntil *string          `json:"locked_until"`
	MailProblem *mailProblemJSON `json:"mail_problem"`
}

func (d deps) handleGetUser() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := onlyParams(r); err != nil {
			return err
		}
		u, err := d.svc.CompanyUser(r.Context(), id, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, userDetailJSON{adminUserJSON: toAdminUser(u.User), LockedUntil: timePtr(u.LockedUntil),
			MailProblem: toMailProblem(u.MailProblem)})
		return nil
	})
}

type userPatch struct {
	Email    *string `json:"email"`
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}

func (d deps) handleUpdateUser() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req userPatch) error {
		upd := auth.UserUpdate{Email: req.Email, Name: req.Name, Disabled: req.Disabled}
		if req.Role != nil {
			role := gatehouse.Role(*req.Role)
			upd.Role = &role
		}
		u, err := d.svc.UpdateUser(r.Context(), id, r.PathValue("id"), upd, client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toAdminUser(u))
		return nil
	})
}

type adminResetRequest struct {
	Method            string  `json:"method" api:"required"`
	TemporaryPassword *string `json:"temporary_password"`
}

func (d deps) handleAdminPasswordReset() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, req adminResetRequest) error {
		userID := r.PathValue("id")
		switch req.Method {
		case auth.ResetByEmail:
			if req.TemporaryPassword != nil {
				return gatehouse.Errorf(gatehouse.EInvalidRequest, "temporary_password goes with the method \"temporary\" only.")
			}
			if err := d.svc.ResetPasswordByEmail(r.Context(), id, userID, client(r)); err != nil {
				return err
			}
			writeJSON(w, http.StatusAccepted, struct {
				Message string `json:"message"`
			}{"The user was sent a link to choose a new password."})
			return nil
		case auth.ResetByTemporary:
			typed := ""
			if req.TemporaryPassword != nil {
				if typed = *req.TemporaryPassword; typed == "" {
					return gatehouse.Errorf(gatehouse.EInvalidRequest, "temporary_password is empty; leave it out to have one generated.")
				}
			}
			pw, err := d.svc.SetTemporaryPassword(r.Context(), id, userID, typed, client(r))
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, struct {
				TemporaryPassword string `json:"temporary_password"`
				ExpiresIn         int    `json:"expires_in"`
			}{pw, int(auth.TempPasswordLifetime.Seconds())})
			return nil
		}
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The method must be \"email\" or \"temporary\".")
	})
}

func (d deps) handleUnlockUser() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		if err := d.svc.UnlockUser(r.Context(), id, r.PathValue("id"), client(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type auditEventJSON struct {
	ID          string  `json:"id"`
	At          string  `json:"at"`
	Type        string  `json:"type"`
	ActorID     string  `json:"actor_id"`
	ActorType   *string `json:"actor_type"` // user, api_key, operator; null for nobody (an anonymous caller)
	ActorEmail  *string `json:"actor_email"`
	TargetID    string  `json:"target_id"`
	TargetEmail *string `json:"target_email"`
	IP          string  `json:"ip"`
	UserAgent   string  `json:"user_agent"`
	Detail      string  `json:"detail"`
}

func toAuditEvent(e *gatehouse.AuditEvent, users map[string]*gatehouse.User) auditEventJSON {
	email := func(id string) *string {
		if u := users[id]; u != nil {
			return &u.Email
		}
		return nil
	}
	j := auditEventJSON{ID: e.ID, At: timeString(e.At), Type: e.Type, ActorID: e.ActorID,
		TargetID: e.TargetID, TargetEmail: email(e.TargetID), IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail}
	switch {
	case e.ActorType == gatehouse.ActorAPIKey:
		j.ActorType = stringPtr(gatehouse.ActorAPIKey)
	case e.ActorID != "":
		j.ActorType, j.ActorEmail = stringPtr("user"), email(e.ActorID)
	case e.ByOperator():
		j.ActorType = stringPtr("operator")
	}
	return j
}

func auditQuery(r *http.Request, paged bool) (auth.AuditQuery, error) {
	allowed := []string{"type", "user_id"}
	if paged {
		allowed = append(allowed, "limit", "cursor")
	}
	if err := onlyParams(r, allowed...); err != nil {
		return auth.AuditQuery{}, err
	}
	q := auth.AuditQuery{Type: r.URL.Query().Get("type"), UserID: r.URL.Query().Get("user_id")}
	if paged {
		var err error
		if q.Limit, q.Cursor, err = pageParams(r); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (d deps) handleAuditEvents() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		q, err := auditQuery(r, true)
		if err != nil {
			return err
		}
		page, err := d.svc.AuditEvents(r.Context(), id, q)
		if err != nil {
			return err
		}
		out := struct {
			Events     []auditEventJSON `json:"events"`
			NextCursor *string          `json:"next_cursor"`
		}{Events: []auditEventJSON{}, NextCursor: nextCursor(page.Next)}
		for _, e := range page.Events {
			out.Events = append(out.Events, toAuditEvent(e, page.Users))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// handleExportAudit streams the whole (filtered) log as JSON lines, one
// event per line, newest first, as a download.
func (d deps) handleExportAudit() http.Handler {
	return adminAuthed(d, func(w http.ResponseWriter, r *http.Request, id *auth.Identity, _ none) error {
		q, err := auditQuery(r, false)
		if err != nil {
			return err
		}
		started := false
		enc := json.NewEncoder(w)
		err = d.svc.ExportAuditEvents(r.Context(), id, q, client(r), func(e *gatehouse.AuditEvent, users map[string]*gatehouse.User) error {
			if !started {
				startExport(w, time.Now())
				started = true
			}
			return enc.Encode(toAuditEvent(e, users))
		})
		if err != nil && started {
			// The status is sent; all we can do is cut the download short.
			d.log.Error("audit export cut short", "err", err)
			panic(http.ErrAbortHandler)
		}
		if err == nil && !started {
			startExport(w, time.Now())
		}
		return err
	})
}

func startExport(w http.ResponseWriter, now time.Time) {
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="gatehouse-audit-%s.jsonl"`, now.UTC().Format("2006-01-02")))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
