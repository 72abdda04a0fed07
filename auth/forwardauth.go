package auth

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Forward auth (../shared/API.md, "Forward auth (reverse proxies)"): a
// reverse proxy asks, for every request to an app it protects, whether the
// request's session may through. The rules are here; package web reads
// the proxies' headers and answers them.

// MaxReturnURLLen bounds a return address (rd): a longer one is ignored,
// and a longer original URL is not carried to the login page.
const MaxReturnURLLen = 4096

// ForwardAuthOutcome is what the check of one proxied request found.
type ForwardAuthOutcome int

const (
	ForwardAuthAllowed         ForwardAuthOutcome = iota // signed in and admitted: pass with the identity headers
	ForwardAuthUnknownHost                               // no application registered the host: 403
	ForwardAuthUnauthenticated                           // no live session: to the login page (302 or 401)
	ForwardAuthNotAdmitted                               // signed in, but the app does not admit the user: 403
)

// ForwardAuthResult is the answer to one proxied request.
type ForwardAuthResult struct {
	Outcome ForwardAuthOutcome
	// Application is nil for ForwardAuthUnknownHost; when the session
	// was read, it holds the fields Tx.ForwardAuthCheck reads (the
	// company and the requirements).
	Application *gatehouse.Application
	// User is the signed-in user, also when not admitted, with the fields
	// Tx.ForwardAuthCheck reads (no password hash).
	User *gatehouse.User
	// Reason says why a user was not admitted (Admission).
	Reason string
}

// RequestHost returns the host a proxied request was for, as hosts are
// registered: lower case, without the port. It reports false for anything
// that is not a host name with at most a numeric port.
func RequestHost(hostport string) (string, bool) {
	if hostport == "" || len(hostport) > 300 {
		return "", false
	}
	host := hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		port := hostport[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return "", false
		}
		host = hostport[:i]
	}
	h, err := CheckForwardAuthHost(host)
	if err != nil || h != strings.ToLower(host) {
		return "", false
	}
	return h, true
}

// URLAuthority returns the authority of an absolute http or https URL as
// written: what follows "http://" or "https://" (the scheme in any case)
// up to the first /, ? or #, perhaps empty. It reports false for anything
// else. It is the one reading of an address's host: the return address
// (ParseReturnURL) and the original URL that nginx forwards.
func URLAuthority(raw string) (string, bool) {
	var rest string
	switch {
	case len(raw) >= len("https://") && strings.EqualFold(raw[:len("https://")], "https://"):
		rest = raw[len("https://"):]
	case len(raw) >= len("http://") && strings.EqualFold(raw[:len("http://")], "http://"):
		rest = raw[len("http://"):]
	default:
		return "", false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

// ParseReturnURL checks a return address (the rd of /login?rd=) by its
// shape alone and returns it with its host: an absolute http or https URL
// written plainly, with a host name and no user information, and nothing a
// browser could read differently than this parser: no backslash, space,
// control or non-ASCII character, no scheme-relative //host, no
// javascript: or other scheme. Whether the host is a registered
// forward-auth host is ReturnApplication's to check.
func ParseReturnURL(raw string) (u *url.URL, host string, ok bool) {
	if raw == "" || len(raw) > MaxReturnURLLen {
		return nil, "", false
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return nil, "", false
		}
	}
	authority, ok := URLAuthority(raw)
	// The authority must hold no @ (user information) and no other oddity.
	if !ok || strings.ContainsAny(authority, "@%[]") {
		return nil, "", false
	}
	host, ok = RequestHost(authority)
	if !ok {
		return nil, "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || strings.ToLower(u.Hostname()) != host ||
		(u.Scheme != "http" && u.Scheme != "https") {
		return nil, "", false
	}
	return u, host, true
}

// ReturnApplication returns the application whose forward-auth host the
// return address names, when the address is one to return to after a
// login (ParseReturnURL, and a host some app registered exactly); nil
// means the address is to be ignored.
func (s *Service) ReturnApplication(ctx context.Context, raw string) (*gatehouse.Application, error) {
	_, host, ok := ParseReturnURL(raw)
	if !ok {
		return nil, nil
	}
	var a *gatehouse.Application
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		a, err = tx.ApplicationByHost(host)
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return nil, nil
	}
	return a, err
}

// Why an application does not admit a signed-in session (Admission).
const (
	NotAdmittedCompany = "company" // another company's app
	NotAdmittedRole    = "role"    // the app requires a role the user lacks
	NotAdmittedMFA     = "mfa"     // the app requires a second factor the session's login did not give
)

// Admission decides whether the app admits the session of id: "" when it
// does, or why not (NotAdmitted...). An app that requires MFA asks how
// this session signed in (SessionAMR holds mfa), not whether the user has
// a factor enrolled: a session opened with the password alone, before the
// user turned 2FA on elsewhere (or by whoever stole it, who then enrolled
// an authenticator of their own), never gave one. One rule for forward
// auth, the OIDC provider and the login page's return to an app.
func Admission(a *gatehouse.Application, id *Identity) string {
	switch {
	case !a.AdmitsCompany(id.User.CompanyID):
		return NotAdmittedCompany
	case a.RequireRole != "" && a.RequireRole != id.User.Role:
		return NotAdmittedRole
	case a.RequireMFA && !slices.Contains(SessionAMR(id.Session, id.User), gatehouse.MethodMFA):
		return NotAdmittedMFA
	}
	return ""
}

// ForwardAuth checks one proxied request: to host (as the proxy forwarded
// it, any case, with or without a port), with the session token of its
// cookie. Nothing is cached: the session, the user and the app are read
// for every request, so that a logout, a password change, a disabled user
// or a deleted app take effect at the next request on every node.
func (s *Service) ForwardAuth(ctx context.Context, hostport, token string) (*ForwardAuthResult, error) {
	host, ok := RequestHost(hostport)
	if !ok {
		return &ForwardAuthResult{Outcome: ForwardAuthUnknownHost}, nil
	}
	// One statement reads the app and the session with what the check
	// needs of them; only when it finds nothing is the app read alone, to
	// tell an unknown host from a request without a live session.
	var a *gatehouse.Application
	var read sessionRead
	err := s.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		read.now = tx.Now()
		if gatehouse.TokenLooksValid(token) {
			a, read.sess, read.user, read.company, err = tx.ForwardAuthCheck(host, gatehouse.HashToken(token))
			if gatehouse.ErrorCode(err) != gatehouse.ENotFound {
				return err
			}
		}
		a, err = tx.ApplicationByHost(host)
		return err
	})
	if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
		return &ForwardAuthResult{Outcome: ForwardAuthUnknownHost}, nil
	}
	if err != nil {
		return nil, err
	}
	if read.sess == nil {
		return &ForwardAuthResult{Outcome: ForwardAuthUnauthenticated, Application: a}, nil
	}
	id, err := s.live(ctx, read)
	if gatehouse.ErrorCode(err) == gatehouse.EUnauthenticated {
		return &ForwardAuthResult{Outcome: ForwardAuthUnauthenticated, Application: a}, nil
	}
	if err != nil {
		return nil, err
	}
	res := &ForwardAuthResult{Outcome: ForwardAuthNotAdmitted, Application: a, User: id.User, Reason: Admission(a, id)}
	if res.Reason == "" {
		res.Outcome = ForwardAuthAllowed
	}
	return res, nil
}

// LoginURL is the login page that returns to original after the login:
// <public-url>/login?rd=<original>, or without rd when original is too
// long to carry.
func (s *Service) LoginURL(original string) string {
	if original == "" || len(original) > MaxReturnURLLen {
		return s.cfg.PublicURL + "/login"
	}
	return s.link("/login", url.Values{"rd": {original}})
}
