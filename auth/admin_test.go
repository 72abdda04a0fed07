package auth_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// userAction is an admin method that acts on one user of the company.
type userAction struct {
	name string
	do   func(e *env, id *auth.Identity, userID string) error
	// prepare, when set, gives the target what the action needs to do
	// anything, so that a refusal is seen to matter.
	prepare func(t *testing.T, e *env, target *gatehouse.User) *gatehouse.User
}

var userActions = []userAction{
	{"company_user", func(e *env, id *auth.Identity, userID string) error {
		_, err := e.svc.CompanyUser(ctx, id, userID)
		return err
	}, nil},
	{"rename", func(e *env, id *auth.Identity, userID string) error {
		name := "Renamed"
		_, err := e.svc.UpdateUser(ctx, id, userID, auth.UserUpdate{Name: &name}, e.client())
		return err
	}, nil},
	{"make_admin", func(e *env, id *auth.Identity, userID string) error {
		role := gatehouse.RoleAdmin
		_, err := e.svc.UpdateUser(ctx, id, userID, auth.UserUpdate{Role: &role}, e.client())
		return err
	}, nil},
	{"disable", func(e *env, id *auth.Identity, userID string) error {
		yes := true
		_, err := e.svc.UpdateUser(ctx, id, userID, auth.UserUpdate{Disabled: &yes}, e.client())
		return err
	}, nil},
	{"reset_by_email", func(e *env, id *auth.Identity, userID string) error {
		return e.svc.ResetPasswordByEmail(ctx, id, userID, e.client())
	}, nil},
	{"set_temporary_password", func(e *env, id *auth.Identity, userID string) error {
		_, err := e.svc.SetTemporaryPassword(ctx, id, userID, "", e.client())
		return err
	}, nil},
	{"unlock", func(e *env, id *auth.Identity, userID string) error {
		return e.svc.UnlockUser(ctx, id, userID, e.client())
	}, nil},
	{"remove_totp", func(e *env, id *auth.Identity, userID string) error {
		return e.svc.RemoveUserTOTP(ctx, id, userID, e.client())
	}, func(t *testing.T, e *env, target *gatehouse.User) *gatehouse.User {
		id := e.signIn(t, target.Email, goodPW)
		e.enableTOTP(t, id)
		return id.User
	}},
	{"audit_of_user", func(e *env, id *auth.Identity, userID string) error {
		_, err := e.svc.AuditEvents(ctx, id, auth.AuditQuery{UserID: userID})
		return err
	}, nil},
	{"export_audit_of_user", func(e *env, id *auth.Identity, userID string) error {
		return e.svc.ExportAuditEvents(ctx, id, auth.AuditQuery{UserID: userID}, e.client(),
			func(*gatehouse.AuditEvent, map[string]*gatehouse.User) error { return nil })
	}, nil},
}

// target adds a member of the company for the action to act on.
func (a userAction) target(t *testing.T, e *env, companyID string) *gatehouse.User {
	t.Helper()
	u := e.user(t, companyID, gatehouse.RoleMember)
	if a.prepare != nil {
		u = a.prepare(t, e, u)
	}
	return u
}

// companyActions are the admin methods on the company as a whole.
var companyActions = []struct {
	name string
	do   func(e *env, id *auth.Identity) error
}{
	{"company", func(e *env, id *auth.Identity) error { _, err := e.svc.Company(ctx, id); return err }},
	{"rename_company", func(e *env, id *auth.Identity) error {
		name := "Renamed Ltd"
		_, err := e.svc.UpdateCompany(ctx, id, auth.CompanyUpdate{Name: &name}, e.client())
		return err
	}},
	{"list_users", func(e *env, id *auth.Identity) error {
		_, err := e.svc.ListUsers(ctx, id, auth.UserQuery{})
		return err
	}},
	{"invite", func(e *env, id *auth.Identity) error {
		_, err := e.svc.InviteUser(ctx, id, auth.Invite{Email: fmt.Sprintf("invitee%d@example.com", e.seq.Add(1)), Name: "Invitee"}, e.client())
		return err
	}},
	{"audit_log", func(e *env, id *auth.Identity) error {
		_, err := e.svc.AuditEvents(ctx, id, auth.AuditQuery{})
		return err
	}},
}

// userState is what an admin action could change about a user.
func userState(u *gatehouse.User) string {
	return fmt.Sprintf("%s %s %s disabled=%v hash=%s must_change=%v totp=%x", u.Email, u.Name, u.Role,
		u.DisabledAt, u.PasswordHash, u.MustChangePassword, u.TOTPSecret)
}

// wantUnchanged fails the test if a refused action changed the user or
// wrote an audit event in their company.
func (e *env) wantUnchanged(t *testing.T, what string, u *gatehouse.User, eventsBefore []string) {
	t.Helper()
	if got, want := userState(e.userByID(t, u.ID)), userState(u); got != want {
		t.Errorf("%s changed the user:\ngot  %s\nwant %s", what, got, want)
	}
	if got := e.events(t, u.CompanyID); !slices.Equal(got, eventsBefore) {
		t.Errorf("%s wrote audit events %q", what, got[len(eventsBefore):])
	}
}

// TestAdminRights: who may act on whom. Members may do no admin action;
// an admin acts only on users of their own company, and another company's
// user is not found, exactly like one that does not exist; rights are
// read again in the transaction, so a stale session of a demoted or
// disabled admin can do nothing.
func TestAdminRights(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		for _, a := range userActions {
			t.Run("forbidden/member_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				member := e.member(t, admin)
				target := a.target(t, e, admin.User.CompanyID)
				before := e.events(t, target.CompanyID)
				wantCode(t, "a member's "+a.name, a.do(e, member, target.ID), gatehouse.EForbidden)
				e.wantUnchanged(t, "a member's "+a.name, target, before)
			})
			t.Run("not_found/other_company_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				other := e.company(t)
				target := a.target(t, e, other.User.CompanyID)
				before := e.events(t, target.CompanyID)
				wantCode(t, a.name+" of another company's user", a.do(e, admin, target.ID), gatehouse.ENotFound)
				e.wantUnchanged(t, a.name+" of another company's user", target, before)
				// Exactly as for a user who does not exist.
				wantCode(t, a.name+" of an unknown user", a.do(e, admin, gatehouse.NewID(e.clock.Now())), gatehouse.ENotFound)
			})
			t.Run("forbidden/demoted_admin_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				stale := e.admin(t, admin)
				member := gatehouse.RoleMember
				if _, err := e.svc.UpdateUser(ctx, admin, stale.User.ID, auth.UserUpdate{Role: &member}, e.client()); err != nil {
					t.Fatal(err)
				}
				target := a.target(t, e, admin.User.CompanyID)
				before := e.events(t, target.CompanyID)
				wantCode(t, "a demoted admin's "+a.name, a.do(e, stale, target.ID), gatehouse.EForbidden)
				e.wantUnchanged(t, "a demoted admin's "+a.name, target, before)
			})
			t.Run("forbidden/disabled_admin_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				stale := e.admin(t, admin)
				yes := true
				if _, err := e.svc.UpdateUser(ctx, admin, stale.User.ID, auth.UserUpdate{Disabled: &yes}, e.client()); err != nil {
					t.Fatal(err)
				}
				target := a.target(t, e, admin.User.CompanyID)
				before := e.events(t, target.CompanyID)
				wantCode(t, "a disabled admin's "+a.name, a.do(e, stale, target.ID), gatehouse.EForbidden)
				e.wantUnchanged(t, "a disabled admin's "+a.name, target, before)
			})
			t.Run("forbidden/admin_may_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				target := a.target(t, e, admin.User.CompanyID)
				wantCode(t, "an admin's "+a.name, a.do(e, admin, target.ID), "")
			})
		}
		for _, a := range companyActions {
			t.Run("forbidden/member_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				member := e.member(t, admin)
				before := e.events(t, admin.User.CompanyID)
				wantCode(t, "a member's "+a.name, a.do(e, member), gatehouse.EForbidden)
				if got := e.events(t, admin.User.CompanyID); !slices.Equal(got, before) {
					t.Errorf("a member's %s wrote audit events %q", a.name, got[len(before):])
				}
				wantCode(t, "an admin's "+a.name, a.do(e, admin), "")
			})
			t.Run("forbidden/demoted_admin_"+a.name, func(t *testing.T) {
				admin := e.company(t)
				stale := e.admin(t, admin)
				member := gatehouse.RoleMember
				if _, err := e.svc.UpdateUser(ctx, admin, stale.User.ID, auth.UserUpdate{Role: &member}, e.client()); err != nil {
					t.Fatal(err)
				}
				wantCode(t, "a demoted admin's "+a.name, a.do(e, stale), gatehouse.EForbidden)
			})
		}
	})
}

// activeAdmins counts the company's admins who can log in.
func (e *env) activeAdmins(t testing.TB, companyID string) int {
	t.Helper()
	var n int
	err := e.store.View(ctx, func(tx gatehouse.Tx) (err error) {
		n, err = tx.CountActiveAdmins(companyID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLastAdmin: a company always keeps an active admin. The last one can
// be neither demoted nor disabled, and two admins who demote or disable
// each other at the same moment leave one, on both databases.
func TestLastAdmin(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		member := gatehouse.RoleMember
		yes := true
		t.Run("last_admin/demote_self", func(t *testing.T) {
			admin := e.company(t)
			before := e.events(t, admin.User.CompanyID)
			_, err := e.svc.UpdateUser(ctx, admin, admin.User.ID, auth.UserUpdate{Role: &member}, e.client())
			wantCode(t, "the only admin demotes themselves", err, gatehouse.ELastAdmin)
			e.wantUnchanged(t, "the refused demotion", admin.User, before)
		})
		t.Run("last_admin/invited_admin_does_not_count", func(t *testing.T) {
			admin := e.company(t)
			if _, err := e.svc.InviteUser(ctx, admin, auth.Invite{Email: fmt.Sprintf("invited%d@example.com", e.seq.Add(1)),
				Name: "Invited", Role: gatehouse.RoleAdmin}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.UpdateUser(ctx, admin, admin.User.ID, auth.UserUpdate{Role: &member}, e.client())
			wantCode(t, "demote with only an invited admin besides", err, gatehouse.ELastAdmin)
		})
		t.Run("last_admin/disabled_admin_does_not_count", func(t *testing.T) {
			admin := e.company(t)
			other := e.admin(t, admin)
			if _, err := e.svc.UpdateUser(ctx, admin, other.User.ID, auth.UserUpdate{Disabled: &yes}, e.client()); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.UpdateUser(ctx, admin, admin.User.ID, auth.UserUpdate{Role: &member}, e.client())
			wantCode(t, "demote with only a disabled admin besides", err, gatehouse.ELastAdmin)
		})
		t.Run("last_admin/demote_with_another_admin", func(t *testing.T) {
			admin := e.company(t)
			e.admin(t, admin)
			_, err := e.svc.UpdateUser(ctx, admin, admin.User.ID, auth.UserUpdate{Role: &member}, e.client())
			wantCode(t, "demote with another active admin", err, "")
			if n := e.activeAdmins(t, admin.User.CompanyID); n != 1 {
				t.Errorf("active admins: got %d, want 1", n)
			}
		})
		races := map[string]auth.UserUpdate{"demote_race": {Role: &member}, "disable_race": {Disabled: &yes}}
		for name, upd := range races {
			t.Run("last_admin/"+name, func(t *testing.T) {
				for round := range 10 {
					a := e.company(t)
					b := e.admin(t, a)
					errs := concurrently(2, func(i int) error {
						actor, target := a, b
						if i == 1 {
							actor, target = b, a
						}
						_, err := e.svc.UpdateUser(ctx, actor, target.User.ID, upd, e.client())
						return err
					})
					codes := countCodes(errs)
					if codes[""] != 1 || codes[gatehouse.EForbidden]+codes[gatehouse.ELastAdmin] != 1 {
						t.Fatalf("round %d: two admins acting on each other at once: got %v, want one success and one forbidden or last_admin", round, errs)
					}
					if n := e.activeAdmins(t, a.User.CompanyID); n != 1 {
						t.Fatalf("round %d: active admins after the race: got %d, want 1", round, n)
					}
				}
			})
		}
	})
}

// TestSelfActions: what an admin may not do to their own account through
// the admin paths, since each has its own path with its own checks.
func TestSelfActions(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("invalid_request/disable_self", func(t *testing.T) {
			admin := e.company(t)
			e.admin(t, admin) // so that the last-admin rule is not what refuses
			before := e.events(t, admin.User.CompanyID)
			yes := true
			_, err := e.svc.UpdateUser(ctx, admin, admin.User.ID, auth.UserUpdate{Disabled: &yes}, e.client())
			wantCode(t, "an admin disables themselves", err, gatehouse.EInvalidRequest)
			e.wantUnchanged(t, "the refused self-disable", admin.User, before)
		})
		t.Run("invalid_request/own_temporary_password", func(t *testing.T) {
			admin := e.company(t)
			before := e.events(t, admin.User.CompanyID)
			_, err := e.svc.SetTemporaryPassword(ctx, admin, admin.User.ID, "", e.client())
			wantCode(t, "an admin gives themselves a temporary password", err, gatehouse.EInvalidRequest)
			e.wantUnchanged(t, "the refused temporary password", admin.User, before)
			e.signIn(t, admin.User.Email, goodPW)
		})
		t.Run("forbidden/own_totp_via_admin_path", func(t *testing.T) {
			admin := e.company(t)
			e.enableTOTP(t, admin)
			before := e.events(t, admin.User.CompanyID)
			err := e.svc.RemoveUserTOTP(ctx, admin, admin.User.ID, e.client())
			wantCode(t, "an admin removes their own 2FA as an admin", err, gatehouse.EForbidden)
			e.wantUnchanged(t, "the refused removal", admin.User, before)
		})
	})
}
