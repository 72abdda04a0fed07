package oidcop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/cors"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/seal"
)

// The provider's endpoints, relative to the issuer (--public-url).
const (
	DiscoveryPath     = "/.well-known/openid-configuration"
	AuthorizePath     = "/authorize"
	ContinuePath      = "/authorize/continue" // back from the login pages, the consent page
	ConsentPath       = "/authorize/consent"  // package web's page
	TokenPath         = "/oauth/token"
	IntrospectionPath = "/oauth/introspect"
	UserinfoPath      = "/userinfo"
	RevocationPath    = "/oauth/revoke"
	EndSessionPath    = "/end_session"
	KeysPath          = "/keys"
)

// ContinueURL is where the pages send the browser back to once a login
// or consent step of the request is done.
func ContinueURL(requestID string) string {
	return ContinuePath + "?" + url.Values{"id": {requestID}}.Encode()
}

// Provider serves the OpenID Connect endpoints.
type Provider struct {
	op      *op.Provider
	cors    func(http.Handler) http.Handler // op's router's CORS, with op's options
	svc     *auth.Service
	issuer  string
	cookies httpx.Cookies
	log     *slog.Logger
}

// New builds the provider for the issuer (--public-url exactly). Access
// tokens are sealed references to their rows, under the installation's
// key, so that every node reads every node's tokens.
func New(svc *auth.Service, sealer *seal.Sealer, issuer string, cookies httpx.Cookies, log *slog.Logger) (*Provider, error) {
	issuer = strings.TrimRight(issuer, "/")
	st := &storage{svc: svc, loginURL: ContinueURL}
	cfg := &op.Config{
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: issuer + "/login",
		SupportedScopes:          gatehouse.OIDCScopes,
		SupportedClaims:          supportedClaims,
	}
	opts := []op.Option{
		op.WithCrypto(sealCrypto{sealer}),
		op.WithCustomEndpoints(op.NewEndpoint(strings.TrimPrefix(AuthorizePath, "/")), op.NewEndpoint(strings.TrimPrefix(TokenPath, "/")),
			op.NewEndpoint(strings.TrimPrefix(UserinfoPath, "/")), op.NewEndpoint(strings.TrimPrefix(RevocationPath, "/")),
			op.NewEndpoint(strings.TrimPrefix(EndSessionPath, "/")), op.NewEndpoint(strings.TrimPrefix(KeysPath, "/"))),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(strings.TrimPrefix(IntrospectionPath, "/"))),
	}
	if strings.HasPrefix(issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, err
	}
	return &Provider{op: p, cors: cors.New(*p.CORSOptions()).Handler, svc: svc, issuer: issuer, cookies: cookies, log: log}, nil
}

var supportedClaims = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "c_hash",
	"name", "email", "email_verified", "company_id", "company_name", "role", "groups"}

// Router is what Routes registers on.
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Routes registers the provider's endpoints. p may be nil to list them.
func Routes(mux Router, p *Provider) {
	h := func(f func(p *Provider) http.Handler) http.Handler {
		if p == nil {
			return http.NotFoundHandler()
		}
		return f(p)
	}
	mux.Handle("GET "+DiscoveryPath, h(func(p *Provider) http.Handler { return http.HandlerFunc(p.discovery) }))
	mux.Handle("GET "+KeysPath, h(func(p *Provider) http.Handler { return p.op }))
	mux.Handle("GET "+AuthorizePath, h(func(p *Provider) http.Handler { return p.withIssuer(p.authorize) }))
	mux.Handle("POST "+AuthorizePath, h(func(p *Provider) http.Handler { return limitForm(p.withIssuer(p.authorize)) }))
	mux.Handle("GET "+ContinuePath, h(func(p *Provider) http.Handler { return p.withIssuer(p.continueAuthorization) }))
	mux.Handle("POST "+TokenPath, h(func(p *Provider) http.Handler {
		return noStore(p.challenge(limitForm(p.cors(p.withIssuer(p.token)))))
	}))
	mux.Handle("GET "+UserinfoPath, h(func(p *Provider) http.Handler { return noStore(http.HandlerFunc(p.userinfo)) }))
	mux.Handle("POST "+UserinfoPath, h(func(p *Provider) http.Handler { return noStore(limitForm(http.HandlerFunc(p.userinfo))) }))
	mux.Handle("POST "+IntrospectionPath, h(func(p *Provider) http.Handler {
		return noStore(p.challenge(limitForm(requireToken(p.cors(p.withIssuer(p.introspect))))))
	}))
	mux.Handle("POST "+RevocationPath, h(func(p *Provider) http.Handler { return noStore(p.challenge(limitForm(requireToken(p.op)))) }))
	// A single-page app's browser asks before it sends a token or a
	// secret across origins (CORS preflight: the Authorization header is
	// not one a page may send unasked); op's router answers it.
	for _, path := range []string{TokenPath, UserinfoPath, IntrospectionPath, RevocationPath} {
		mux.Handle("OPTIONS "+path, h(func(p *Provider) http.Handler { return p.op }))
	}
	mux.Handle("GET "+EndSessionPath, h(func(p *Provider) http.Handler { return p.withIssuer(p.endSession) }))
	mux.Handle("POST "+EndSessionPath, h(func(p *Provider) http.Handler { return limitForm(p.withIssuer(p.endSession)) }))
}

// noStore marks the answers that carry tokens, secrets or a user's claims
// as never to be kept by a cache, as RFC 6749 (5.1) and OpenID Connect
// Core (3.1.3.3) require of the token endpoint's.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = noStoreValue
		h["Pragma"] = noCacheValue
		next.ServeHTTP(w, r)
	})
}

// challenge makes a client's failed authentication what RFC 6749 (5.2)
// requires, and RFC 7009 and RFC 7662 refer to: a 401 names the scheme
// the endpoint takes (WWW-Authenticate: Basic), and its body is OAuth's
// JSON invalid_client. op answers the token and revocation endpoints'
// 401s in JSON without the header, and an introspection's as plain text
// naming the storage's error (op.Introspect), which is replaced.
func (p *Provider) challenge(next http.Handler) http.Handler {
	value := []string{`Basic realm="` + p.issuer + `"`}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&basicWriter{replacing: replacing{ResponseWriter: w}, challenge: value}, r)
	})
}

// replacing is a writer that answers in op's place when op refuses in a
// way the specifications do not allow (basicWriter, bearerWriter): once it
// has replied itself, op's body is dropped.
type replacing struct {
	http.ResponseWriter
	replied bool
}

func (r *replacing) Write(p []byte) (int, error) {
	if r.replied {
		return len(p), nil
	}
	return r.ResponseWriter.Write(p)
}

func (r *replacing) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// basicWriter is challenge's writer.
type basicWriter struct {
	replacing
	challenge []string
}

var invalidClientBody = []byte(`{"error":"invalid_client","error_description":"The client authentication failed."}` + "\n")

func (b *basicWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		h := b.ResponseWriter.Header()
		h["WWW-Authenticate"] = b.challenge
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			b.replied = true
			h.Set("Content-Type", "application/json")
			b.ResponseWriter.WriteHeader(code)
			b.ResponseWriter.Write(invalidClientBody)
			return
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

// The values noStore sets, shared: net/http only reads them.
var (
	noStoreValue = []string{"no-store"}
	noCacheValue = []string{"no-cache"}
)

// MaxFormBytes bounds the body of every POST to the provider: its forms
// hold a few tokens, URIs and codes, and net/http would otherwise read up
// to 10 MB of form into memory for each request.
const MaxFormBytes = 64 << 10

// limitForm reads a POST's form, at most MaxFormBytes of it, before next
// runs (whose parsing is then a no-op): a larger or unreadable body is
// answered invalid_request, as op answers its other malformed requests,
// and nothing runs.
func limitForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			desc := "The request's form cannot be read."
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				desc = fmt.Sprintf("The request is larger than %d KiB.", MaxFormBytes>>10)
			}
			op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("%s", desc), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireToken refuses a revocation or an introspection without the
// token it is about, a REQUIRED parameter (RFC 7009 2.1, RFC 7662 2.1):
// invalid_request, as RFC 6749 (5.2) names a missing parameter, where op
// answers 200 (an empty revocation, {"active":false}). limitForm parsed
// the form.
func requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostForm.Get("token") == "" {
			op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("The token parameter is required."), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CrossOriginPaths are the endpoints that programs and single-page apps
// call across origins with their own credentials (a client secret, a
// token, a PKCE verifier), never a cookie: the cross-origin protection
// of the pages does not apply to them.
var CrossOriginPaths = []string{"POST " + TokenPath, "POST " + UserinfoPath, "POST " + IntrospectionPath, "POST " + RevocationPath}

func (p *Provider) withIssuer(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f(w, r.WithContext(op.ContextWithIssuer(r.Context(), p.issuer)))
	})
}

// token lets op answer a token request, and lets the storage read what
// the request needs at once (auth.ReadTokenRequest) when op first asks
// (GetClientByClientID): op then asks for the client again to
// authenticate it (AuthorizeClientIDSecret), for the refresh token
// (TokenRequestByRefreshToken) and for the signing key (SigningKey), one
// after the other, each answered from that read. The refresh token is
// taken from the form as op will take it; if op's differs, the storage
// reads again. op's handler (op.Exchange) is called directly, behind
// op's CORS and the issuer as op's router puts them (Routes), as for
// introspection: the router's routing is work a refresh need not do.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	t := &tokenRequest{}
	if r.PostForm.Get("grant_type") == string(oidc.GrantTypeRefreshToken) { // limitForm parsed the form
		t.refreshToken = r.PostForm.Get("refresh_token")
	}
	op.Exchange(w, r.WithContext(context.WithValue(r.Context(), tokenRequestKey{}, t)), p.op)
}

// userinfo lets op answer, and makes its refusals those of a bearer
// resource (RFC 6750 3): every 401 carries WWW-Authenticate: Bearer, with
// error="invalid_token" when a token came; a token that is not live
// (revoked, expired; op answers 403 with {}) is 401 invalid_token, and a
// store failure 500 server_error.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	u := &userinfoCall{}
	sent := r.Header.Get("Authorization") != "" || r.Form.Get("access_token") != "" || r.URL.Query().Get("access_token") != ""
	p.op.ServeHTTP(&bearerWriter{replacing: replacing{ResponseWriter: w}, realm: p.issuer, sent: sent, call: u},
		r.WithContext(context.WithValue(r.Context(), userinfoKey{}, u)))
	if u.storeFailed() { // op logs nothing of it
		p.log.Error("userinfo: read the token", "err", u.failed)
	}
}

// userinfoCall is what the storage found of the token userinfo asked about.
type userinfoCall struct{ failed error }

// storeFailed says the token could not be read (the store failed), as
// opposed to read and refused.
func (u *userinfoCall) storeFailed() bool {
	e, ok := errors.AsType[*oidc.Error](u.failed)
	return ok && e.ErrorType == oidc.ServerError
}

type userinfoKey struct{}

// bearerWriter rewrites op's userinfo refusals (Provider.userinfo).
type bearerWriter struct {
	replacing
	realm string
	sent  bool // the request carried a token
	call  *userinfoCall
}

// invalidToken says why a token was refused, in the WWW-Authenticate
// challenge and in the body alike.
const invalidToken = "The access token is invalid, expired or revoked."

func (b *bearerWriter) WriteHeader(code int) {
	if code == http.StatusForbidden && b.call.failed != nil {
		b.replied = true
		if b.call.storeFailed() {
			b.ResponseWriter.Header().Set("Content-Type", "application/json")
			b.ResponseWriter.WriteHeader(http.StatusInternalServerError)
			b.ResponseWriter.Write([]byte(`{"error":"server_error"}` + "\n"))
			return
		}
		code = http.StatusUnauthorized
		b.ResponseWriter.Header().Set("Content-Type", "application/json")
	}
	if code == http.StatusUnauthorized {
		challenge := `Bearer realm="` + b.realm + `"`
		if b.sent {
			challenge += `, error="invalid_token", error_description="` + invalidToken + `"`
		}
		b.ResponseWriter.Header().Set("WWW-Authenticate", challenge)
	}
	b.ResponseWriter.WriteHeader(code)
	if b.replied {
		b.ResponseWriter.Write([]byte(`{"error":"invalid_token","error_description":"` + invalidToken + `"}` + "\n"))
	}
}

// tokenRequest is what the storage read for one token request.
type tokenRequest struct {
	refreshToken string
	read         *auth.TokenRequest // nil until op asks for the client
}

type tokenRequestKey struct{}

// introspect lets op answer an introspection, and lets the storage read
// the token the request asks about together with the client's
// authentication: op asks for the two one after the other
// (AuthorizeClientIDSecret, then SetIntrospectionFromToken), and one query
// answers both (auth.CheckClientAccess). The token's ID is taken from the
// form as op will take it; if op's differs, the storage reads again. op's
// handler (op.Introspect) is called directly, behind op's CORS and the
// issuer as op's router puts them: the router's own routing cost about
// 1.5 µs an introspection (docs/BENCHMARKS.md, "OpenID Connect").
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	// limitForm parsed the form.
	if plain, err := p.op.Crypto().Decrypt(r.PostForm.Get("token")); err == nil {
		if id, _, ok := strings.Cut(plain, ":"); ok {
			r = r.WithContext(context.WithValue(r.Context(), introspectionKey{}, &introspection{tokenID: id}))
		}
	}
	op.Introspect(w, r, p.op)
}

// introspection is what the storage read for one introspection request.
type introspection struct {
	tokenID string
	done    bool // the client authenticated, and at and sub were read
	at      *gatehouse.OIDCAccessToken
	sub     *gatehouse.OIDCSubject
}

type introspectionKey struct{}

// discovery answers only what is true of this provider.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{
		"issuer":                                         p.issuer,
		"authorization_endpoint":                         p.issuer + AuthorizePath,
		"token_endpoint":                                 p.issuer + TokenPath,
		"userinfo_endpoint":                              p.issuer + UserinfoPath,
		"jwks_uri":                                       p.issuer + KeysPath,
		"revocation_endpoint":                            p.issuer + RevocationPath,
		"introspection_endpoint":                         p.issuer + IntrospectionPath,
		"end_session_endpoint":                           p.issuer + EndSessionPath,
		"scopes_supported":                               gatehouse.OIDCScopes,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{auth.SigningAlgorithm},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic"}, // op v3 reads no secret from an introspection's form
		"code_challenge_methods_supported":               []string{"S256"},
		"claims_supported":                               supportedClaims,
		"prompt_values_supported":                        []string{"none", "login", "consent"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_parameter_supported":                     false,
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	json.NewEncoder(w).Encode(doc)
}

// authorize checks what op leaves to the provider, then lets op parse,
// validate and store the request. Refusals before the redirect URI is
// known to be registered are shown here, never sent anywhere.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.requestError(w, "The authorization request cannot be read.")
		return
	}
	for name, values := range r.Form {
		if len(values) > 1 {
			p.requestError(w, "The parameter "+name+" is given more than once.")
			return
		}
	}
	op.Authorize(withIss(w, p.issuer), r, authorizer{p})
}

// authorizer is op's Authorizer with Gatehouse's validation of the request.
type authorizer struct{ p *Provider }

func (a authorizer) Storage() op.Storage          { return a.p.op.Storage() }
func (a authorizer) Decoder() httphelper.Decoder  { return a.p.op.Decoder() }
func (a authorizer) Encoder() httphelper.Encoder  { return a.p.op.Encoder() }
func (a authorizer) Crypto() op.Crypto            { return a.p.op.Crypto() }
func (a authorizer) RequestObjectSupported() bool { return false }
func (a authorizer) Logger() *slog.Logger         { return a.p.op.Logger() }
func (a authorizer) IDTokenHintVerifier(ctx context.Context) *op.IDTokenHintVerifier {
	return a.p.op.IDTokenHintVerifier(ctx)
}

// ValidateAuthRequest: the client must exist, the redirect URI match a
// registered one exactly (byte for byte: no port, slash, case, query or
// fragment leeway); only then may an error go to it. Then op's checks,
// and PKCE with S256 required of every client, response mode query only,
// no request objects.
func (a authorizer) ValidateAuthRequest(ctx context.Context, req *oidc.AuthRequest, st op.Storage, v *op.IDTokenHintVerifier) (string, error) {
	c, err := st.GetClientByClientID(ctx, req.ClientID)
	if err != nil {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("Unknown client.")
	}
	if !slices.Contains(c.RedirectURIs(), req.RedirectURI) {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("The redirect_uri is not registered for this client.")
	}
	if req.RequestParam != "" {
		return "", oidc.ErrRequestNotSupported()
	}
	if req.ResponseType != oidc.ResponseTypeCode {
		e := oidc.ErrInvalidRequest().WithDescription("Only response_type=code is supported.")
		if req.ResponseType != "" {
			e.ErrorType = "unsupported_response_type"
		}
		return "", e
	}
	if !slices.Contains(req.Scopes, oidc.ScopeOpenID) {
		return "", oidc.ErrInvalidScope().WithDescription("The scope must include openid.")
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		req.ResponseMode = oidc.ResponseModeQuery
		return "", oidc.ErrInvalidRequest().WithDescription("Only response_mode=query is supported.")
	}
	sub, err := op.ValidateAuthRequestClient(ctx, req, c, v)
	if err != nil {
		return "", err
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return "", oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required.")
	}
	if len(req.State) > 2048 || len(req.Nonce) > 2048 || len(req.CodeChallenge) != 43 {
		return "", oidc.ErrInvalidRequest().WithDescription("A parameter is too long or malformed.")
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(req.CodeChallenge); err != nil {
		return "", oidc.ErrInvalidRequest().WithDescription("The code_challenge is not a base64url SHA-256.")
	}
	return sub, nil
}

func (p *Provider) requestError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte("invalid_request: " + msg + "\n"))
}

// continueAuthorization takes a request on after the login pages or the
// consent page: it decides with auth what is missing, sends the browser
// there, or answers the client (a code, or an error) at its redirect URI.
func (p *Provider) continueAuthorization(w http.ResponseWriter, r *http.Request) {
	w = withIss(w, p.issuer)
	requestID := r.URL.Query().Get("id")
	var id *auth.Identity
	if got, err := p.svc.Authenticate(r.Context(), p.cookies.SessionToken(r)); err == nil {
		id = got
	}
	req, err := p.svc.AuthRequest(r.Context(), requestID)
	if err != nil {
		p.requestError(w, "This sign-in request has expired or is unknown; start again from the application.")
		return
	}
	ar := authRequest{r: req}
	if r.URL.Query().Get("deny") != "" && id != nil {
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("The user did not allow the application."), p.op)
		return
	}
	step, done, err := p.svc.ContinueAuthorization(r.Context(), requestID, id)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENotFound {
			p.requestError(w, "This sign-in request has expired or is unknown; start again from the application.")
			return
		}
		op.AuthRequestError(w, r, ar, oidc.ErrServerError().WithParent(err), p.op)
		return
	}
	back := ContinueURL(requestID)
	switch step {
	case auth.AuthorizeLogin:
		http.Redirect(w, r, "/login?"+url.Values{"next": {back}}.Encode(), http.StatusSeeOther)
	case auth.AuthorizeLoginRequired:
		op.AuthRequestError(w, r, ar, oidc.ErrLoginRequired(), p.op)
	case auth.AuthorizeConsent:
		http.Redirect(w, r, ConsentPath+"?"+url.Values{"id": {requestID}}.Encode(), http.StatusSeeOther)
	case auth.AuthorizeConsentRequired:
		op.AuthRequestError(w, r, ar, consentRequired(), p.op)
	case auth.AuthorizeDenied:
		op.AuthRequestError(w, r, ar, oidc.ErrAccessDenied().WithDescription("This application does not admit this user."), p.op)
	case auth.AuthorizeDone:
		op.AuthResponse(authRequest{r: done}, p.op, w, r)
	default:
		op.AuthRequestError(w, r, ar, oidc.ErrServerError(), p.op)
	}
}

// endSession is RP-initiated logout: op checks id_token_hint and the
// registered post_logout_redirect_uri and ends the app's tokens; when the
// hint names the browser's signed-in user, Gatehouse signs it out too.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	var signOut *auth.Identity
	if id, err := p.svc.Authenticate(r.Context(), p.cookies.SessionToken(r)); err == nil {
		if hint := r.FormValue("id_token_hint"); hint != "" {
			claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](r.Context(), hint, p.op.IDTokenHintVerifier(r.Context()))
			if (err == nil || errors.As(err, &op.IDTokenHintExpiredError{})) && claims != nil && claims.Subject == id.User.ID {
				signOut = id
			}
		}
	}
	op.EndSession(&onRedirect{ResponseWriter: w, do: func() {
		if signOut == nil {
			return
		}
		if err := p.svc.Logout(r.Context(), signOut, auth.Client{IP: httpx.ClientIPFrom(r), UserAgent: r.UserAgent()}); err != nil {
			p.log.Error("end session: sign out", "err", err)
			return
		}
		p.cookies.ClearSession(w)
	}}, r, p.op)
}

// consentRequired is the OpenID Connect error op has no constructor for.
func consentRequired() *oidc.Error {
	e := oidc.ErrInteractionRequired()
	e.ErrorType = "consent_required"
	return e
}

// onRedirect runs do before a redirect's header goes out: op redirects
// only once a logout is valid.
type onRedirect struct {
	http.ResponseWriter
	do func()
}

func (o *onRedirect) WriteHeader(code int) {
	if code == http.StatusFound {
		o.do()
	}
	o.ResponseWriter.WriteHeader(code)
}

func (o *onRedirect) Unwrap() http.ResponseWriter { return o.ResponseWriter }
