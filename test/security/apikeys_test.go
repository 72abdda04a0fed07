package security_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

// Threat: an API key used beyond what it was made for — a company key
// acting outside /api/v1/company (as a user of its own, changing a
// password, opening pages), in another company, or an operator key acting
// as a company's admin. Routes come from api.Endpoints() and
// web.Endpoints(), so a route added later is covered.

// keyOf makes a key as the operator's command line does: a company key,
// or with companyID empty an operator key.
func keyOf(t *testing.T, w *world, companyID, name string) string {
	t.Helper()
	k, err := w.s.Service().OperatorCreateAPIKey(context.Background(), companyID, auth.NewAPIKey{Name: name}, auth.Client{})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k.Key
}

// inScope reports whether a company key may call the route: every
// endpoint under /api/v1/company, and nothing else.
func inCompanyScope(r route) bool {
	return r.Pattern == "/api/v1/company" || strings.HasPrefix(r.Pattern, "/api/v1/company/")
}

func inOperatorScope(r route) bool {
	return r.Pattern == "/api/v1/companies" || strings.HasPrefix(r.Pattern, "/api/v1/companies/")
}

func TestAPIKeysReachOnlyTheirScope(t *testing.T) {
	w := newWorld(t)
	acmeKey, opKey := keyOf(t, w, w.acme, "Acme's"), keyOf(t, w, "", "operator's")
	anon := w.s.Client(t)
	acme, op := w.s.Client(t), w.s.Client(t)
	acme.Token, op.Token = acmeKey, opKey
	v := ids{User: w.mia, Session: "06h50mg03kvd5qv0eheweyhjym"}

	for _, r := range apiRoutes() {
		body := userRouteBodies[r.String()]
		without := anon.Do(r.Method, r.path(v), body)
		withKey := acme.Do(r.Method, r.path(v), body)
		withOp := op.Do(r.Method, r.path(v), body)
		switch {
		case inCompanyScope(r):
			if withKey.StatusCode == http.StatusUnauthorized || withKey.StatusCode == http.StatusForbidden {
				t.Errorf("company key on %s: got %d %s, want it to act as an admin", r, withKey.StatusCode, clip(withKey.Body))
			}
			wantProblem(t, "operator key on "+r.String(), withOp, 403, "forbidden")
		case !slices.Contains(publicAPI, r.String()):
			// A route for a signed-in caller: a key is refused whatever it is.
			wantProblem(t, "company key on "+r.String(), withKey, 403, "forbidden")
			if !inOperatorScope(r) {
				wantProblem(t, "operator key on "+r.String(), withOp, 403, "forbidden")
			}
		default:
			// A public route: the key changes nothing.
			if withKey.StatusCode != without.StatusCode || withOp.StatusCode != without.StatusCode {
				t.Errorf("keys on public %s: got %d and %d, want %d as without them", r, withKey.StatusCode, withOp.StatusCode, without.StatusCode)
			}
		}
	}

	// Nothing of Bolt's: every route that names a user, with Bolt's.
	before := boltState(t, w)
	for _, target := range []string{w.bob, w.ben} {
		for _, r := range apiRoutes() {
			if !inCompanyScope(r) || !strings.Contains(r.Pattern, "{id}") {
				continue
			}
			wantProblem(t, "Acme's key: "+r.String()+" on Bolt", acme.Do(r.Method, r.path(ids{User: target}), userRouteBodies[r.String()]),
				404, "not_found")
		}
	}
	if after := boltState(t, w); after != before {
		t.Errorf("Acme's key changed Bolt:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A key never opens a page: as a bearer token or as the session cookie,
// every page answers as it does to a caller with no credential at all.
func TestAPIKeysOpenNoPage(t *testing.T) {
	w := newWorld(t)
	key := keyOf(t, w, w.acme, "Acme's")
	send := func(r route, header map[string]string) *servertest.Response {
		c := w.s.Client(t)
		for k, v := range header {
			c.Header[k] = v
		}
		if r.Method == http.MethodGet {
			return c.Get(r.path(ids{User: w.mia}))
		}
		return c.PostForm(r.path(ids{User: w.mia}), userFormBodies[r.String()])
	}
	for _, r := range pageRoutes() {
		want := send(r, nil)
		for name, h := range map[string]map[string]string{
			"bearer": {"Authorization": "Bearer " + key},
			"cookie": {"Cookie": "gatehouse_session=" + key},
		} {
			got := send(r, h)
			if got.StatusCode != want.StatusCode || got.Header.Get("Location") != want.Header.Get("Location") {
				t.Errorf("key as %s on %s: got %d %q, want %d %q as without it", name, r, got.StatusCode,
					got.Header.Get("Location"), want.StatusCode, want.Header.Get("Location"))
			}
		}
	}
}
