package api_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/servertest"
)

func changePassword(c *servertest.Client, current, newPW, confirm string) *servertest.Response {
	return c.Do("POST", "/api/v1/me/password", map[string]string{
		"current_password": current, "new_password": newPW, "confirm_password": confirm})
}

func TestChangePasswordRefusals(t *testing.T) {
	s := startAcme(t)
	c := s.Client(t)
	c.Token = c.Login("ada@example.com", goodPW)
	before := s.Snapshot(t)

	wantProblem(t, "mismatch", changePassword(c, goodPW, otherPW, otherPW+"x"), 400, "passwords_do_not_match")
	wantProblem(t, "wrong current", changePassword(c, "not my password", otherPW, otherPW), 400, "current_password_incorrect")
	weak := changePassword(c, goodPW, "password1234", "password1234")
	wantProblem(t, "weak", weak, 422, "password_too_weak")
	if reasons, _ := weak.JSON(t)["reasons"].([]any); len(reasons) == 0 {
		t.Errorf("weak: got %s, want reasons", weak.Body)
	}
	wantProblem(t, "with the email", changePassword(c, goodPW, "ada@example.com rocks hard", "ada@example.com rocks hard"), 422, "password_too_weak")
	wantProblem(t, "same as the current", changePassword(c, goodPW, goodPW, goodPW), 422, "password_reused")
	long := strings.Repeat("correct horse ", 150)
	wantProblem(t, "too long", changePassword(c, goodPW, long, long), 422, "password_too_long")
	wantProblem(t, "unauthenticated", s.Client(t).Do("POST", "/api/v1/me/password", map[string]string{
		"current_password": goodPW, "new_password": otherPW, "confirm_password": otherPW}), 401, "unauthenticated")

	if after := s.Snapshot(t); withoutNoise(after) != withoutNoise(before) {
		t.Errorf("refused changes changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	c.Login("ada@example.com", goodPW)
}

// withoutNoise drops what refusals may rightly change: failure counters
// (a wrong current password counts) and audit rows.
func withoutNoise(snapshot string) string {
	var keep []string
	for _, line := range strings.Split(snapshot, "\n") {
		if !strings.HasPrefix(line, "throttles=") && !strings.HasPrefix(line, "audit_events=") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func TestChangePassword(t *testing.T) {
	servertest.ForEachDatabase(t, func(t *testing.T, db servertest.Option) {
		s := startAcme(t, db)
		this, other := s.Client(t), s.Client(t)
		this.Token = this.Login("ada@example.com", goodPW)
		other.Token = other.Login("ada@example.com", goodPW)

		if r := changePassword(this, goodPW, otherPW, otherPW); r.StatusCode != 204 {
			t.Fatalf("change: got %d %s, want 204", r.StatusCode, r.Body)
		}
		if r := this.Get("/api/v1/me"); r.StatusCode != 200 {
			t.Errorf("this session: got %d, want 200", r.StatusCode)
		}
		wantProblem(t, "the other session", other.Get("/api/v1/me"), 401, "unauthenticated")
		wantProblem(t, "the old password", login(s.Client(t), "ada@example.com", goodPW), 401, "invalid_credentials")
		s.Client(t).Login("ada@example.com", otherPW)

		m := s.SMTP.WaitFor(t, "ada@example.com", "password was changed")
		for _, part := range []string{m.Text, m.HTML, string(m.Raw)} {
			if strings.Contains(part, otherPW) || strings.Contains(part, goodPW) {
				t.Errorf("the mail holds a password:\n%s", part)
			}
		}
	})
}
