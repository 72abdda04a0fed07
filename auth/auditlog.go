package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// AuditQuery selects a page of the company's audit log, newest first.
type AuditQuery struct {
	Type   string // an event type, or empty for all
	UserID string // events where this user acted or was acted on
	Cursor string // the Next of the previous page; "" for the first
	Limit  int    // DefaultPageSize when 0, at most MaxPageSize
}

// AuditPage is a page of events with the users they name; Next is the
// cursor of the next page, "" on the last page.
type AuditPage struct {
	Events []*gatehouse.AuditEvent
	Users  map[string]*gatehouse.User
	// Keys are the API keys that acted, by ID; a deleted key is absent.
	Keys map[string]*gatehouse.APIKey
	Next string
}

// checkAuditQuery refuses malformed filters with a clear message, and an
// unknown or foreign user as not found.
func checkAuditQuery(tx gatehouse.Tx, actor *Actor, q AuditQuery) error {
	if q.Type != "" && !validEventType(q.Type) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "The type filter is not an event type (such as %s).", gatehouse.EventLoginFailed)
	}
	if q.UserID != "" {
		if _, err := companyUser(tx, actor, q.UserID); err != nil {
			return err
		}
	}
	return nil
}

// validEventType accepts the shape of event types (lower case, dots and
// underscores) so that types added later filter without a list to update.
func validEventType(t string) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && r != '.' && r != '_' {
			return false
		}
	}
	return true
}

// AuditEvents returns a page of the caller's company's audit log.
func (s *Service) AuditEvents(ctx context.Context, id *Identity, q AuditQuery) (*AuditPage, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	limit, err := checkLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	return s.auditPage(ctx, id, q, limit)
}

// auditPage reads a page of events and the users and keys they name from
// one snapshot: a key's deletion removes the key and logs its deletion in
// one commit, and reads on either side of it named the key deleted on a
// page without its deletion.
func (s *Service) auditPage(ctx context.Context, id *Identity, q AuditQuery, limit int) (*AuditPage, error) {
	before, err := readCursor(q.Cursor, maxIDBytes)
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Users: map[string]*gatehouse.User{}, Keys: map[string]*gatehouse.APIKey{}}
	err = s.adminSnapshot(ctx, id, func(tx gatehouse.Tx, actor *Actor) error {
		if err := checkAuditQuery(tx, actor, q); err != nil {
			return err
		}
		events, err := tx.AuditEvents(gatehouse.AuditFilter{CompanyID: actor.CompanyID, Type: q.Type, UserID: q.UserID,
			Before: before, Limit: limit + 1})
		if err != nil {
			return err
		}
		page.Events, page.Next = lastPage(events, limit, func(e *gatehouse.AuditEvent) string { return e.ID })
		if err := nameKeys(tx, actor.CompanyID, page.Events, page.Keys); err != nil {
			return err
		}
		return nameUsers(tx, actor.CompanyID, page.Events, page.Users)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// nameKeys looks up the API keys that acted in events, once each; only
// keys of the company are named.
func nameKeys(tx gatehouse.Tx, companyID string, events []*gatehouse.AuditEvent, keys map[string]*gatehouse.APIKey) error {
	for _, e := range events {
		if e.ActorType != gatehouse.ActorAPIKey {
			continue
		}
		if _, seen := keys[e.ActorID]; seen {
			continue
		}
		k, err := tx.APIKey(e.ActorID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			keys[e.ActorID] = nil
			continue
		}
		if err != nil {
			return err
		}
		if k.CompanyID != companyID {
			k = nil // an operator key: named, not shown
		}
		keys[e.ActorID] = k
	}
	return nil
}

// nameUsers looks up the users events name, once each; only users of the
// company are named.
func nameUsers(tx gatehouse.Tx, companyID string, events []*gatehouse.AuditEvent, users map[string]*gatehouse.User) error {
	for _, e := range events {
		ids := []string{e.TargetID}
		if e.ActorType == gatehouse.ActorUser {
			ids = append(ids, e.ActorID)
		}
		for _, uid := range ids {
			if uid == "" {
				continue
			}
			if _, seen := users[uid]; seen {
				continue
			}
			u, err := tx.User(uid)
			if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
				users[uid] = nil
				continue
			}
			if err != nil {
				return err
			}
			if u.CompanyID != companyID {
				u = nil
			}
			users[uid] = u
		}
	}
	return nil
}

// exportBatch is how many events an export reads at a time.
const exportBatch = 500

// ExportAuditEvents calls fn for every event of the caller's company that
// matches q (Limit and Cursor ignored), newest first, with the users it
// names, reading in batches so that memory stays flat however long the
// log. The export itself is audited first.
func (s *Service) ExportAuditEvents(ctx context.Context, id *Identity, q AuditQuery, c Client,
	fn func(e *gatehouse.AuditEvent, users map[string]*gatehouse.User) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		if err := checkAuditQuery(tx, actor, q); err != nil {
			return err
		}
		e := actorEvent(gatehouse.EventAuditExported, actor, q.UserID, c)
		if q.Type != "" {
			e.Detail = "type=" + q.Type
		}
		return s.audit(tx, e)
	})
	if err != nil {
		return err
	}
	q.Cursor = ""
	for {
		page, err := s.auditPage(ctx, id, q, exportBatch)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if err := fn(e, page.Users); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}
