package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// Company administration: what an admin may do to the users of their own
// company. Who may do what to whom is decided here and nowhere else:
//
//   - the caller must be an admin (members get EForbidden), checked again
//     inside each write transaction, so that an admin demoted a moment ago
//     cannot act on a stale session;
//   - a target user is loaded by ID and its company compared with the
//     caller's; another company's user is ENotFound, exactly like a user
//     that does not exist, so IDs of other tenants reveal nothing;
//   - the last active admin of a company can be neither demoted nor
//     disabled (ELastAdmin). Every transaction that checks this rule locks
//     the company row first, so two admins demoting each other at the same
//     moment leave one admin, on SQLite and PostgreSQL alike.
//
// The actions themselves: company.go (the company's settings), users.go
// (list, invite, change, disable), adminreset.go (password resets and
// unlocking) and auditlog.go (reading and exporting the audit log).

func errForbidden() error {
	return gatehouse.Errorf(gatehouse.EForbidden, "Only administrators of the company can do this.")
}

func errUserNotFound() error {
	return gatehouse.Errorf(gatehouse.ENotFound, "User not found.")
}

// RequireAdmin refuses callers who are not admins, with EForbidden. Front
// ends ask it before reading a request, so that a member learns nothing
// from validation errors; every admin method asks it again. A company API
// key is an admin of its company; an operator key is not.
func RequireAdmin(id *Identity) error { return requireAdmin(id) }

func requireAdmin(id *Identity) error {
	switch {
	case id == nil:
		return errForbidden()
	case id.Key != nil:
		if id.Key.Operator() {
			return errForbidden()
		}
		return nil
	case id.User == nil || id.User.Role != gatehouse.RoleAdmin:
		return errForbidden()
	}
	return nil
}

// freshAdmin re-reads the caller inside a transaction and returns it as
// the Actor: the session or key was checked before the transaction began,
// and since then the user may have been demoted or disabled, or the key
// deleted.
func freshAdmin(tx gatehouse.Tx, id *Identity) (*Actor, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	if id.Key != nil {
		k, err := tx.APIKey(id.Key.ID)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			return nil, errForbidden()
		}
		if err != nil {
			return nil, err
		}
		if k.Operator() || k.Expired(tx.Now()) {
			return nil, errForbidden()
		}
		return keyActor(k), nil
	}
	u, err := tx.User(id.User.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errForbidden()
	}
	if err != nil {
		return nil, err
	}
	if u.Role != gatehouse.RoleAdmin || u.Status() == gatehouse.StatusDisabled {
		return nil, errForbidden()
	}
	return userActor(u), nil
}

// maxIDBytes bounds an ID sent by a client; IDs are 26 characters
// (gatehouse.NewID), and anything much longer is not worth a query.
const maxIDBytes = 64

// companyUser loads a user of the admin's company; anyone else's user is
// not found, never forbidden, so that IDs of other tenants leak nothing.
func companyUser(tx gatehouse.Tx, actor *Actor, userID string) (*gatehouse.User, error) {
	if userID == "" || len(userID) > maxIDBytes {
		return nil, errUserNotFound()
	}
	u, err := tx.User(userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, err
	}
	if u.CompanyID != actor.CompanyID {
		return nil, errUserNotFound()
	}
	return u, nil
}

// adminTarget is freshAdmin and companyUser together, the start of most
// admin actions.
func adminTarget(tx gatehouse.Tx, id *Identity, userID string) (actor *Actor, target *gatehouse.User, err error) {
	actor, err = freshAdmin(tx, id)
	if err != nil {
		return nil, nil, err
	}
	target, err = companyUser(tx, actor, userID)
	return actor, target, err
}

// isActiveAdmin tells whether u counts for the last-admin rule: an admin
// who can log in.
func isActiveAdmin(u *gatehouse.User) bool {
	return u.Role == gatehouse.RoleAdmin && u.Status() == gatehouse.StatusActive
}

// checkNotLastAdmin refuses to take the last active admin of the company
// away. The caller has locked the company in this transaction.
func checkNotLastAdmin(tx gatehouse.Tx, target *gatehouse.User) error {
	if !isActiveAdmin(target) {
		return nil
	}
	n, err := tx.CountActiveAdmins(target.CompanyID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return gatehouse.Errorf(gatehouse.ELastAdmin, "This is the company's last active administrator. Make someone else an administrator first.")
	}
	return nil
}

// adminView reads with the caller's admin rights checked: the check and
// one query, or queries that no one commit changes together.
func (s *Service) adminView(ctx context.Context, id *Identity, fn func(tx gatehouse.Tx, actor *Actor) error) error {
	return s.adminRead(ctx, s.store.View, id, fn)
}

// adminSnapshot is adminView from one snapshot, for an answer whose
// queries read rows that one commit changes together (see DESIGN.md,
// "Reads").
func (s *Service) adminSnapshot(ctx context.Context, id *Identity, fn func(tx gatehouse.Tx, actor *Actor) error) error {
	return s.adminRead(ctx, s.store.ViewSnapshot, id, fn)
}

// adminRead is adminView on view: the store's View or ViewSnapshot.
func (s *Service) adminRead(ctx context.Context, view func(context.Context, func(gatehouse.Tx) error) error, id *Identity,
	fn func(tx gatehouse.Tx, actor *Actor) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return view(ctx, func(tx gatehouse.Tx) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		return fn(tx, actor)
	})
}

// adminUpdate runs fn in a write transaction on the user userID of the
// caller's company, with the caller's admin rights checked before it and
// again inside it (adminTarget).
func (s *Service) adminUpdate(ctx context.Context, id *Identity, userID string,
	fn func(tx gatehouse.Tx, o *outcome, actor *Actor, target *gatehouse.User) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		return fn(tx, o, actor, target)
	})
}

// companyLimit bounds how many of something one company may have.
type companyLimit struct {
	max   int
	what  string // plural, as the refusal names them
	count func(tx gatehouse.Tx, companyID string) (int, error)
}

// check refuses one more for the company once it has max. The caller
// holds the company's lock (adminLocked), so that two adding at once
// cannot pass the limit together.
func (l companyLimit) check(tx gatehouse.Tx, companyID string) error {
	n, err := l.count(tx, companyID)
	if err != nil {
		return err
	}
	if n >= l.max {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "A company can have at most %d %s; delete one first.", l.max, l.what)
	}
	return nil
}

// adminLocked runs fn in a write transaction as the caller's company's
// admin, checked before it and again inside it, holding the company's
// lock: two admins adding at once must not pass a limit together.
func (s *Service) adminLocked(ctx context.Context, id *Identity, fn func(tx gatehouse.Tx, actor *Actor) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := tx.LockCompany(id.CompanyID()); err != nil {
			return err
		}
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		return fn(tx, actor)
	})
}

// adminItem runs fn in a write transaction on the item of the caller's
// company that load finds (ENotFound for another company's), with the
// caller's admin rights checked before it and again inside it.
func adminItem[T any](s *Service, ctx context.Context, id *Identity, load func(tx gatehouse.Tx, actor *Actor) (T, error),
	fn func(tx gatehouse.Tx, o *outcome, actor *Actor, item T) error) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		item, err := load(tx, actor)
		if err != nil {
			return err
		}
		return fn(tx, o, actor, item)
	})
}

// adminMail fills what every message about target says, naming the admin
// or key who acted (nil: the operator).
func (s *Service) adminMail(tx gatehouse.Tx, target *gatehouse.User, actor *Actor) (mail.Data, error) {
	d := mail.Data{Name: target.Name, Email: target.Email, At: tx.Now()}
	if actor != nil {
		d.Actor = actor.Name
	}
	company, err := tx.Company(target.CompanyID)
	if err != nil {
		return d, err
	}
	d.Company = company.Name
	return d, nil
}
