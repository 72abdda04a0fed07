package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/password"
)

// SetLanguage saves the language of the caller's pages and mail: one of
// i18n.Supported, or "" to follow the browser. Returns EInvalidRequest for
// any other value. It is a preference, not a security event: nothing is
// audited or mailed.
func (s *Service) SetLanguage(ctx context.Context, id *Identity, lang string) error {
	if lang != "" && !i18n.IsSupported(lang) {
		return gatehouse.Errorf(gatehouse.EInvalidRequest, "Choose one of the languages offered.")
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		return tx.SetUserLanguage(id.User.ID, lang)
	})
}

// passwordCheckLimit bounds live password checks per client address. A
// page asks once a typing pause, so a person uses a handful; the limit
// only stops a script from using the estimator as free CPU.
var passwordCheckLimit = limit{Free: 600, Base: time.Minute, Max: 15 * time.Minute, Forget: 10 * time.Minute}

// What a caller may ask a password to be checked against: the email, name
// and company name a form knows, and a spare; the longest of them is an
// email address. The pages' script reads both from the form (web).
const (
	MaxCheckInputs     = 4
	MaxCheckInputBytes = maxEmailBytes
)

// CheckPasswordStrength applies the password policy for live feedback,
// before a form is sent. userInputs are what the form knows of the person
// (email, name, company name); a signed-in caller (id not nil) is also
// checked against their own email, name and company name. It reads no
// other account, so its answer tells nothing about anyone; it is counted
// per client address (ETooManyAttempts past passwordCheckLimit). The form's
// own call to the service checks the password again.
func (s *Service) CheckPasswordStrength(ctx context.Context, id *Identity, pw string, userInputs []string, c Client) ([]gatehouse.Reason, error) {
	if len(userInputs) > MaxCheckInputs {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "Send at most %d user inputs.", MaxCheckInputs)
	}
	for _, in := range userInputs {
		if len(in) > MaxCheckInputBytes {
			return nil, gatehouse.Errorf(gatehouse.EInvalidRequest, "A user input can be at most %d bytes long.", MaxCheckInputBytes)
		}
	}
	inputs := append([]string(nil), userInputs...)
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if err := passwordCheckLimit.reserve(tx, addressKey("password-check-ip:", c.IP)); err != nil {
			return err
		}
		if id == nil {
			return nil
		}
		inputs = append(inputs, id.User.Email, id.User.Name)
		if co, err := tx.Company(id.User.CompanyID); err == nil {
			inputs = append(inputs, co.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return password.Check(pw, inputs...), nil
}
