package gatehouse

import (
	"slices"
	"time"
)

// Application is something that relies on Gatehouse for sign-in
// (../shared/API.md, "Applications"): an OpenID Connect client, a set of
// hosts behind a reverse proxy (forward auth), or both. It belongs to one
// company, whose users alone may use it, or to the operator (CompanyID
// empty), whose apps every company's users may use: the SaaS product
// itself.
type Application struct {
	ID        string // internal: audit events name it
	ClientID  string // public: the OAuth client_id, the command line and the API name it
	CompanyID string // empty: the operator's, for every company's users
	Name      string

	// RedirectURIs and PostLogoutRedirectURIs are the OpenID Connect
	// client's registered addresses, matched exactly as registered: absolute,
	// https or http on a loopback host, without a fragment.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Public clients (a single-page or native app) have no secret and must
	// use PKCE alone.
	Public bool
	// FirstParty apps skip the consent page; only the operator's may be.
	FirstParty bool

	// ForwardAuthHosts are the hosts a reverse proxy asks Gatehouse about
	// for this app: lower-case names without scheme, port or path, each
	// registered by at most one application.
	ForwardAuthHosts []string
	// RequireRole, when not empty, admits only users with that role.
	RequireRole Role
	// RequireMFA admits only users with a second factor; a user without
	// one sets it up at the next login to this app.
	RequireMFA bool

	// SecretHash is the SHA-256 of the client secret (32 random bytes,
	// shown once); nil for a public app.
	SecretHash []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Operator reports whether the app is the operator's, for every company.
func (a *Application) Operator() bool { return a.CompanyID == "" }

// AdmitsCompany reports whether users of the company may use the app: its
// own company's, or every company's for the operator's apps.
func (a *Application) AdmitsCompany(companyID string) bool {
	return a.CompanyID == "" || a.CompanyID == companyID
}

// HasForwardAuthHost reports whether host is one of the app's forward-auth
// hosts (already lower-case).
func (a *Application) HasForwardAuthHost(host string) bool {
	return slices.Contains(a.ForwardAuthHosts, host)
}
