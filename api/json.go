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

// mailProblemJSON says why the latest mail with a link (an invitation, a
// password reset) to a user was not delivered: the admins' member
// mail_problem of the user object, null when there is none.
type mailProblemJSON struct {
	Mail   string  `json:"mail"`   // invitation or password_reset
	Reason string  `json:"reason"` // rejected, gave_up, expired or unreadable
	Answer *string `json:"answer"` // the mail server's answer, when it gave one
	At     string  `json:"at"`
}

func toMailProblem(p *gatehouse.MailProblem) *mailProblemJSON {
	if p == nil {
		return nil
	}
	j := &mailProblemJSON{Mail: p.Template, Reason: p.Reason, At: timeString(p.At)}
	if p.Answer != "" {
		j.Answer = &p.Answer
	}
	return j
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
