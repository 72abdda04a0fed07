package web_test

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

// Endpoints lists what Routes registers, for the security suites that walk
// every page.
func TestEndpointsListsThePages(t *testing.T) {
	got := web.Endpoints()
	for _, want := range []string{"GET /login", "POST /login", "GET /settings/profile", "POST /settings/users/{id}/disable", "GET /settings/audit"} {
		if !slices.Contains(got, want) {
			t.Errorf("Endpoints() lacks %q: %v", want, got)
		}
	}
}
