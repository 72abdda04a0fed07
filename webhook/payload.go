package webhook

import (
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse"
)

// User is the data of a user.* event: the user object as an admin reads
// it from GET /api/v1/company/users/{id} (api.adminUserJSON), after the
// change.
type User struct {
	ID                 string  `json:"id"`
	Email              string  `json:"email"`
	Name               string  `json:"name"`
	CompanyID          string  `json:"company_id"`
	Role               string  `json:"role"`
	TOTPEnabled        bool    `json:"totp_enabled"`
	MustChangePassword bool    `json:"must_change_password"`
	Status             string  `json:"status"`
	LastLoginAt        *string `json:"last_login_at"`
}

// NewUser returns the event data of u.
func NewUser(u *gatehouse.User) User {
	d := User{ID: u.ID, Email: u.Email, Name: u.Name, CompanyID: u.CompanyID, Role: string(u.Role),
		TOTPEnabled: u.TOTPEnabled(), MustChangePassword: u.MustChangePassword, Status: string(u.Status())}
	if !u.LastLoginAt.IsZero() {
		s := timeString(u.LastLoginAt)
		d.LastLoginAt = &s
	}
	return d
}

// Company is the data of a company.* event: the company object of
// GET /api/v1/company.
type Company struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	RequireTOTP bool   `json:"require_totp"`
}

// NewCompany returns the event data of c.
func NewCompany(c *gatehouse.Company) Company {
	return Company{ID: c.ID, Name: c.Name, RequireTOTP: c.RequireTOTP}
}

// Payload is the body of every delivery (Standard Webhooks' recommended
// shape): the event type, when the event happened, and its data.
type Payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// NewPayload returns the body of an event of type typ at at.
func NewPayload(typ string, at time.Time, data any) ([]byte, error) {
	return json.Marshal(Payload{Type: typ, Timestamp: timeString(at), Data: data})
}

// timeString renders times as the API does: RFC 3339 in UTC with
// milliseconds.
func timeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
