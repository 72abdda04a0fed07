package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// A company has at most MaxWebhooksPerCompany endpoints and
// MaxAPIKeysPerCompany keys, whoever adds them (an admin, a company key;
// for keys also the operator's command line and an operator key), and two
// adding the last one at once do not pass the limit together.
func TestCompanyLimits(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		t.Run("invalid_request/webhooks", func(t *testing.T) {
			admin := e.company(t)
			_, key := e.companyKey(t, admin, "automation")
			for i := range auth.MaxWebhooksPerCompany - 2 {
				_, err := e.svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: fmt.Sprintf("http://127.0.0.1:9/%d", i)}, e.client())
				wantCode(t, "create", err, "")
			}
			errs := concurrently(2, func(i int) error {
				_, err := e.svc.CreateWebhook(ctx, []*auth.Identity{admin, key}[i], auth.NewWebhook{URL: fmt.Sprintf("http://127.0.0.1:9/race%d", i)}, e.client())
				return err
			})
			if got := countCodes(errs); got[""] != 2 {
				t.Fatalf("the last two at once: got %v, want both", got)
			}
			errs = concurrently(2, func(i int) error {
				_, err := e.svc.CreateWebhook(ctx, []*auth.Identity{admin, key}[i], auth.NewWebhook{URL: fmt.Sprintf("http://127.0.0.1:9/over%d", i)}, e.client())
				return err
			})
			if got := countCodes(errs); got[gatehouse.EInvalidRequest] != 2 {
				t.Fatalf("past the limit: got %v, want both refused", got)
			}
			if list, _ := e.svc.Webhooks(ctx, admin); len(list) != auth.MaxWebhooksPerCompany {
				t.Errorf("endpoints: got %d, want %d", len(list), auth.MaxWebhooksPerCompany)
			}
			// Deleting one makes room for one.
			list, _ := e.svc.Webhooks(ctx, admin)
			wantCode(t, "delete", e.svc.DeleteWebhook(ctx, admin, list[0].ID, e.client()), "")
			_, err := e.svc.CreateWebhook(ctx, key, auth.NewWebhook{URL: "http://127.0.0.1:9/again"}, e.client())
			wantCode(t, "after a delete", err, "")
		})
		t.Run("invalid_request/api_keys", func(t *testing.T) {
			admin := e.company(t)
			companyID := admin.User.CompanyID
			for i := range auth.MaxAPIKeysPerCompany - 2 {
				_, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: fmt.Sprint("key ", i)}, e.client())
				wantCode(t, "create", err, "")
			}
			op, err := e.svc.OperatorCreateAPIKey(ctx, "", auth.NewAPIKey{Name: "provisioning"}, e.client())
			wantCode(t, "operator key", err, "")
			opID, err := e.svc.AuthenticateAPIKey(ctx, op.Key, e.client())
			wantCode(t, "operator key's identity", err, "")
			// The last two places, taken at once by an admin, the command
			// line and an operator key: two of the three get one.
			errs := concurrently(3, func(i int) error {
				var err error
				switch i {
				case 0:
					_, err = e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "admin's"}, e.client())
				case 1:
					_, err = e.svc.OperatorCreateAPIKey(ctx, companyID, auth.NewAPIKey{Name: "command line's"}, e.client())
				case 2:
					_, err = e.svc.MintCompanyKey(ctx, opID, companyID, auth.NewAPIKey{Name: "operator key's"}, e.client())
				}
				return err
			})
			if got := countCodes(errs); got[""] != 2 || got[gatehouse.EInvalidRequest] != 1 {
				t.Fatalf("the last two places three at once: got %v, want 2 made and 1 invalid_request", got)
			}
			if list, _ := e.svc.APIKeys(ctx, admin); len(list) != auth.MaxAPIKeysPerCompany {
				t.Errorf("keys: got %d, want %d", len(list), auth.MaxAPIKeysPerCompany)
			}
			_, err = e.svc.OperatorCreateAPIKey(ctx, companyID, auth.NewAPIKey{Name: "over"}, e.client())
			wantCode(t, "the command line past the limit", err, gatehouse.EInvalidRequest)
			_, err = e.svc.MintCompanyKey(ctx, opID, companyID, auth.NewAPIKey{Name: "over"}, e.client())
			wantCode(t, "an operator key past the limit", err, gatehouse.EInvalidRequest)
			// The operator's own keys are no company's: not counted.
			_, err = e.svc.OperatorCreateAPIKey(ctx, "", auth.NewAPIKey{Name: "another operator key"}, e.client())
			wantCode(t, "an operator key", err, "")
		})
	})
}

// Who may manage a company's apps, webhooks and API keys is the service's
// to decide, whatever front end asks: an admin or a company key of the
// company; never a member, an operator key, a key that expired or an
// admin demoted while their request was in hand. A key is an admin but
// not a user: it cannot leave the company without an active admin.
func TestAdminMethodsRefuseWhomTheyShould(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *env) {
		admin := e.company(t)
		member := e.member(t, admin)
		demoted := e.admin(t, admin)
		op, err := e.svc.OperatorCreateAPIKey(ctx, "", auth.NewAPIKey{Name: "provisioning"}, e.client())
		wantCode(t, "operator key", err, "")
		opID, err := e.svc.AuthenticateAPIKey(ctx, op.Key, e.client())
		wantCode(t, "operator key's identity", err, "")
		expiring, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "short", ExpiresAt: e.clock.Now().Add(time.Minute)}, e.client())
		wantCode(t, "expiring key", err, "")
		expiredID, err := e.svc.AuthenticateAPIKey(ctx, expiring.Key, e.client())
		wantCode(t, "expiring key's identity", err, "")
		_, keyID := e.companyKey(t, admin, "automation")

		app, err := e.svc.CreateApplication(ctx, admin, auth.NewApplication{Name: "Wiki"}, e.client())
		wantCode(t, "app", err, "")
		hook, err := e.svc.CreateWebhook(ctx, admin, auth.NewWebhook{URL: "http://127.0.0.1:9/x"}, e.client())
		wantCode(t, "webhook", err, "")
		key, err := e.svc.CreateAPIKey(ctx, admin, auth.NewAPIKey{Name: "target"}, e.client())
		wantCode(t, "key", err, "")

		role := gatehouse.RoleMember
		_, err = e.svc.UpdateUser(ctx, admin, demoted.User.ID, auth.UserUpdate{Role: &role}, e.client())
		wantCode(t, "demote", err, "")
		e.clock.Advance(2 * time.Minute) // the expiring key's request is still in hand

		name := "Renamed"
		methods := map[string]func(id *auth.Identity) error{
			"list apps": func(id *auth.Identity) error { _, err := e.svc.Applications(ctx, id); return err },
			"create app": func(id *auth.Identity) error {
				_, err := e.svc.CreateApplication(ctx, id, auth.NewApplication{Name: "Theirs"}, e.client())
				return err
			},
			"update app": func(id *auth.Identity) error {
				_, err := e.svc.UpdateApplication(ctx, id, app.Application.ClientID, auth.ApplicationChange{Name: &name}, e.client())
				return err
			},
			"delete app": func(id *auth.Identity) error {
				return e.svc.DeleteApplication(ctx, id, app.Application.ClientID, e.client())
			},
			"list hooks": func(id *auth.Identity) error { _, err := e.svc.Webhooks(ctx, id); return err },
			"create hook": func(id *auth.Identity) error {
				_, err := e.svc.CreateWebhook(ctx, id, auth.NewWebhook{URL: "http://127.0.0.1:9/y"}, e.client())
				return err
			},
			"rotate hook": func(id *auth.Identity) error {
				_, err := e.svc.RotateWebhookSecret(ctx, id, hook.Endpoint.ID, e.client())
				return err
			},
			"delete hook": func(id *auth.Identity) error { return e.svc.DeleteWebhook(ctx, id, hook.Endpoint.ID, e.client()) },
			"list keys":   func(id *auth.Identity) error { _, err := e.svc.APIKeys(ctx, id); return err },
			"create key": func(id *auth.Identity) error {
				_, err := e.svc.CreateAPIKey(ctx, id, auth.NewAPIKey{Name: "x"}, e.client())
				return err
			},
			"delete key": func(id *auth.Identity) error { return e.svc.DeleteAPIKey(ctx, id, key.APIKey.ID, e.client()) },
		}
		for who, id := range map[string]*auth.Identity{"member": member, "operator_key": opID, "expired_key": expiredID,
			"demoted_admin": demoted, "nobody": nil} {
			for what, call := range methods {
				t.Run("forbidden/"+who+"/"+what, func(t *testing.T) {
					wantCode(t, what, call(id), gatehouse.EForbidden)
				})
			}
		}
		// Nothing was changed by the refusals; the company's key may do
		// every one of them.
		for _, what := range []string{"list apps", "update app", "list hooks", "rotate hook", "list keys", "delete key",
			"delete hook", "delete app", "create app", "create hook", "create key"} {
			t.Run("ok/company_key/"+what, func(t *testing.T) {
				wantCode(t, what, methods[what](keyID), "")
			})
		}

		// The last active admin stays, whoever asks to demote or disable them.
		if _, err := e.svc.UpdateUser(ctx, keyID, admin.User.ID, auth.UserUpdate{Role: &role}, e.client()); gatehouse.ErrorCode(err) != gatehouse.ELastAdmin {
			t.Errorf("a key demoting the last admin: got %v, want last_admin", err)
		}
		disabled := true
		if _, err := e.svc.UpdateUser(ctx, keyID, admin.User.ID, auth.UserUpdate{Disabled: &disabled}, e.client()); gatehouse.ErrorCode(err) != gatehouse.ELastAdmin {
			t.Errorf("a key disabling the last admin: got %v, want last_admin", err)
		}
		if u := e.userByID(t, admin.User.ID); u.Role != gatehouse.RoleAdmin || u.Status() == gatehouse.StatusDisabled {
			t.Errorf("the last admin after the refusals: role %s, status %s", u.Role, u.Status())
		}
	})
}
