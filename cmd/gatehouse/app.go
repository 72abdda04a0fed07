package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/server"
)

// The operator's applications (../shared/API.md, "Applications"): for one
// company, or without --company the operator's own, for every company's
// users.

func cmdApp(ctx context.Context, env environment, args []string) error {
	return dispatch(ctx, env, "app", args,
		subcommand{"create", cmdAppCreate}, subcommand{"list", cmdAppList}, subcommand{"delete", cmdAppDelete})
}

func cmdAppCreate(ctx context.Context, env environment, args []string) error {
	var na auth.NewApplication
	var company, role string
	var redirects, postLogout, hosts listFlag
	return dataCommand{name: "app create",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&na.Name, "name", "", "the application's name, shown to users")
			fs.StringVar(&company, "company", "", "the company whose users may use it; without it, every company's (the operator's app)")
			fs.Var(&redirects, "redirect-uri", "an OpenID Connect redirect URI, matched exactly (repeat for several)")
			fs.Var(&postLogout, "post-logout-redirect-uri", "a URI to return to after logout, matched exactly (repeat for several)")
			fs.BoolVar(&na.Public, "public", false, "a public client (single-page or native app): no secret, PKCE alone")
			fs.BoolVar(&na.FirstParty, "first-party", false, "skip the consent page (operator apps only)")
			fs.Var(&hosts, "forward-auth-host", "a host a reverse proxy protects with forward auth (repeat for several)")
			fs.StringVar(&role, "require-role", "", `admit only users with this role ("admin")`)
			fs.BoolVar(&na.RequireMFA, "require-mfa", false, "admit only users with a second factor; one without sets it up at login")
		},
		check: func(*flag.FlagSet) error { return need("app create", "name", na.Name) },
		run: func(a *server.App) error {
			na.RedirectURIs, na.PostLogoutRedirectURIs, na.ForwardAuthHosts = redirects, postLogout, hosts
			na.RequireRole = gatehouse.Role(role)
			created, err := a.Service.OperatorCreateApplication(ctx, company, na, cliClient)
			if err != nil {
				return err
			}
			out := map[string]string{"client_id": created.Application.ClientID}
			if !created.Application.Public {
				out["client_secret"] = created.ClientSecret
			}
			return printJSON(env.stdout, out)
		}}.exec(ctx, env, args)
}

// appJSON is an application as the command line and the API show it:
// never its secret.
func appJSON(a *gatehouse.Application) any {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return map[string]any{"client_id": a.ClientID, "company_id": a.CompanyID, "name": a.Name,
		"redirect_uris": list(a.RedirectURIs), "post_logout_redirect_uris": list(a.PostLogoutRedirectURIs),
		"public": a.Public, "first_party": a.FirstParty, "forward_auth_hosts": list(a.ForwardAuthHosts),
		"require_role": string(a.RequireRole), "require_mfa": a.RequireMFA}
}

func cmdAppList(ctx context.Context, env environment, args []string) error {
	return dataCommand{name: "app list",
		run: func(a *server.App) error {
			list, err := a.Service.OperatorApplications(ctx)
			if err != nil {
				return err
			}
			// One JSON object a line, without secrets.
			return printJSONLines(env.stdout, list, appJSON)
		}}.exec(ctx, env, args)
}

func cmdAppDelete(ctx context.Context, env environment, args []string) error {
	var clientID string
	return dataCommand{name: "app delete",
		flags: func(fs *flag.FlagSet, _ *options) {
			fs.StringVar(&clientID, "client-id", "", "the application's client ID")
		},
		check: func(*flag.FlagSet) error { return need("app delete", "client-id", clientID) },
		run: func(a *server.App) error {
			if err := a.Service.OperatorDeleteApplication(ctx, clientID, cliClient); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.stdout, "Deleted application %s.\n", clientID)
			return err
		}}.exec(ctx, env, args)
}
