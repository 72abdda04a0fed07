package auth

import (
	"context"
	"crypto/subtle"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// Applications (../shared/API.md, "Applications"): registered by a
// company's admins (pages and API) for their company, or by the operator
// (command line) for one company or, without one, for every company's
// users. An admin reaches only the apps of their own company; another
// company's app, or the operator's, is ENotFound like one that does not
// exist. Every path checks the same rules here (checkNewApplication).

// Limits of applications.
const (
	MaxApplicationsPerCompany = 50
	MaxApplicationNameLen     = 100
	// MaxAppURIs bounds each list of an app's URIs, and MaxAppHosts its
	// forward-auth hosts.
	MaxAppURIs  = 20
	MaxAppHosts = 20
	// MaxRedirectURILen bounds one registered URI.
	MaxRedirectURILen = 2000
)

// ApplicationsPath is the page where admins manage their company's apps.
const ApplicationsPath = "/settings/apps"

// NewApplication is an application to register, or the state of one
// after a change (ApplicationChange): the flags of `gatehouse app create` and the body
// of POST /api/v1/company/apps.
type NewApplication struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Public                 bool
	FirstParty             bool // the operator's apps only
	ForwardAuthHosts       []string
	RequireRole            gatehouse.Role // "" or admin
	RequireMFA             bool
}

// CreatedApplication is a registered app and its client secret, shown
// only now; the secret is empty for a public app.
type CreatedApplication struct {
	Application  *gatehouse.Application
	ClientSecret string
}

func errApplicationNotFound() error {
	return gatehouse.Errorf(gatehouse.ENotFound, "Application not found.")
}

// checkNewApplication applies the rules every path shares and returns
// the application in its stored form (trimmed, lower-cased hosts, no
// duplicates). operator says whether the operator registers it.
func checkNewApplication(na NewApplication, companyID string) (NewApplication, error) {
	na.Name = strings.TrimSpace(na.Name)
	if na.Name == "" || utf8.RuneCountInString(na.Name) > MaxApplicationNameLen || strings.ContainsFunc(na.Name, unicode.IsControl) {
		return na, gatehouse.Errorf(gatehouse.EInvalidRequest, "An application needs a name of at most %d characters.",
			MaxApplicationNameLen)
	}
	if na.FirstParty && companyID != "" {
		return na, gatehouse.Errorf(gatehouse.EFirstPartyOperatorOnly,
			"Only the operator's applications may be first-party (skip the consent page).")
	}
	if na.RequireRole != "" && na.RequireRole != gatehouse.RoleAdmin {
		return na, gatehouse.Errorf(gatehouse.EInvalidRequest, "require_role is either empty or %q.", gatehouse.RoleAdmin)
	}
	var err error
	if na.RedirectURIs, err = checkRedirectURIs(na.RedirectURIs); err != nil {
		return na, err
	}
	if na.PostLogoutRedirectURIs, err = checkRedirectURIs(na.PostLogoutRedirectURIs); err != nil {
		return na, err
	}
	var hosts []string
	for _, h := range na.ForwardAuthHosts {
		h, err := CheckForwardAuthHost(h)
		if err != nil {
			return na, err
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) > MaxAppHosts {
		return na, gatehouse.Errorf(gatehouse.EInvalidForwardAuthHost, "An application has at most %d forward-auth hosts.", MaxAppHosts)
	}
	slices.Sort(hosts)
	na.ForwardAuthHosts = hosts
	return na, nil
}

func checkRedirectURIs(list []string) ([]string, error) {
	var out []string
	for _, u := range list {
		u = strings.TrimSpace(u)
		if err := CheckRedirectURI(u); err != nil {
			return nil, err
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	if len(out) > MaxAppURIs {
		return nil, gatehouse.Errorf(gatehouse.EInvalidRedirectURI, "An application has at most %d URIs of each kind.", MaxAppURIs)
	}
	return out, nil
}

// CheckRedirectURI accepts a URI an OpenID Connect client may register:
// absolute, https, or http on a loopback host (a native app's local
// server, RFC 8252), with a host, without user information or a fragment,
// and nothing a browser would read otherwise than it is written (no
// spaces, control characters or backslashes). URIs are matched exactly as
// registered, so none is rewritten here.
func CheckRedirectURI(raw string) error {
	bad := func(why string) error {
		return gatehouse.Errorf(gatehouse.EInvalidRedirectURI, "The URI %q is not usable: %s", clipURI(raw), why)
	}
	if raw == "" || len(raw) > MaxRedirectURILen {
		return bad("it must have 1 to 2000 characters.")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' || r > unicode.MaxASCII }) {
		return bad("it holds a space, a control character, a backslash or a character that must be percent-encoded.")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return bad("it must be an absolute URI such as https://app.example.com/callback.")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("it must not have a fragment (#...).")
	}
	if u.User != nil {
		return bad("it must not hold a user name or password.")
	}
	if u.Hostname() == "" {
		return bad("it must name a host.")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return bad("http is only for loopback hosts (localhost, 127.0.0.1, [::1]); use https.")
		}
	default:
		return bad("its scheme must be https (or http on a loopback host).")
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// CheckForwardAuthHost returns the host a reverse proxy forwards for an
// app, as it is stored: a DNS name (or IPv4 address) in lower case,
// without scheme, port, path or a trailing dot. Other forms are refused,
// not repaired, so that what an admin registers is what they typed.
func CheckForwardAuthHost(raw string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(raw))
	bad := func(why string) (string, error) {
		return "", gatehouse.Errorf(gatehouse.EInvalidForwardAuthHost, "The host %q is not usable: %s", clipURI(raw), why)
	}
	switch {
	case h == "":
		return bad("it is empty.")
	case strings.Contains(h, "://"):
		return bad("give the host alone, without a scheme (such as app.example.com).")
	case strings.ContainsAny(h, "/?#"):
		return bad("give the host alone, without a path.")
	case strings.Contains(h, ":"):
		return bad("give the host without a port; the port does not matter.")
	case len(h) > 253:
		return bad("it is longer than 253 characters.")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad("it must be a host name such as app.example.com.")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return bad("a host name has only letters, digits, hyphens and dots (write international names in their xn-- form).")
			}
		}
	}
	return h, nil
}

// clipURI shortens what a message quotes back.
func clipURI(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// CheckClientSecret reports whether secret is the app's client secret,
// comparing SHA-256 hashes in constant time. A public app has none.
func CheckClientSecret(a *gatehouse.Application, secret string) bool {
	if len(a.SecretHash) == 0 || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare(gatehouse.HashToken(secret), a.SecretHash) == 1
}

// createApplication stores an application with a fresh client secret
// (none for a public app) and audits it with actor (nil for the
// operator). na has passed checkNewApplication.
func (s *Service) createApplication(tx gatehouse.Tx, companyID string, actor *Actor, na NewApplication, c Client) (*CreatedApplication, error) {
	now := tx.Now()
	a := &gatehouse.Application{ID: gatehouse.NewID(now), ClientID: gatehouse.NewID(now), CompanyID: companyID,
		CreatedAt: now, UpdatedAt: now}
	setApplication(a, na)
	var secret string
	if !a.Public {
		secret, a.SecretHash = gatehouse.NewToken()
	}
	if err := s.checkHostsFree(tx, a); err != nil {
		return nil, err
	}
	if err := tx.CreateApplication(a); err != nil {
		return nil, err
	}
	if err := s.auditApplication(tx, gatehouse.EventApplicationCreated, a, actor, c); err != nil {
		return nil, err
	}
	return &CreatedApplication{Application: a, ClientSecret: secret}, nil
}

func setApplication(a *gatehouse.Application, na NewApplication) {
	a.Name, a.RedirectURIs, a.PostLogoutRedirectURIs = na.Name, na.RedirectURIs, na.PostLogoutRedirectURIs
	a.Public, a.FirstParty, a.ForwardAuthHosts = na.Public, na.FirstParty, na.ForwardAuthHosts
	a.RequireRole, a.RequireMFA = na.RequireRole, na.RequireMFA
}

// checkHostsFree refuses a host another app registered, with a clear
// message; the store's unique key catches the race of two at once.
func (s *Service) checkHostsFree(tx gatehouse.Tx, a *gatehouse.Application) error {
	for _, h := range a.ForwardAuthHosts {
		other, err := tx.ApplicationByHost(h)
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			continue
		}
		if err != nil {
			return err
		}
		if other.ID != a.ID {
			return gatehouse.Errorf(gatehouse.EForwardAuthHostTaken, "Another application already uses the host %s.", h)
		}
	}
	return nil
}

// auditApplication records an admin's (or company key's) or, with actor
// nil, the operator's event about app a, named in Detail by its client ID.
func (s *Service) auditApplication(tx gatehouse.Tx, typ string, a *gatehouse.Application, actor *Actor, c Client) error {
	ev := event(typ, a.CompanyID, "", "", c)
	if actor != nil {
		ev.ActorID, ev.ActorType = actor.ID, actor.actorType()
	}
	fields := []string{"client_id=" + a.ClientID}
	if actor == nil {
		fields = append([]string{gatehouse.DetailOperator}, fields...)
	}
	ev.Detail = strings.Join(fields, " ")
	return s.audit(tx, ev)
}

// companyApplication loads an app of the admin's company.
func companyApplication(tx gatehouse.Tx, actor *Actor, clientID string) (*gatehouse.Application, error) {
	if clientID == "" || len(clientID) > maxIDBytes {
		return nil, errApplicationNotFound()
	}
	a, err := tx.CompanyApplication(actor.CompanyID, clientID)
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, errApplicationNotFound()
	}
	return a, err
}

// Applications lists the caller's company's apps, oldest first.
func (s *Service) Applications(ctx context.Context, id *Identity) ([]*gatehouse.Application, error) {
	var list []*gatehouse.Application
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		list, err = tx.Applications(actor.CompanyID)
		return err
	})
	return list, err
}

// Application returns an app of the caller's company.
func (s *Service) Application(ctx context.Context, id *Identity, clientID string) (*gatehouse.Application, error) {
	var a *gatehouse.Application
	err := s.adminView(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		a, err = companyApplication(tx, actor, clientID)
		return err
	})
	return a, err
}

// CreateApplication registers an app of the caller's company and returns
// it with its client secret, shown only now. The rules: a name;
// redirect URIs absolute, https or loopback http, without fragments
// (EInvalidRedirectURI); forward-auth hosts as CheckForwardAuthHost says
// (EInvalidForwardAuthHost), each registered by one app only
// (EForwardAuthHostTaken); never first-party (EFirstPartyOperatorOnly); at
// most MaxApplicationsPerCompany.
func (s *Service) CreateApplication(ctx context.Context, id *Identity, na NewApplication, c Client) (*CreatedApplication, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	na, err := checkNewApplication(na, id.CompanyID())
	if err != nil {
		return nil, err
	}
	var created *CreatedApplication
	err = s.adminLocked(ctx, id, func(tx gatehouse.Tx, actor *Actor) (err error) {
		if err := applicationsPerCompany.check(tx, actor.CompanyID); err != nil {
			return err
		}
		created, err = s.createApplication(tx, actor.CompanyID, actor, na, c)
		return err
	})
	return created, err
}

var applicationsPerCompany = companyLimit{max: MaxApplicationsPerCompany, what: "applications",
	count: func(tx gatehouse.Tx, companyID string) (int, error) {
		list, err := tx.Applications(companyID)
		return len(list), err
	}}

// ApplicationChange is a change to an application (PATCH
// /api/v1/company/apps/{client_id}, the page's edit form, `gatehouse app
// update`): what is set changes, the rest stays. A nil list stays; an
// empty one (not nil) clears it.
type ApplicationChange struct {
	Name                   *string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Public cannot change: a client's secret is what its code was built
	// around. Set, it must say what the app is.
	Public           *bool
	FirstParty       *bool // the operator's apps only
	ForwardAuthHosts []string
	RequireRole      *gatehouse.Role
	RequireMFA       *bool
}

// check refuses a change that changes nothing: a request without
// a member is a mistake worth telling, before anything is looked up.
func (ch ApplicationChange) check() error {
	if ch.Name == nil && ch.RedirectURIs == nil && ch.PostLogoutRedirectURIs == nil && ch.Public == nil && ch.FirstParty == nil &&
		ch.ForwardAuthHosts == nil && ch.RequireRole == nil && ch.RequireMFA == nil {
		return gatehouse.Errorf(gatehouse.EInvalidRequest,
			"Say what to change: name, redirect_uris, post_logout_redirect_uris, forward_auth_hosts, require_role or require_mfa.")
	}
	return nil
}

// apply returns the application a would be after ch, in the form
// checkNewApplication takes: the rules of a change are those of a
// registration, and public cannot change (EInvalidRequest).
func (ch ApplicationChange) apply(a *gatehouse.Application) (NewApplication, error) {
	if ch.Public != nil && *ch.Public != a.Public {
		if a.Public {
			return NewApplication{}, gatehouse.Errorf(gatehouse.EInvalidRequest,
				"An application's public setting cannot change: this one is public and has no secret; register a new, confidential application instead.")
		}
		return NewApplication{}, gatehouse.Errorf(gatehouse.EInvalidRequest,
			"An application's public setting cannot change: this one is confidential and has a secret; register a new, public application instead.")
	}
	na := NewApplication{Name: a.Name, RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs,
		Public: a.Public, FirstParty: a.FirstParty, ForwardAuthHosts: a.ForwardAuthHosts, RequireRole: a.RequireRole,
		RequireMFA: a.RequireMFA}
	if ch.Name != nil {
		na.Name = *ch.Name
	}
	if ch.RedirectURIs != nil {
		na.RedirectURIs = ch.RedirectURIs
	}
	if ch.PostLogoutRedirectURIs != nil {
		na.PostLogoutRedirectURIs = ch.PostLogoutRedirectURIs
	}
	if ch.FirstParty != nil {
		na.FirstParty = *ch.FirstParty
	}
	if ch.ForwardAuthHosts != nil {
		na.ForwardAuthHosts = ch.ForwardAuthHosts
	}
	if ch.RequireRole != nil {
		na.RequireRole = *ch.RequireRole
	}
	if ch.RequireMFA != nil {
		na.RequireMFA = *ch.RequireMFA
	}
	return checkNewApplication(na, a.CompanyID)
}

// UpdateApplication changes an app of the caller's company as ch says,
// under the rules of CreateApplication; its client ID and secret stay,
// and whether it is public cannot change. Another company's app, or the
// operator's, is ENotFound.
func (s *Service) UpdateApplication(ctx context.Context, id *Identity, clientID string, ch ApplicationChange, c Client) (*gatehouse.Application, error) {
	if err := requireAdmin(id); err != nil {
		return nil, err
	}
	if err := ch.check(); err != nil {
		return nil, err
	}
	var updated *gatehouse.Application
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		// Two changes at once apply one after the other, neither lost.
		if err := tx.LockCompany(id.CompanyID()); err != nil {
			return err
		}
		actor, err := freshAdmin(tx, id)
		if err != nil {
			return err
		}
		a, err := companyApplication(tx, actor, clientID)
		if err != nil {
			return err
		}
		updated, err = s.updateApplication(tx, a, actor, ch, c)
		return err
	})
	return updated, err
}

// updateApplication applies ch to a and audits it with actor (nil for
// the operator).
func (s *Service) updateApplication(tx gatehouse.Tx, a *gatehouse.Application, actor *Actor, ch ApplicationChange, c Client) (*gatehouse.Application, error) {
	na, err := ch.apply(a)
	if err != nil {
		return nil, err
	}
	setApplication(a, na)
	a.UpdatedAt = tx.Now()
	if err := s.checkHostsFree(tx, a); err != nil {
		return nil, err
	}
	if err := tx.UpdateApplication(a); err != nil {
		return nil, err
	}
	if err := s.auditApplication(tx, gatehouse.EventApplicationUpdated, a, actor, c); err != nil {
		return nil, err
	}
	return a, nil
}

// DeleteApplication deletes an app of the caller's company: its hosts are
// no longer admitted by forward auth from the next request on.
func (s *Service) DeleteApplication(ctx context.Context, id *Identity, clientID string, c Client) error {
	return adminItem(s, ctx, id, func(tx gatehouse.Tx, actor *Actor) (*gatehouse.Application, error) {
		return companyApplication(tx, actor, clientID)
	}, func(tx gatehouse.Tx, o *outcome, actor *Actor, a *gatehouse.Application) error {
		return s.deleteApplication(tx, a, actor, c)
	})
}

func (s *Service) deleteApplication(tx gatehouse.Tx, a *gatehouse.Application, actor *Actor, c Client) error {
	ok, err := tx.DeleteApplication(a.CompanyID, a.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errApplicationNotFound()
	}
	return s.auditApplication(tx, gatehouse.EventApplicationDeleted, a, actor, c)
}

// --- The operator's apps (gatehouse app ...) ---

// OperatorCreateApplication registers an app from the command line: for
// the company companyID, or, with companyID empty, the operator's own for
// every company's users (which alone may be first-party).
func (s *Service) OperatorCreateApplication(ctx context.Context, companyID string, na NewApplication, c Client) (*CreatedApplication, error) {
	na, err := checkNewApplication(na, companyID)
	if err != nil {
		return nil, err
	}
	var created *CreatedApplication
	err = s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if companyID != "" {
			if _, err := tx.Company(companyID); err != nil {
				return err
			}
		}
		created, err = s.createApplication(tx, companyID, nil, na, c)
		return err
	})
	return created, err
}

// OperatorApplications lists every app: the operator's and every
// company's.
func (s *Service) OperatorApplications(ctx context.Context) ([]*gatehouse.Application, error) {
	var list []*gatehouse.Application
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		list, err = tx.AllApplications()
		return err
	})
	return list, err
}

// OperatorUpdateApplication changes any app by its client ID, as
// UpdateApplication does; only the operator's own may be first-party.
func (s *Service) OperatorUpdateApplication(ctx context.Context, clientID string, ch ApplicationChange, c Client) (*gatehouse.Application, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	var updated *gatehouse.Application
	err := s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if clientID == "" || len(clientID) > maxIDBytes {
			return errApplicationNotFound()
		}
		a, err := tx.ApplicationByClientID(clientID)
		if err != nil {
			return err
		}
		updated, err = s.updateApplication(tx, a, nil, ch, c)
		return err
	})
	return updated, err
}

// OperatorDeleteApplication deletes any app by its client ID.
func (s *Service) OperatorDeleteApplication(ctx context.Context, clientID string, c Client) error {
	return s.update(ctx, func(tx gatehouse.Tx, o *outcome) error {
		if clientID == "" || len(clientID) > maxIDBytes {
			return errApplicationNotFound()
		}
		a, err := tx.ApplicationByClientID(clientID)
		if err != nil {
			return err
		}
		return s.deleteApplication(tx, a, nil, c)
	})
}
