package api_test

import (
	"slices"
	"strings"
	"testing"
)

func TestPasswordCheck(t *testing.T) {
	s := startAcme(t)
	anon := s.Client(t)
	signedIn := s.Client(t)
	signedIn.Token = signedIn.Login("ada@example.com", goodPW)

	for _, tc := range []struct {
		name       string
		signedIn   bool
		body       map[string]any
		acceptable bool
		codes      []string
	}{
		{"a good password", false, map[string]any{"password": goodPW}, true, nil},
		{"too short", false, map[string]any{"password": "plum tree"}, false, []string{"too_short"}},
		{"common", false, map[string]any{"password": "password1234"}, false, []string{"common"}},
		{"the form's email", false, map[string]any{"password": "grace tractor velvet", "user_inputs": []string{"grace@example.com"}}, false, []string{"contains_personal_info"}},
		{"the same without the email", false, map[string]any{"password": "grace tractor velvet"}, true, nil},
		// A session adds the caller's own company name, which no page
		// has to send.
		{"the caller's company", true, map[string]any{"password": "acme tractor velvet oyster"}, false, []string{"contains_personal_info"}},
		{"the company unknown to an anonymous caller", false, map[string]any{"password": "acme tractor velvet oyster"}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := anon
			if tc.signedIn {
				c = signedIn
			}
			r := c.Do("POST", "/api/v1/password-check", tc.body)
			if r.StatusCode != 200 {
				t.Fatalf("got %d %s, want 200", r.StatusCode, r.Body)
			}
			m := r.JSON(t)
			var codes []string
			for _, c := range m["reason_codes"].([]any) {
				codes = append(codes, c.(string))
			}
			if m["acceptable"] != tc.acceptable || !slices.Equal(codes, tc.codes) {
				t.Errorf("got acceptable=%v codes=%v, want %v %v", m["acceptable"], codes, tc.acceptable, tc.codes)
			}
			if len(m["reasons"].([]any)) != len(codes) {
				t.Errorf("reasons: got %v, want one sentence per code %v", m["reasons"], codes)
			}
		})
	}

	t.Run("bounded inputs", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"password": goodPW, "user_inputs": []string{"a", "b", "c", "d", "e"}},
			{"password": goodPW, "user_inputs": []string{strings.Repeat("a", 255)}},
			{"user_inputs": []string{"a"}, "extra": true},
		} {
			if r := anon.Do("POST", "/api/v1/password-check", body); r.StatusCode != 400 || r.Code(t) != "invalid_request" {
				t.Errorf("%v: got %d %s, want 400 invalid_request", body, r.StatusCode, r.Body)
			}
		}
	})
}

// TestPasswordCheckThrottled: the estimator is not free CPU for a script.
func TestPasswordCheckThrottled(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	for i := range 1000 {
		r := c.Do("POST", "/api/v1/password-check", map[string]any{"password": goodPW})
		if r.StatusCode == 429 {
			if i < 600 || r.Header.Get("Retry-After") == "" || r.Code(t) != "too_many_attempts" {
				t.Fatalf("check %d: got 429 %s with Retry-After %q, want it after 600 checks, with Retry-After", i+1, r.Body, r.Header.Get("Retry-After"))
			}
			return
		}
		if r.StatusCode != 200 {
			t.Fatalf("check %d: got %d %s, want 200", i+1, r.StatusCode, r.Body)
		}
	}
	t.Fatalf("1,000 checks from one address: none refused, want 429 after 600")
}
