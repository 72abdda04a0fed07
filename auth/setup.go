package auth

import (
	"context"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/password"
)

// MaxNameLength bounds company and person names, in characters.
const MaxNameLength = 200

// cleanName trims a name and refuses empty, overlong or control-laden ones.
func cleanName(s, what string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "Enter a %s.", what)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNameLength {
		return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "The %s must be at most %d characters.", what, MaxNameLength)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return "", gatehouse.Errorf(gatehouse.EInvalidRequest, "The %s contains characters that are not allowed.", what)
		}
	}
	return s, nil
}

// SetupLink returns a one-time link for creating the first company and its
// admin in the browser, or "" when a company exists already.
func (s *Service) SetupLink(ctx context.Context) (string, error) {
	var link string
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		n, err := tx.CompanyCount()
		if err != nil || n > 0 {
			return err
		}
		token, hash := gatehouse.NewToken()
		err = tx.CreateToken(&gatehouse.Token{ID: gatehouse.NewID(tx.Now()), TokenHash: hash, Purpose: gatehouse.TokenSetup,
			CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(SetupTokenLifetime)})
		link = s.link(SetupPath, url.Values{"token": {token}})
		return err
	})
	return link, err
}

// CheckSetupToken tells whether a setup link can still be used, from one
// snapshot: the setup creates the company and uses the link up in one
// commit, and reads on either side of it called the link invalid where
// the setup was done.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	if !gatehouse.TokenLooksValid(token) {
		return errInvalidToken()
	}
	return s.store.ViewSnapshot(ctx, func(tx gatehouse.Tx) error {
		n, err := tx.CompanyCount()
		if err != nil {
			return err
		}
		if n > 0 {
			return gatehouse.Errorf(gatehouse.ESetupDone, "Gatehouse is already set up. Log in instead.")
		}
		t, err := tx.TokenByHash(gatehouse.HashToken(token))
		if err != nil || t.Purpose != gatehouse.TokenSetup {
			return errInvalidToken()
		}
		return nil
	})
}

// NewCompany is the first company and admin, from the setup page or the
// command line.
type NewCompany struct {
	Name       string
	AdminName  string
	AdminEmail string
	// Password is the admin's password; empty from the command line
	// without --password-stdin, which makes an invitation link instead.
	Password string
	Confirm  string
}

// Setup creates the first company and its admin with a setup link and
// logs the admin in.
func (s *Service) Setup(ctx context.Context, token string, nc NewCompany, c Client) (*LoginResult, error) {
	if err := checkConfirm(nc.Password, nc.Confirm); err != nil {
		return nil, err
	}
	if err := s.checkAddress(ctx, c); err != nil {
		return nil, err
	}
	if err := s.CheckSetupToken(ctx, token); err != nil {
		return nil, s.countBadToken(ctx, err, c)
	}
	var res *LoginResult
	_, _, err := s.createCompany(ctx, nc, nil, c, func(tx gatehouse.Tx, o *outcome, u *gatehouse.User) error {
		// Every setup link dies here: of setups racing with two links
		// (two starts printed one each), one wins.
		ok, err := tx.ConsumeSetupToken(gatehouse.HashToken(token))
		if err != nil {
			return err
		}
		if !ok {
			return gatehouse.Errorf(gatehouse.ESetupDone, "Gatehouse is already set up. Log in instead.")
		}
		// The first company is the last one a setup link makes.
		if n, err := tx.CompanyCount(); err != nil || n > 1 {
			if err == nil {
				err = gatehouse.Errorf(gatehouse.ESetupDone, "Gatehouse is already set up. Log in instead.")
			}
			return err
		}
		res, err = s.advance(tx, o, u, gatehouse.StepPassword, c)
		return err
	})
	return res, err
}

// CreateCompany creates a company and its first admin (the command line's
// `company create`). Without a password it returns an invitation link at
// which the admin sets one.
func (s *Service) CreateCompany(ctx context.Context, nc NewCompany, c Client) (*gatehouse.Company, *gatehouse.User, string, error) {
	if nc.Password != "" && nc.Confirm == "" {
		nc.Confirm = nc.Password
	}
	if err := checkConfirm(nc.Password, nc.Confirm); err != nil {
		return nil, nil, "", err
	}
	var link string
	company, u, err := s.createCompany(ctx, nc, nil, c, func(tx gatehouse.Tx, o *outcome, u *gatehouse.User) (err error) {
		if nc.Password == "" {
			link, err = s.newLinkToken(tx, u, gatehouse.TokenInvitation, InvitationLifetime)
		}
		return err
	})
	return company, u, link, err
}

// createCompany validates, hashes and inserts the company and its admin,
// then runs then in the same transaction. actor is the operator key that
// provisions it, or nil.
func (s *Service) createCompany(ctx context.Context, nc NewCompany, actor *Actor, c Client,
	then func(tx gatehouse.Tx, o *outcome, u *gatehouse.User) error) (*gatehouse.Company, *gatehouse.User, error) {
	name, err := cleanName(nc.Name, "company name")
	if err != nil {
		return nil, nil, err
	}
	adminName, err := cleanName(nc.AdminName, "name")
	if err != nil {
		return nil, nil, err
	}
	email, err := ParseEmail(nc.AdminEmail)
	if err != nil {
		return nil, nil, err
	}
	var hash string
	if nc.Password != "" {
		if err := policyError(password.Check(nc.Password, email, adminName, name)); err != nil {
			return nil, nil, err
		}
		if hash, err = s.hasher.Hash(ctx, nc.Password); err != nil {
			return nil, nil, hashError(err)
		}
	}
	var company *gatehouse.Company
	var u *gatehouse.User
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		company = &gatehouse.Company{ID: gatehouse.NewID(tx.Now()), Name: name, CreatedAt: tx.Now()}
		if err := tx.CreateCompany(company); err != nil {
			return err
		}
		u = &gatehouse.User{ID: gatehouse.NewID(tx.Now()), CompanyID: company.ID, Email: email, Name: adminName,
			Role: gatehouse.RoleAdmin, PasswordHash: hash, CreatedAt: tx.Now()}
		if hash != "" {
			u.PasswordChangedAt = tx.Now()
		}
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		e := event(gatehouse.EventCompanyCreated, company.ID, "", u.ID, c)
		if actor != nil {
			e.ActorID, e.ActorType = actor.ID, actor.actorType()
		}
		if err := s.audit(tx, e); err != nil {
			return err
		}
		return then(tx, o, u)
	})
	if err != nil {
		return nil, nil, err
	}
	return company, u, nil
}
