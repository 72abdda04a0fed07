package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/api"
)

// The outside witness of the API: kin-openapi, a validator nobody here
// wrote, reads the document the server serves at /api/v1/openapi.json and
// checks every request a Client sends under /api/ (or to another path the
// document describes) and every answer to it.
// So the document cannot drift from the code: an answer whose status,
// media type or body the document does not describe fails the test, and so
// does a request the document refuses that the server did not refuse.

var witness struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// openAPIRouter loads and validates the document once per test binary.
func openAPIRouter() (routers.Router, error) {
	witness.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.Document())
		if err != nil {
			witness.err = fmt.Errorf("load api/openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			witness.err = fmt.Errorf("api/openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		// The document's one server is "/", this installation: its paths
		// are the request's paths, whatever the host.
		doc.Servers = nil
		witness.doc = doc
		witness.router, witness.err = legacy.NewRouter(doc)
		openapi3filter.RegisterBodyDecoder("application/jsonl", decodeAuditLines)
	})
	return witness.router, witness.err
}

// earlyRefusals are the answers a server may give to a request the document
// refuses before it reads the body: the size and media type of the body,
// throttling and a full hashing queue. Anything else must be 400.
var earlyRefusals = map[int]bool{
	http.StatusRequestEntityTooLarge: true,
	http.StatusUnsupportedMediaType:  true,
	http.StatusTooManyRequests:       true,
	http.StatusServiceUnavailable:    true,
}

// checkAgainstDocument reports, as test errors, where the exchange of req
// (whose body was reqBody) and resp (whose body was body) departs from the
// OpenAPI document.
func (c *Client) checkAgainstDocument(req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	c.t.Helper()
	// A benchmark measures the server, not the witness: its requests are
	// those of tests, which are checked.
	if _, bench := c.t.(*testing.B); bench || c.NoOpenAPICheck {
		return
	}
	CheckExchange(c.t, req, reqBody, resp, body)
}

// CheckExchange is the witness for a test that sends its own requests
// rather than through a Client: it reports where the exchange of req (whose
// body was reqBody) and resp (whose body was body) departs from the
// document, for a path under /api/ or another the document describes
// (forward auth's), as test errors.
func CheckExchange(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	t.Helper()
	router, err := openAPIRouter()
	if err != nil {
		t.Errorf("OpenAPI witness: %v", err)
		return
	}
	at := req.Method + " " + req.URL.RequestURI()
	answer := fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))

	// The request as the document sees it: a copy whose body can be read
	// again, with the path the router matches (no host, since the document's
	// server is "/").
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(vreq)
	if err != nil && !strings.HasPrefix(req.URL.Path, "/api/") {
		return // a page, or another path outside the API that the document does not describe
	}
	if err != nil {
		// Not a documented operation: the server must say so too, or send
		// a path with dot segments to its clean form (as http.ServeMux does).
		redirect := resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect
		if redirect && path.Clean(req.URL.Path) != req.URL.Path {
			return
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("OpenAPI witness: %s is not in api/openapi.json (%v), but the server answered %s", at, err, answer)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			// Whether the credentials are good is the server's to judge;
			// the witness checks the shapes of what goes and comes back.
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	if reqErr := openapi3filter.ValidateRequest(context.Background(), in); reqErr != nil {
		checkRefusal(t, at, route, reqErr, resp.StatusCode, body, answer)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("OpenAPI witness: %s: the answer %s does not match api/openapi.json: %v", at, answer, err)
	}
}

// checkRefusal checks the answer to a request the document refuses (reqErr
// says why): 400 invalid_request, or a refusal that comes before the body
// is judged: 401 on an operation that needs a session, 403 forbidden (a
// cross-site request, or a member where an admin is needed), 404 for an
// unknown resource, or an early refusal.
func checkRefusal(t testing.TB, at string, route *routers.Route, reqErr error, status int, body []byte, answer string) {
	t.Helper()
	var problem struct{ Code string }
	json.Unmarshal(body, &problem)
	needsSession := route.Operation.Security == nil || len(*route.Operation.Security) > 0
	switch {
	case status == http.StatusBadRequest:
	case earlyRefusals[status]:
	case status == http.StatusUnauthorized && needsSession && problem.Code == gatehouse.EUnauthenticated:
	case status == http.StatusForbidden && problem.Code == gatehouse.EForbidden:
	case status == http.StatusNotFound && isParameterError(reqErr):
	default:
		t.Errorf("OpenAPI witness: %s: api/openapi.json refuses this request (%v), but the server answered %s, want 400", at, reqErr, answer)
	}
}

// isParameterError tells whether err is about a path or query parameter
// only (not the body), which a server may answer with 404.
func isParameterError(err error) bool {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		for _, e := range multi {
			if !isParameterError(e) {
				return false
			}
		}
		return len(multi) > 0
	}
	var re *openapi3filter.RequestError
	return errors.As(err, &re) && re.Parameter != nil
}

// decodeAuditLines reads an application/jsonl body, the audit export, which
// the document gives as a string of one AuditEvent per line (OpenAPI 3.1
// has no schema for a sequence of JSON texts): each line must be an
// AuditEvent, and the whole is the string the schema names.
func decodeAuditLines(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	event := witness.doc.Components.Schemas["AuditEvent"]
	if event == nil {
		return nil, errors.New("the document has no AuditEvent schema for the lines of application/jsonl")
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(data) == 0 {
			break
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("line %d is not JSON: %w", i+1, err)
		}
		if err := event.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
			return nil, fmt.Errorf("line %d is not an AuditEvent: %w", i+1, err)
		}
	}
	return string(data), nil
}
