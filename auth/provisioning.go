package auth

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Provisioning: what an operator key does (../shared/API.md, "API keys
// and provisioning") — a SaaS product's backend creates a company and its
// first admin from its own sign-up page, lists companies, and mints a
// company key to manage the new company's users. Only an operator key may;
// a company key or a signed-in user gets EForbidden.

// RequireOperatorKey refuses callers that are not an operator key, with
// EForbidden. Front ends ask it before reading a request.
func RequireOperatorKey(id *Identity) error {
	if id == nil || id.Key == nil || !id.Key.Operator() {
		return gatehouse.Errorf(gatehouse.EForbidden, "Only an operator API key can do this.")
	}
	return nil
}

// freshOperatorKey re-reads the caller's operator key inside a
// transaction: it may have been deleted since the request began.
func freshOperatorKey(tx gatehouse.Tx, id *Identity) (*Actor, error) {
	if err := RequireOperatorKey(id); err != nil {
		return nil, err
	}
	k, err := tx.APIKey(id.Key.ID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, RequireOperatorKey(nil)
	}
	if err != nil {
		return nil, err
	}
	if !k.Operator() || k.Expired(tx.Now()) {
		return nil, RequireOperatorKey(nil)
	}
	return keyActor(k), nil
}

// ProvisionCompany creates a company and its first admin, who is invited
// by mail to choose a password (as `company create` without a password,
// with the invitation sent rather than printed). The company's log
// records the operator key as the actor.
func (s *Service) ProvisionCompany(ctx context.Context, id *Identity, nc NewCompany, c Client) (*gatehouse.Company, *gatehouse.User, error) {
	if err := RequireOperatorKey(id); err != nil {
		return nil, nil, err
	}
	nc.Password, nc.Confirm = "", ""
	if strings.TrimSpace(nc.AdminName) == "" {
		nc.AdminName, _, _ = strings.Cut(strings.TrimSpace(nc.AdminEmail), "@")
	}
	company, u, err := s.createCompany(ctx, nc, keyActor(id.Key), c, func(tx gatehouse.Tx, o *outcome, u *gatehouse.User) error {
		// The key may have been deleted since the request began: then
		// all of this rolls back.
		if _, err := freshOperatorKey(tx, id); err != nil {
			return err
		}
		// The invitation comes from the company, not from a key's name.
		return s.sendInvitation(tx, o, u, nil, c)
	})
	return company, u, err
}

// CompanyPage is a page of companies, ordered by ID; Next is the cursor
// of the next page, "" on the last.
type CompanyPage struct {
	Companies []*gatehouse.Company
	Next      string
}

// Companies returns a page of every company, for an operator key.
func (s *Service) Companies(ctx context.Context, id *Identity, cursor string, limit int) (*CompanyPage, error) {
	if err := RequireOperatorKey(id); err != nil {
		return nil, err
	}
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	after, err := readCursor(cursor, maxIDBytes)
	if err != nil {
		return nil, err
	}
	page := &CompanyPage{}
	err = s.store.View(ctx, func(tx gatehouse.Tx) error {
		if _, err := freshOperatorKey(tx, id); err != nil {
			return err
		}
		list, err := tx.Companies(after, limit+1)
		page.Companies, page.Next = lastPage(list, limit, func(c *gatehouse.Company) string { return c.ID })
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// MintCompanyKey makes a key of the company companyID for an operator
// key, shown only now; the company's log records the operator key as its
// maker. An operator key cannot make another operator key: those are made
// on the command line only.
func (s *Service) MintCompanyKey(ctx context.Context, id *Identity, companyID string, nk NewAPIKey, c Client) (*CreatedAPIKey, error) {
	if err := RequireOperatorKey(id); err != nil {
		return nil, err
	}
	if _, err := checkNewAPIKey(nk, time.Time{}); err != nil {
		return nil, err
	}
	if companyID == "" || len(companyID) > maxIDBytes {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "Company not found.")
	}
	var created *CreatedAPIKey
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshOperatorKey(tx, id)
		if err != nil {
			return err
		}
		if err := tx.LockCompany(companyID); err != nil {
			return err
		}
		created, err = s.createAPIKey(tx, companyID, actor, nk, c)
		return err
	})
	return created, err
}
