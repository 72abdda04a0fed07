package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// RemoveUserTOTP lets an admin take away the second factor of a user of
// their company who lost their authenticator and recovery codes. Admins
// turn off their own 2FA in their profile, with their password.
func (s *Service) RemoveUserTOTP(ctx context.Context, id *Identity, userID string, c Client) error {
	if err := requireAdmin(id); err != nil {
		return err
	}
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		actor, target, err := adminTarget(tx, id, userID)
		if err != nil {
			return err
		}
		if target.ID == actor.ID {
			return gatehouse.Errorf(gatehouse.EInvalidRequest, "Turn off your own two-factor authentication in your profile.")
		}
		if !target.TOTPEnabled() {
			return gatehouse.Errorf(gatehouse.ETOTPNotEnabled, "This user has no two-factor authentication.")
		}
		return s.removeTOTP(tx, o, target, actor, "", c)
	})
}
