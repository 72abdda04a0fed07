package api

import (
	"time"

	"github.com/gatehouse/gatehouse"
)

// userJSON is the contract's user object.
type userJSON struct {
	ID                 string `json:"id"`
	Email              string `json:"email"`
	Name               string `json:"name"`
	CompanyID          string `json:"company_id"`
	Role               string `json:"role"`
	TOTPEnabled        bool   `json:"totp_enabled"`
	MustChangePassword bool   `json:"must_change_password"`
}

func toUser(u *gatehouse.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, CompanyID: u.CompanyID, Role: string(u.Role),
		TOTPEnabled: u.TOTPEnabled(), MustChangePassword: u.MustChangePassword}
}

// adminUserJSON is the user object as admins see it.
type adminUserJSON struct {
	userJSON
	Status      string  `json:"status"`
	LastLoginAt *string `json:"last_login_at"`
}

func toAdminUser(u *gatehouse.User) adminUserJSON {
	return adminUserJSON{userJSON: toUser(u), Status: string(u.Status()), LastLoginAt: timePtr(u.LastLoginAt)}
}

// timeString renders times as RFC 3339 in UTC with milliseconds.
func timeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeString(t)
	return &s
}
