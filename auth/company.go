package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Company returns the caller's company.
func (s *Service) Company(ctx context.Context, id *Identity) (*gatehouse.Company, error) {
	var c *gatehouse.Company
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		c, err = tx.Company(actor.CompanyID)
		return err
	})
	return c, err
}

// CompanyUpdate changes a company; nil fields stay as they are.
type CompanyUpdate struct {
	Name        *string
	RequireTOTP *bool
}

// UpdateCompany renames the company or switches the 2FA requirement. With
// RequireTOTP on, the sessions of users without 2FA stop working (see
// Authenticate) and their next login sets 2FA up (the login state machine
// does that). An admin without 2FA cannot switch it on (EOwnTOTPRequired):
// they would sign themselves out with the very request, and a rule is
// best made by someone who keeps it.
func (s *Service) UpdateCompany(ctx context.Context, id *Identity, upd CompanyUpdate, c Client) (*gatehouse.Company, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	var name string
	if upd.Name != nil {
		var err error
		if name, err = cleanName(*upd.Name, "company name"); err != nil {
			return nil, err
		}
	}
	var company *gatehouse.Company
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		company, err = tx.Company(actor.CompanyID)
		if err != nil {
			return err
		}
		var changed []string
		if upd.Name != nil && name != company.Name {
			company.Name = name
			changed = append(changed, "name")
		}
		if upd.RequireTOTP != nil && *upd.RequireTOTP != company.RequireTOTP {
			if *upd.RequireTOTP && actor.User != nil && !actor.User.HasSecondFactor() {
				return gatehouse.Errorf(gatehouse.EOwnTOTPRequired,
					"Turn on two-factor authentication for your own account before requiring it for everyone.")
			}
			company.RequireTOTP = *upd.RequireTOTP
			changed = append(changed, "require_totp="+boolWord(company.RequireTOTP))
		}
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateCompany(company); err != nil {
			return err
		}
		e := actorEvent(gatehouse.EventCompanyUpdated, actor, "", c)
		e.Detail = strings.Join(changed, " ")
		return s.audit(tx, e)
	})
	if err != nil {
		return nil, err
	}
	return company, nil
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
